"""The add-on's side of the engine boundary (plain Python, no bpy): finding the engine's Python, writing
job files, and running the ``portrait-animator`` CLI in its own process while reading its JSON progress.
The engine is never imported here: Blender's Python has no torch."""

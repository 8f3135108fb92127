"""Portrait Animator for Blender: animate a still portrait from a driving video or a keyframed face rig.

The engine runs in its own process (``portrait-animator`` with a Python that has torch); this add-on
writes its job files, starts it, follows its JSON progress and loads the frames back. Nothing happens at
import time: the Blender-facing modules are imported by ``register`` so the plain-Python parts
(``engine``, ``landmarks``, ``frame_paths``, ``projection``) stay importable and testable without bpy.
"""


def register():
    from . import registration

    registration.register()


def unregister():
    from . import registration

    registration.unregister()

"""The add-on's one user-facing error type (plain Python, no bpy).

Operators catch it and show ``str(error)`` as a Blender report: one line naming the file or setting and
what to do, the same standard the engine's CLI keeps for its own errors.
"""


class AddonError(Exception):
    """A problem the artist can fix (a missing file, an unset preference, an engine error)."""

"""Portrait Animator: animate a still portrait from a driving video or a Blender face rig."""

from .version import __version__

__all__ = ["__version__"]

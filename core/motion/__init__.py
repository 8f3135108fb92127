"""Motion transfer: from a driver's landmark track to target landmarks on the still (``transfer`` has the steps).

One module per part of the face's motion: ``openness`` (how open eyes and mouth are), ``neutral`` (the
frame the motion is measured from), ``local_maps`` (the driver's motion in the still's face), ``eyes``
(blinks, lids and their skin, shut eyes parted), ``lips`` (lip thickness, lips that never cross),
``lip_push`` (skin kept outside the lips), ``mouth_rest`` (a still's open mouth closed first), ``dense``
(a 68-point driver carried to the dense mesh) and ``contours`` (the eye and lip halves they share).
"""

from .contours import LoopHalves
from .eyes import eye_closing_targets, shut_eyes, with_eyes_opened, with_lids_parted
from .openness import eye_openness, mouth_openness
from .transfer import MotionTransfer, TargetShapes

__all__ = [
    "LoopHalves", "MotionTransfer", "TargetShapes", "eye_closing_targets", "eye_openness", "mouth_openness",
    "shut_eyes", "with_eyes_opened", "with_lids_parted",
]

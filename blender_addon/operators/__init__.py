"""The add-on's operators: thin wrappers over ``workflows``."""

from .engine import PORTRAIT_ANIMATOR_OT_check_engine, PORTRAIT_ANIMATOR_OT_find_engine
from .face_rig import PORTRAIT_ANIMATOR_OT_create_face_rig, PORTRAIT_ANIMATOR_OT_import_driver_as_rig
from .render import PORTRAIT_ANIMATOR_OT_cancel, PORTRAIT_ANIMATOR_OT_render

CLASSES = (
    PORTRAIT_ANIMATOR_OT_find_engine,
    PORTRAIT_ANIMATOR_OT_check_engine,
    PORTRAIT_ANIMATOR_OT_create_face_rig,
    PORTRAIT_ANIMATOR_OT_import_driver_as_rig,
    PORTRAIT_ANIMATOR_OT_render,
    PORTRAIT_ANIMATOR_OT_cancel,
)

"""Face rig operators: create one from the still, import a driver's performance onto it."""

import bpy

from ..workflows import face_rig
from .engine_task import EngineTaskOperator


class PORTRAIT_ANIMATOR_OT_create_face_rig(EngineTaskOperator, bpy.types.Operator):
    """Put the still on a plane in front of a camera, with a landmark mesh fitted to its face whose shape
    keys (jaw, lips, smile, blinks, brows) and head control you keyframe"""

    bl_idname = "portrait_animator.create_face_rig"
    bl_label = "Create Face Rig"
    bl_options = {'REGISTER', 'UNDO'}

    def start(self, context):
        return face_rig.start_create_rig(context)


class PORTRAIT_ANIMATOR_OT_import_driver_as_rig(EngineTaskOperator, bpy.types.Operator):
    """Track the driver's face and key its performance on the face rig, to edit in the Graph Editor"""

    bl_idname = "portrait_animator.import_driver_as_rig"
    bl_label = "Import Driver as Rig"
    bl_options = {'REGISTER', 'UNDO'}

    def start(self, context):
        return face_rig.start_import_driver(context)

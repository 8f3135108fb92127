"""Preferences operators: find the engine's Python, check the engine."""

import bpy

from ..errors import AddonError
from ..workflows import engine_check
from .engine_task import EngineTaskOperator


class PORTRAIT_ANIMATOR_OT_find_engine(bpy.types.Operator):
    """Find a Python with the Portrait Animator engine ($PORTRAIT_ANIMATOR_PYTHON, portrait-animator on
    PATH, a checkout's .venv) and use it"""

    bl_idname = "portrait_animator.find_engine"
    bl_label = "Find Engine"

    def execute(self, context):
        try:
            self.report({'INFO'}, engine_check.find_engine(context))
        except AddonError as error:
            self.report({'ERROR'}, str(error))
            return {'CANCELLED'}
        return {'FINISHED'}


class PORTRAIT_ANIMATOR_OT_check_engine(EngineTaskOperator, bpy.types.Operator):
    """Run "portrait-animator doctor" with the engine's Python: device, landmark backends, weight files"""

    bl_idname = "portrait_animator.check_engine"
    bl_label = "Check Engine"

    def start(self, context):
        return engine_check.start_engine_check(context)

"""Render operators: render the portrait, cancel what the engine is doing."""

import bpy

from .. import tasks
from ..workflows import render
from .engine_task import EngineTaskOperator


class PORTRAIT_ANIMATOR_OT_render(EngineTaskOperator, bpy.types.Operator):
    """Write the job file, render the animated portrait with the engine, and load the frames"""

    bl_idname = "portrait_animator.render"
    bl_label = "Render Portrait"
    bl_options = {'REGISTER', 'UNDO'}

    def start(self, context):
        return render.start_render(context)


class PORTRAIT_ANIMATOR_OT_cancel(bpy.types.Operator):
    """Stop the engine after its current frame; finished frames stay and a new render resumes"""

    bl_idname = "portrait_animator.cancel"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, _context):
        return tasks.current() is not None

    def execute(self, context):
        tasks.current().process.cancel()
        context.window_manager.portrait_animator_status.message = "Cancelling after the current frame…"
        return {'FINISHED'}

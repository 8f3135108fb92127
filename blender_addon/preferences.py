"""Add-on preferences: the engine's Python, the default output folder, file format and device."""

import bpy
from bpy.props import EnumProperty, StringProperty

from .properties import PATH_OPTIONS

ADDON_ID = __package__


class PortraitAnimatorPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_ID

    python_path: StringProperty(
        name="Engine Python", subtype='FILE_PATH',
        description="The Python interpreter (or virtual environment folder) that has the Portrait Animator "
                    "engine installed. Empty: found automatically ($PORTRAIT_ANIMATOR_PYTHON, a "
                    "portrait-animator command on PATH, or a checkout's .venv)")
    output_folder: StringProperty(
        name="Default Output Folder", subtype='DIR_PATH', default="//portrait_animator/",
        options=PATH_OPTIONS,
        description="Where frames go when a scene sets no output (// is the .blend's folder)")
    file_format: EnumProperty(name="File Format", items=(
        ('OPEN_EXR', "OpenEXR", "Half-float linear EXR with the face matte as a channel"),
        ('PNG', "PNG", "16-bit sRGB PNG, the matte as a sibling sequence"),
    ), default='OPEN_EXR')
    device: EnumProperty(name="Device", items=(
        ('auto', "Automatic", "A CUDA GPU when the engine finds one, else the CPU"),
        ('cpu', "CPU", "Always the CPU"),
        ('cuda', "CUDA GPU", "An NVIDIA GPU"),
    ), default='auto')
    engine_report: StringProperty(name="Engine Report", description="What the last engine check found")

    def draw(self, context):
        layout = self.layout
        row = layout.row(align=True)
        row.prop(self, "python_path")
        row.operator("portrait_animator.find_engine", text="", icon='VIEWZOOM')
        layout.operator("portrait_animator.check_engine", icon='CHECKMARK')
        if self.engine_report:
            box = layout.box()
            for line in self.engine_report.splitlines():
                box.label(text=line)
        layout.prop(self, "output_folder")
        layout.prop(self, "file_format")
        layout.prop(self, "device")


def get(context) -> PortraitAnimatorPreferences:
    return context.preferences.addons[ADDON_ID].preferences

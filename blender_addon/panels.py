"""Panels: the 3D View sidebar (Portrait tab), the Image Editor and Sequencer sidebars, and a progress
bar in the status bar while the engine runs. They only draw."""

import bpy

SIDEBAR_TAB = "Portrait"
_DRIVER_FIELDS = {'VIDEO': "driver_path", 'SEQUENCE': "driver_path", 'LANDMARKS': "driver_path",
                  'RIG': "rig", 'PRESET': "driver_preset"}


def _progress_text(status) -> str:
    counts = f" {status.done}/{status.total}" if status.total else ""
    eta = f" · {status.eta} left" if status.eta else ""
    return f"{status.label}{counts}{eta}"


def draw_render_controls(layout, context) -> None:
    status = context.window_manager.portrait_animator_status
    if status.running:
        layout.progress(factor=status.progress, type='BAR', text=_progress_text(status))
        if status.message:
            layout.label(text=status.message)
        layout.operator("portrait_animator.cancel", icon='CANCEL')
    else:
        layout.operator("portrait_animator.render", icon='RENDER_ANIMATION')


class PORTRAIT_ANIMATOR_PT_main(bpy.types.Panel):
    bl_label = "Portrait Animator"
    bl_space_type = 'VIEW_3D'
    bl_region_type = 'UI'
    bl_category = SIDEBAR_TAB

    def draw(self, context):
        settings = context.scene.portrait_animator
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False

        if settings.driver_kind != 'RIG':
            col = layout.column(heading="Still")
            col.row().prop(settings, "still_source", expand=True)
            col.prop(settings, "still_image" if settings.still_source == 'IMAGE' else "still_path", text="Still")

        col = layout.column()
        col.prop(settings, "driver_kind")
        col.prop(settings, _DRIVER_FIELDS[settings.driver_kind], text="Rig" if settings.driver_kind == 'RIG' else "")

        box = layout.box()
        box.label(text="Face Rig", icon='SHAPEKEY_DATA')
        if settings.driver_kind != 'RIG':
            box.prop(settings, "rig")
        row = box.row(align=True)
        row.operator("portrait_animator.create_face_rig", icon='OUTLINER_OB_CAMERA')
        sub = row.row(align=True)
        sub.enabled = settings.driver_kind in {'VIDEO', 'SEQUENCE', 'LANDMARKS'} and settings.rig is not None
        sub.operator("portrait_animator.import_driver_as_rig", icon='IMPORT')
        if settings.driver_kind in {'VIDEO', 'SEQUENCE', 'LANDMARKS'}:
            box.prop(settings, "neutral_frame")

        col = layout.column(heading="Output")
        col.prop(settings, "output_path", text="Output")
        col.prop(settings, "shot_name")
        col.prop(settings, "file_format")
        col.prop(settings, "use_scene_range")
        col.prop(settings, "overwrite")
        col.prop(settings, "load_into")
        draw_render_controls(layout, context)


class _SidebarSubPanel:
    """A section under the main panel in the 3D view's sidebar tab."""

    bl_space_type = 'VIEW_3D'
    bl_region_type = 'UI'
    bl_category = SIDEBAR_TAB
    bl_parent_id = "PORTRAIT_ANIMATOR_PT_main"


class PORTRAIT_ANIMATOR_PT_expressions(_SidebarSubPanel, bpy.types.Panel):
    bl_label = "Expressions"

    @classmethod
    def poll(cls, context):
        rig = context.scene.portrait_animator.rig
        return rig is not None and rig.data.shape_keys is not None

    def draw(self, context):
        rig = context.scene.portrait_animator.rig
        layout = self.layout
        for key in rig.data.shape_keys.key_blocks[1:]:
            layout.prop(key, "value", text=key.name, slider=True)
        head = rig.portrait_rig.head
        if head is not None:
            layout.label(text="Head (turn: Z, tilt: Y, nod: X)")
            layout.prop(head, "rotation_euler", text="")


class PORTRAIT_ANIMATOR_PT_motion(_SidebarSubPanel, bpy.types.Panel):
    bl_label = "Motion"
    bl_options = {'DEFAULT_CLOSED'}

    def draw(self, context):
        settings = context.scene.portrait_animator
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        layout.prop(settings, "motion_mode")
        col = layout.column(align=True, heading="Gains")
        for name in ("head_gain", "eyes_gain", "brows_gain", "mouth_gain"):
            col.prop(settings, name)
        layout.prop(settings, "smoothing")
        layout.prop(settings, "close_open_mouth")
        layout.prop(settings, "max_turn")


class PORTRAIT_ANIMATOR_PT_engine(_SidebarSubPanel, bpy.types.Panel):
    bl_label = "Engine"
    bl_options = {'DEFAULT_CLOSED'}

    def draw(self, context):
        settings = context.scene.portrait_animator
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        layout.prop(settings, "renderer")
        if settings.renderer != 'warp':
            layout.prop(settings, "checkpoint")
        layout.prop(settings, "crop_size")
        layout.prop(settings, "face_index")
        layout.prop(settings, "glasses")
        if settings.last_output:
            layout.label(text=f"Last render: {settings.last_output}", icon='FILE_IMAGE')


class _EditorRenderPanel:
    bl_label = "Portrait Animator"
    bl_region_type = 'UI'
    bl_category = SIDEBAR_TAB

    def draw(self, context):
        layout = self.layout
        layout.prop(context.scene.portrait_animator, "load_into")
        draw_render_controls(layout, context)


class PORTRAIT_ANIMATOR_PT_image_editor(_EditorRenderPanel, bpy.types.Panel):
    bl_space_type = 'IMAGE_EDITOR'


class PORTRAIT_ANIMATOR_PT_sequencer(_EditorRenderPanel, bpy.types.Panel):
    bl_space_type = 'SEQUENCE_EDITOR'


def draw_status_bar(self, context):
    status = context.window_manager.portrait_animator_status
    if status.running:
        row = self.layout.row(align=True)
        row.progress(factor=status.progress, type='BAR', text=_progress_text(status))
        row.operator("portrait_animator.cancel", text="", icon='CANCEL')


CLASSES = (PORTRAIT_ANIMATOR_PT_main, PORTRAIT_ANIMATOR_PT_expressions, PORTRAIT_ANIMATOR_PT_motion,
           PORTRAIT_ANIMATOR_PT_engine, PORTRAIT_ANIMATOR_PT_image_editor, PORTRAIT_ANIMATOR_PT_sequencer)


def attach():
    bpy.types.STATUSBAR_HT_header.append(draw_status_bar)


def detach():
    bpy.types.STATUSBAR_HT_header.remove(draw_status_bar)

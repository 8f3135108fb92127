"""The extension installs from its zip, registers and unregisters symmetrically, and its preferences
find and check the engine."""

from __future__ import annotations

import pytest
from .installed_addon import ADDON_MODULE, ENGINE_PYTHON, RIG_STILL, addon_part, media_path

pytestmark = pytest.mark.blender


def addon_types(bpy):
    return sorted(name for name in dir(bpy.types) if name.startswith("PORTRAIT_ANIMATOR_"))


def test_installed_extension_registers_and_unregisters_symmetrically(addon):
    import addon_utils
    import bpy

    assert addon.__file__.startswith(bpy.utils.user_resource('EXTENSIONS'))
    registered = addon_types(bpy)
    assert {"PORTRAIT_ANIMATOR_OT_render", "PORTRAIT_ANIMATOR_OT_create_face_rig",
            "PORTRAIT_ANIMATOR_OT_import_driver_as_rig", "PORTRAIT_ANIMATOR_OT_check_engine",
            "PORTRAIT_ANIMATOR_PT_main", "PORTRAIT_ANIMATOR_PT_image_editor"} <= set(registered)
    status_bar_draws = len(bpy.types.STATUSBAR_HT_header._dyn_ui_initialize())

    addon_utils.disable(ADDON_MODULE, default_set=True)
    try:
        assert addon_types(bpy) == []
        assert not hasattr(bpy.types.Scene, "portrait_animator")
        assert not hasattr(bpy.types.Object, "portrait_rig")
        assert not hasattr(bpy.types.WindowManager, "portrait_animator_status")
        assert len(bpy.types.STATUSBAR_HT_header._dyn_ui_initialize()) == status_bar_draws - 1
    finally:
        addon_utils.enable(ADDON_MODULE, default_set=True)
    assert addon_types(bpy) == registered
    assert len(bpy.types.STATUSBAR_HT_header._dyn_ui_initialize()) == status_bar_draws


def test_preferences_find_the_engine_automatically(context, monkeypatch):
    import bpy

    prefs = context.preferences.addons[ADDON_MODULE].preferences
    prefs.python_path = ""
    monkeypatch.setenv("PORTRAIT_ANIMATOR_PYTHON", ENGINE_PYTHON)
    assert bpy.ops.portrait_animator.find_engine() == {'FINISHED'}
    assert prefs.python_path == ENGINE_PYTHON


def test_missing_engine_is_a_clear_report_and_changes_nothing(context, tmp_path):
    import bpy

    prefs = context.preferences.addons[ADDON_MODULE].preferences
    prefs.python_path = str(tmp_path / "no-such-venv" / "bin" / "python")
    settings = context.scene.portrait_animator
    settings.still_path = str(tmp_path / "still.png")
    before = (len(bpy.data.objects), len(bpy.data.images), context.scene.frame_start, context.scene.frame_end)
    for operator in (bpy.ops.portrait_animator.check_engine, bpy.ops.portrait_animator.create_face_rig,
                     bpy.ops.portrait_animator.render):
        with pytest.raises(RuntimeError, match=r"engine Python not found: .*no-such-venv.*Preferences"):
            operator()
    assert (len(bpy.data.objects), len(bpy.data.images), context.scene.frame_start, context.scene.frame_end) == before
    assert addon_part("tasks").current() is None
    assert prefs.engine_report.startswith("Engine check failed: engine Python not found")


class CheckingLayout:
    """A stand-in for ``UILayout`` (a headless Blender has no window to draw in) that checks what panels
    ask for: every property drawn exists on its data, every operator button names a registered operator."""

    def __init__(self, drawn):
        self.drawn = drawn
        self.use_property_split = self.use_property_decorate = self.enabled = True

    def _child(self, *_args, **_kwargs):
        return CheckingLayout(self.drawn)

    column = row = box = _child

    def prop(self, data, name, **_kwargs):
        assert name in data.bl_rna.properties.keys(), f"{data} has no property {name!r}"
        self.drawn.append(("prop", name))

    def operator(self, idname, **_kwargs):
        import bpy

        category, name = idname.split(".")
        getattr(getattr(bpy.ops, category), name).get_rna_type()  # raises for an unknown operator
        self.drawn.append(("operator", idname))

    def label(self, **kwargs):
        self.drawn.append(("label", kwargs.get("text", "")))

    def progress(self, **kwargs):
        assert 0.0 <= kwargs["factor"] <= 1.0
        self.drawn.append(("progress", kwargs.get("text", "")))


def draw(panel_class, context):
    from types import SimpleNamespace

    drawn = []
    panel_class.draw(SimpleNamespace(layout=CheckingLayout(drawn)), context)
    return drawn


def test_panels_draw_every_state_with_real_properties_and_operators(context, dlib_landmarks):
    import bpy

    panels = addon_part("panels")
    settings = context.scene.portrait_animator
    for kind in ('VIDEO', 'SEQUENCE', 'LANDMARKS', 'RIG', 'PRESET'):
        settings.driver_kind = kind
        for source in ('FILE', 'IMAGE'):
            settings.still_source = source
            drawn = draw(panels.PORTRAIT_ANIMATOR_PT_main, context)
            assert ("operator", "portrait_animator.render") in drawn
    settings.renderer = 'neural-hybrid'
    engine = draw(panels.PORTRAIT_ANIMATOR_PT_engine, context)
    assert ("prop", "checkpoint") in engine and ("prop", "glasses") in engine
    motion_panel = draw(panels.PORTRAIT_ANIMATOR_PT_motion, context)
    assert ("prop", "mouth_gain") in motion_panel and ("prop", "max_turn") in motion_panel

    assert not panels.PORTRAIT_ANIMATOR_PT_expressions.poll(context)
    still = str(media_path(*RIG_STILL))
    rig = addon_part("scene.rig_build").build_face_rig(context, bpy.data.images.load(still), dlib_landmarks(still), "R")
    settings.rig = rig.landmarks
    assert panels.PORTRAIT_ANIMATOR_PT_expressions.poll(context)
    assert draw(panels.PORTRAIT_ANIMATOR_PT_expressions, context).count(("prop", "value")) == 9

    status = context.window_manager.portrait_animator_status
    status.running, status.label, status.done, status.total, status.progress, status.eta = \
        True, "Rendering", 3, 12, 0.25, "0:09"
    drawn = draw(panels.PORTRAIT_ANIMATOR_PT_main, context)
    assert ("progress", "Rendering 3/12 · 0:09 left") in drawn and ("operator", "portrait_animator.cancel") in drawn
    assert ("operator", "portrait_animator.render") not in drawn
    status_bar = []
    panels.draw_status_bar(type("Header", (), {"layout": CheckingLayout(status_bar)})(), context)
    assert ("progress", "Rendering 3/12 · 0:09 left") in status_bar
    for panel in (panels.PORTRAIT_ANIMATOR_PT_image_editor, panels.PORTRAIT_ANIMATOR_PT_sequencer):
        assert ("prop", "load_into") in draw(panel, context)
    prefs = context.preferences.addons[ADDON_MODULE].preferences
    prefs.engine_report = "Python: /x/python (preferences)\nDevices: cpu=ok"
    drawn = []
    type(prefs).draw(SimpleNamespaceWithLayout(drawn, prefs), context)
    assert ("label", "Devices: cpu=ok") in drawn and ("operator", "portrait_animator.check_engine") in drawn


class SimpleNamespaceWithLayout:
    """``self`` for the preferences' draw: the real preferences' properties plus a checking layout."""

    def __init__(self, drawn, prefs):
        self.layout = CheckingLayout(drawn)
        self._prefs = prefs

    def __getattr__(self, name):
        return getattr(self._prefs, name)

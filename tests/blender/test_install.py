"""The extension installs from its zip, registers and unregisters symmetrically, and its preferences
find and check the engine."""

from __future__ import annotations

import sys

import pytest
from installed_addon import ADDON_MODULE, addon_part

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
    monkeypatch.setenv("PORTRAIT_ANIMATOR_PYTHON", sys.executable)
    assert bpy.ops.portrait_animator.find_engine() == {'FINISHED'}
    assert prefs.python_path == sys.executable


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

"""Names shared by the in-Blender tests: the installed add-on's module, and the shared-media helper of
``tests/conftest.py`` (both conftests are modules named ``conftest``, so it is loaded here by path)."""

import importlib
import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ADDON_MODULE = "bl_ext.user_default.portrait_animator"
RIG_STILL = ("stills", "lp_s12_photo_einstein_colorized.jpg")  # 375 x 500: a portrait-format still

_spec = importlib.util.spec_from_file_location("portrait_animator_tests_media", REPO / "tests" / "conftest.py")
_shared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_shared)
media_path = _shared.media_path


def addon_part(name: str):
    """A submodule of the installed add-on, e.g. ``addon_part("workflows.render")``."""
    return importlib.import_module(f"{ADDON_MODULE}.{name}")

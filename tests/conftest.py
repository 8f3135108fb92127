"""Shared test fixtures: the real third-party media in ../shared/media, used by path and never copied."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("PORTRAIT_ANIMATOR_MEDIA", REPO.parent / "shared" / "media"))
BUNDLED_STILL = REPO / "core" / "assets" / "stills" / "eileen_collins_nasa.png"


def media_path(*parts: str) -> Path:
    """A file of the shared media folder; skips the test with a clear reason where it is absent."""
    path = MEDIA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test media not available: {path} (set PORTRAIT_ANIMATOR_MEDIA)")
    return path


@pytest.fixture
def media():
    return media_path


@pytest.fixture
def bundled_still() -> Path:
    return BUNDLED_STILL

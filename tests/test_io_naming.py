"""Frame-file naming: the patterns Blender and compositors write, and their sibling sequences."""

from __future__ import annotations

import pytest

from portrait_animator.io.naming import FramePattern


@pytest.mark.parametrize("pattern, frame, expected", [
    ("out/shot.####.exr", 7, "out/shot.0007.exr"),
    ("out/shot.%04d.png", 123, "out/shot.0123.png"),
    ("out/shot_##.tif", 5, "out/shot_05.tif"),
    ("out/shot.exr", 12, "out/shot.0012.exr"),  # no token: Blender's .#### before the extension
    ("out/shot.####.exr", 12345, "out/shot.12345.exr"),
])
def test_path(pattern, frame, expected):
    assert FramePattern.parse(pattern).path(frame) == expected


@pytest.mark.parametrize("pattern, extension", [
    ("out/shot.####.exr", ".exr"), ("out/shot.####.PNG", ".png"), ("shot.%04d.tiff", ".tiff"),
    ("out/shot.####", ""),
])
def test_extension_of_the_suffix(pattern, extension):
    assert FramePattern.parse(pattern).extension == extension


def test_matte_sibling_and_folder():
    pattern = FramePattern.parse("renders/sh010/shot.####.png")
    matte = pattern.with_tag("matte")
    assert matte.path(3) == "renders/sh010/shot_matte.0003.png"
    assert matte.folder == pattern.folder == "renders/sh010"
    assert pattern.blender_path == "renders/sh010/shot.####.png"
    assert FramePattern.parse("shot.####.exr").folder == "."

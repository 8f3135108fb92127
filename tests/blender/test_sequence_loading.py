"""Rendered frames come back into Blender as an image sequence: Image Editor, Sequencer strip on a free
channel, compositor Image node, or the rig's plane, each playing file N at scene frame N."""

from __future__ import annotations

import numpy as np
import pytest
from .installed_addon import addon_part

pytestmark = pytest.mark.blender
FIRST, LAST = 3, 9


@pytest.fixture
def frames(context, tmp_path):
    """A real PNG sequence shot.0003..0009.png."""
    import bpy

    pattern = str(tmp_path / "render" / "shot.####.png")
    (tmp_path / "render").mkdir()
    frame_path = addon_part("frame_paths").frame_path
    for frame in range(FIRST, LAST + 1):
        image = bpy.data.images.new(f"f{frame}", 8, 6)
        image.generated_color = (frame / 10, 0.5, 0.25, 1.0)
        image.save(filepath=frame_path(pattern, frame), save_copy=True)
        bpy.data.images.remove(image)
    return pattern


def load(context, frames, target, plane=None):
    return addon_part("scene.sequence_loading").load_sequence(context, frames, FIRST, LAST, target, "Shot", plane=plane)


def test_image_editor_shows_the_sequence_at_matching_frames(context, frames):
    screen_area = context.window.screen.areas[0]
    screen_area.type = 'IMAGE_EDITOR'
    where = load(context, frames, 'IMAGE_EDITOR')
    space = screen_area.spaces.active
    image = space.image
    assert "Shot Render" in where and image.source == 'SEQUENCE' and image.filepath.endswith("shot.0003.png")
    user = space.image_user
    assert (user.frame_start, user.frame_offset, user.frame_duration) == (FIRST, FIRST - 1, LAST - FIRST + 1)
    context.scene.frame_set(7)
    assert user.frame_current == 7  # scene frame 7 shows file 7
    assert (context.scene.frame_start, context.scene.frame_end) == (FIRST, LAST)


def test_sequencer_strip_goes_on_a_free_channel(context, frames):
    import bpy

    scene = context.scene
    editor = scene.sequence_editor_create()
    strips = editor.strips if hasattr(editor, "strips") else editor.sequences
    span = "length" if bpy.app.version >= (5, 0, 0) else "frame_end"  # new_effect's last argument changed
    strips.new_effect(name="Busy", type='COLOR', channel=1, frame_start=1, **{span: 20 if span == "length" else 21})
    strips.new_effect(name="Later", type='COLOR', channel=2, frame_start=50, **{span: 5 if span == "length" else 55})
    where = load(context, frames, 'SEQUENCER')
    strip = strips["Shot Render"]
    assert where == "Sequencer channel 2" and strip.channel == 2  # 1 is busy; 2 is free over 3-9
    assert len(strip.elements) == LAST - FIRST + 1 and strip.frame_final_duration == LAST - FIRST + 1
    assert strip.frame_final_start == FIRST
    assert [e.filename for e in strip.elements][-1] == "shot.0009.png"


def test_compositor_gets_an_image_node(context, frames):
    where = load(context, frames, 'COMPOSITOR')
    scene = context.scene
    tree = scene.compositing_node_group if hasattr(scene, "compositing_node_group") else scene.node_tree
    node = tree.nodes.active
    assert node.bl_idname == 'CompositorNodeImage' and node.name in where
    assert (node.frame_start, node.frame_offset, node.frame_duration) == (FIRST, FIRST - 1, LAST - FIRST + 1)
    assert node.image.source == 'SEQUENCE'


def test_rig_plane_shows_the_frames_and_a_missing_rig_is_a_clear_error(context, frames, tmp_path):
    import bpy

    errors = addon_part("errors")
    with pytest.raises(errors.AddonError, match="no face rig"):
        load(context, frames, 'RIG_PLANE')
    still = bpy.data.images.new("Still", 40, 50)
    points = _frontal_face(40, 50)
    rig = addon_part("scene.rig_build").build_face_rig(context, still, points, "Test")
    load(context, frames, 'RIG_PLANE', plane=rig.plane)
    node = rig.plane.active_material.node_tree.nodes["Portrait"]
    assert node.image.source == 'SEQUENCE' and node.image_user.frame_duration == LAST - FIRST + 1
    assert node.image_user.frame_offset == FIRST - 1


def _frontal_face(width, height):
    """A plausible frontal 68-point face in a width x height image (for a rig that only needs a plane)."""
    angles = np.linspace(np.pi, 2 * np.pi, 17)
    jaw = np.stack([np.cos(angles), -np.sin(angles)], axis=1) * [0.4, 0.45] + [0.5, 0.45]
    brows = np.stack([np.linspace(0.2, 0.45, 10), np.full(10, 0.3)], axis=1)
    brows[5:] += [0.1, 0]
    nose = np.stack([np.full(9, 0.5), np.linspace(0.35, 0.6, 9)], axis=1)
    eyes = np.concatenate([_ring(0.35, 0.4, 0.06, 0.02, 6), _ring(0.65, 0.4, 0.06, 0.02, 6)])
    lips = np.concatenate([_ring(0.5, 0.75, 0.15, 0.05, 12), _ring(0.5, 0.75, 0.1, 0.02, 8)])
    return np.concatenate([jaw, brows, nose, eyes, lips]) * [width, height]


def _ring(cx, cy, rx, ry, count):
    angles = np.linspace(np.pi, -np.pi, count, endpoint=False)
    return np.stack([cx + rx * np.cos(angles), cy - ry * np.sin(angles)], axis=1)

"""Loading rendered frames back into Blender as an image sequence: in the Image Editor, as a Sequencer
strip on a free channel, as a compositor Image node, or on the face rig's still plane.

Output frame N shows at scene frame N (an image user's ``frame_start`` = first frame, ``frame_offset`` =
first - 1), and the scene's frame range is set to the rendered frames.
"""

from __future__ import annotations

import os

import bpy

from ..errors import AddonError
from ..frame_paths import frame_path

def load_sequence(context, pattern: str, first: int, last: int, target: str, name: str,
                  plane: bpy.types.Object | None = None) -> str:
    """Load frames ``first..last`` of ``pattern`` into ``target``; returns where they went, for a report."""
    scene = context.scene
    if target == 'NONE':
        return "not loaded"
    if target == 'RIG_PLANE' and plane is None:
        raise AddonError("Load Into is Rig Plane, but there is no face rig: pick a rig or another target")
    first_file = frame_path(pattern, first)
    if target == 'SEQUENCER':
        where = f"Sequencer channel {_add_strip(scene, pattern, first, last, name).channel}"
    else:
        image = _sequence_image(first_file, name, pattern)
        if target == 'IMAGE_EDITOR':
            shown = _show_in_image_editors(context, image, first, last)
            where = f"image '{image.name}'" + ("" if shown else " (open it in an Image Editor)")
        elif target == 'COMPOSITOR':
            node = _add_image_node(scene, image, first, last)
            where = f"compositor node '{node.name}'"
        else:
            _show_on_plane(plane, image, first, last)
            where = f"rig plane '{plane.name}'"
    scene.frame_start, scene.frame_end = first, last
    return where


def set_image_user(user, first: int, last: int) -> None:
    """Make an image user play file N at scene frame N for the frames ``first..last``."""
    user.frame_start = first
    user.frame_offset = first - 1
    user.frame_duration = last - first + 1
    user.use_auto_refresh = True


# ------------------------------------------------------------------------------------------ targets
def _sequence_image(first_file: str, name: str, pattern: str) -> bpy.types.Image:
    try:
        image = bpy.data.images.load(first_file, check_existing=True)
    except RuntimeError as exc:
        raise AddonError(f"{first_file}: Blender cannot read the rendered frame ({exc})") from None
    image.source = 'SEQUENCE'
    image.name = f"{name} Render"
    image.alpha_mode = 'PREMUL' if pattern.lower().endswith(".exr") else 'STRAIGHT'
    image.reload()  # frames may have been rendered again since it was last loaded
    return image


def _show_in_image_editors(context, image, first: int, last: int) -> bool:
    shown = False
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            if area.type == 'IMAGE_EDITOR':
                space = area.spaces.active
                space.image = image
                set_image_user(space.image_user, first, last)
                area.tag_redraw()
                shown = True
    return shown


def _add_strip(scene, pattern: str, first: int, last: int, name: str):
    editor = scene.sequence_editor or scene.sequence_editor_create()
    strips = editor.strips if hasattr(editor, "strips") else editor.sequences  # 5.0 dropped `sequences`
    channel = _free_channel(strips, first, last + 1)
    strip = strips.new_image(name=f"{name} Render", filepath=frame_path(pattern, first), channel=channel,
                             frame_start=first, fit_method='FIT')
    for frame in range(first + 1, last + 1):
        strip.elements.append(os.path.basename(frame_path(pattern, frame)))
    strip.alpha_mode = 'PREMUL' if pattern.lower().endswith(".exr") else 'STRAIGHT'
    return strip


def _free_channel(strips, start: int, end: int) -> int:
    """The lowest channel with nothing in ``[start, end)``."""
    busy = {s.channel for s in strips if s.frame_final_start < end and s.frame_final_end > start}
    channel = 1
    while channel in busy:
        channel += 1
    return channel


def _add_image_node(scene, image, first: int, last: int):
    if hasattr(scene, "compositing_node_group"):  # 5.0: the compositor is a node group of its own
        tree = scene.compositing_node_group
        if tree is None:
            tree = bpy.data.node_groups.new("Compositing", 'CompositorNodeTree')
            scene.compositing_node_group = tree
    else:
        scene.use_nodes = True
        tree = scene.node_tree
    left = min((node.location.x for node in tree.nodes), default=0.0)
    node = tree.nodes.new('CompositorNodeImage')
    node.image = image
    node.location = (left - 350.0, 0.0)
    node.frame_start = first
    node.frame_offset = first - 1
    node.frame_duration = last - first + 1
    node.use_auto_refresh = True
    for other in tree.nodes:
        other.select = other is node
    tree.nodes.active = node
    return node


def _show_on_plane(plane, image, first: int, last: int) -> None:
    material = plane.active_material
    node = material.node_tree.nodes.get("Portrait") if material and material.node_tree else None
    if node is None:
        raise AddonError(f"{plane.name}: the rig plane's material has no 'Portrait' image node")
    node.image = image
    set_image_user(node.image_user, first, last)

"""F-curves written in bulk, on Blender 4.2 to 5.x.

Blender 4.4 moved keyframes into slotted, layered actions (``Action.fcurves`` is gone in 5.0): curves
live in a channelbag of the action's first keyframe strip, for the ID's slot. Older versions keep them on
the action. Keys are written with ``keyframe_points.add(n)`` and ``foreach_set`` (one call per curve, not
one ``keyframe_insert`` per key), so importing thousands of keys takes milliseconds.
"""

from __future__ import annotations

import bpy
import numpy as np


class CurveSet:
    """The F-curves and groups animating one ID, whichever action layout this Blender uses."""

    def __init__(self, fcurves, groups, layered: bool):
        self.fcurves = fcurves
        self.groups = groups
        self._layered = layered

    def ensure(self, data_path: str, index: int, group: str = ""):
        curve = self.fcurves.find(data_path, index=index)
        if curve is None:
            if self._layered:
                curve = self.fcurves.new(data_path, index=index)
            else:
                curve = self.fcurves.new(data_path, index=index, action_group=group)
        if group and self._layered and curve.group is None:
            curve.group = self.groups.get(group) or self.groups.new(group)
        return curve


def curves_of(id_data, create: bool = True) -> CurveSet | None:
    """The curve set animating ``id_data``; with ``create`` an action (and slot) is made when missing."""
    anim = id_data.animation_data
    if anim is None or anim.action is None:
        if not create:
            return None
        anim = anim or id_data.animation_data_create()
        anim.action = bpy.data.actions.new(f"{id_data.name}Action")
    action = anim.action
    if not hasattr(anim, "action_slot"):  # before 4.4
        return CurveSet(action.fcurves, action.groups, layered=False)
    slot = anim.action_slot
    if slot is None:
        if not create:
            return None
        slot = action.slots.new(id_type=id_data.id_type, name=id_data.name)
        anim.action_slot = slot
    channelbag = _channelbag(action, slot, create)
    if channelbag is None:
        return None
    return CurveSet(channelbag.fcurves, channelbag.groups, layered=True)


def write_keys(curves: CurveSet, data_path: str, index: int, frames: np.ndarray, values: np.ndarray,
               group: str = "") -> None:
    """Replace one channel's keys with ``values`` at ``frames`` in a single bulk write."""
    curve = curves.ensure(data_path, index, group)
    points = curve.keyframe_points
    points.clear()
    count = len(frames)
    if count == 0:
        return
    points.add(count)
    co = np.empty(2 * count, dtype=np.float32)
    co[0::2] = frames
    co[1::2] = values
    points.foreach_set("co", co)
    curve.update()


def read_keys(id_data, data_path: str, index: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(frames, values) of one channel's keys, or None when it has no curve."""
    curves = curves_of(id_data, create=False)
    curve = None if curves is None else curves.fcurves.find(data_path, index=index)
    if curve is None:
        return None
    co = np.empty(2 * len(curve.keyframe_points), dtype=np.float32)
    curve.keyframe_points.foreach_get("co", co)
    return co[0::2].copy(), co[1::2].copy()


def _channelbag(action, slot, create: bool):
    for layer in action.layers:
        for strip in layer.strips:
            channelbag = strip.channelbag(slot)
            if channelbag is not None:
                return channelbag
    if not create:
        return None
    layer = action.layers[0] if len(action.layers) else action.layers.new("Layer")
    strip = layer.strips[0] if len(layer.strips) else layer.strips.new(type='KEYFRAME')
    return strip.channelbag(slot, ensure=True)

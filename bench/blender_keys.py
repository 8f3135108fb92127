"""Importing a performance onto the Blender face rig: bulk F-curve writes vs a keyframe_insert loop.

``Import Driver as Rig`` writes every channel with ``keyframe_points.add(n)`` + ``foreach_set``; the
baseline, measured in the same process on the same rig and the same values, sets each property and calls
``keyframe_insert`` per channel per frame, the usual way add-ons key. Also times exporting the rig
(evaluating it frame by frame, as a render with a rig driver does). Prints times and ratios.

    .venv/bin/python bench/blender_keys.py [--frames 250] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def frontal_face(width: int, height: int) -> np.ndarray:
    """A plausible frontal 68-point face (only the timing matters here, not the face)."""
    def ring(cx, cy, rx, ry, count):
        angles = np.linspace(np.pi, -np.pi, count, endpoint=False)
        return np.stack([cx + rx * np.cos(angles), cy - ry * np.sin(angles)], axis=1)

    angles = np.linspace(np.pi, 2 * np.pi, 17)
    jaw = np.stack([np.cos(angles), -np.sin(angles)], axis=1) * [0.3, 0.35] + [0.5, 0.45]
    brows = np.stack([np.linspace(0.3, 0.45, 10), np.full(10, 0.33)], axis=1)
    brows[5:] += [0.1, 0]
    nose = np.stack([np.full(9, 0.5), np.linspace(0.38, 0.55, 9)], axis=1)
    eyes = np.concatenate([ring(0.4, 0.4, 0.04, 0.015, 6), ring(0.6, 0.4, 0.04, 0.015, 6)])
    lips = np.concatenate([ring(0.5, 0.65, 0.1, 0.03, 12), ring(0.5, 0.65, 0.07, 0.01, 8)])
    return np.concatenate([jaw, brows, nose, eyes, lips]) * [width, height]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=250)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import bpy

    sys.path.insert(0, ROOT)
    import blender_addon
    from blender_addon.landmarks import face_shapes, retarget
    from blender_addon.scene import rig_build, rig_io

    blender_addon.register()
    try:
        context = bpy.context
        still = frontal_face(640, 480)
        image = bpy.data.images.new("Still", 640, 480)
        rig = rig_build.build_face_rig(context, image, still, "Bench")
        jaw = face_shapes.shape_deltas(still)[face_shapes.JAW_OPEN][:, :2]
        driver = np.array([retarget.Similarity(1 + 0.03 * math.sin(n / 9), 0.1 * math.sin(n / 11),
                                               (5 * math.sin(n / 7), 3 * math.cos(n / 5))).apply(
            still + jaw * (0.5 + 0.5 * math.sin(n / 3))) for n in range(1, args.frames + 1)])
        performance = retarget.retarget(driver, np.arange(1, args.frames + 1), still)
        rig_build.ensure_point_controls(rig)

        def bulk():
            rig_io.import_performance(context, rig, performance)

        def loop():
            controls = rig.point_controls()
            for obj in [rig.head, *controls]:
                obj.animation_data_clear()
            # the same values bulk() writes, keyed one property at a time
            bulk()
            values = {obj.name: {(c.data_path, c.array_index): [k.co[1] for k in c.keyframe_points]
                                 for c in _curves(obj)} for obj in [rig.head, *controls]}
            for obj in [rig.head, *controls]:
                obj.animation_data_clear()
            started = time.perf_counter()
            for row, frame in enumerate(performance.frame_numbers):
                for obj in [rig.head, *controls]:
                    for (path, index), series in values[obj.name].items():
                        getattr(obj, path)[index] = series[row]
                        obj.keyframe_insert(path, index=index, frame=float(frame))
            return time.perf_counter() - started

        bulk_times, loop_times = [], []
        for _ in range(args.repeat):
            started = time.perf_counter()
            bulk()
            bulk_times.append(time.perf_counter() - started)
            loop_times.append(loop())
        started = time.perf_counter()
        rig_io.export_track(context, rig, 1, args.frames)
        export_s = time.perf_counter() - started
        channels = sum(len(_curves(obj)) for obj in [rig.head, *rig.point_controls()])
        print(f"blender {bpy.app.version_string}, {args.frames} frames, {channels} channels "
              f"({channels * args.frames} keys), best of {args.repeat}")
        print(f"bulk foreach_set import : {min(bulk_times) * 1000:8.1f} ms")
        print(f"keyframe_insert loop    : {min(loop_times) * 1000:8.1f} ms")
        print(f"loop / bulk             : {min(loop_times) / min(bulk_times):8.1f}x")
        print(f"export (evaluate+project): {export_s * 1000:8.1f} ms ({export_s / args.frames * 1000:.2f} ms/frame)")
    finally:
        blender_addon.unregister()
    return 0


def _curves(obj):
    from blender_addon.scene import animation

    curves = animation.curves_of(obj, create=False)
    return [] if curves is None else list(curves.fcurves)


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # bpy can hang at interpreter exit

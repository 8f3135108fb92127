"""The animate pipeline: a farm chunk renders exactly the whole shot's frames; the warp renders on one thread
while frames are written beside it."""

import numpy as np
import pytest
import torch

from portrait_animator.config import FrameRange, OutputConfig, RenderJob
from portrait_animator.pipeline import AnimatePipeline


def _rendered(job: RenderJob, chunk: FrameRange | None) -> tuple[dict, set]:
    """Frame number -> pasted rgb, and the frames whose renders painted the driver's mouth."""
    pipeline = AnimatePipeline(job, chunk=chunk)
    shot = pipeline.prepare()
    painted, render = set(), shot.renderer.render

    def spy(target):
        out = render(target)
        if out.overlay is not None and target.driver_image is not None:
            painted.add(target.frame_number)
        return out

    shot.renderer.render = spy
    return {n: frame.rgb for n, frame in pipeline.render_frames(shot, shot.frame_numbers)}, painted


def test_a_chunk_renders_the_whole_shots_frames(tmp_path, bundled_still, media):
    """The chunk's motion and the driver frames it hands the mouth come from the right rows of the track
    (the motion of a chunk is computed for its own frames only)."""
    job = RenderJob(sources=[str(bundled_still)], driver=str(media("driving", "lp_d3.mp4")),
                    frames=FrameRange(1, 24), crop_size=256, cache_dir=str(tmp_path / "cache"),
                    output=OutputConfig(pattern=str(tmp_path / "out" / "f.####.png")))
    whole, _ = _rendered(job, None)
    chunk, painted = _rendered(job, FrameRange(13, 24))
    assert sorted(chunk) == list(range(13, 25))
    assert painted, "the driver's mouth was never painted: the test would not see its frames mixed up"
    for number, rgb in chunk.items():
        np.testing.assert_array_equal(rgb, whole[number], err_msg=f"frame {number}")


def test_the_warp_renders_on_one_thread_and_the_setting_is_restored(tmp_path, bundled_still, monkeypatch):
    """torch's threads spinning between the warp's small operators took the frame writer's core."""
    from portrait_animator.render.warp import WarpRenderer

    seen, render = [], WarpRenderer.render
    monkeypatch.setattr(WarpRenderer, "render", lambda self, target: seen.append(torch.get_num_threads())
                        or render(self, target))
    job = RenderJob(sources=[str(bundled_still)], driver="preset:blink", frames=FrameRange(1, 3), crop_size=256,
                    cache_dir=str(tmp_path / "cache"), output=OutputConfig(pattern=str(tmp_path / "f.####.png")))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert AnimatePipeline(job).run().written == [1, 2, 3]
        assert seen == [1, 1, 1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_the_warp_frames_its_crop_a_quarter_wider_than_the_networks(tmp_path, bundled_still):
    """The band between the face and the crop edge carries the head's travel: the warp's crop leaves it more
    room than FFHQ's framing, about the same centre."""
    from portrait_animator import align

    job = RenderJob(sources=[str(bundled_still)], driver="preset:blink", frames=FrameRange(1, 2), crop_size=256,
                    cache_dir=str(tmp_path / "cache"), output=OutputConfig(pattern=str(tmp_path / "f.####.png")))
    source = AnimatePipeline(job).prepare().source
    still68 = align.apply(align.invert(source.crop_from_still), source.crop.landmarks)
    ffhq = align.face_crop_transform(still68, 256)
    scale, angle, _ = align.similarity_params(source.crop_from_still)
    ffhq_scale, ffhq_angle, _ = align.similarity_params(ffhq)
    assert scale / ffhq_scale == pytest.approx(0.8, abs=1e-3) and angle == pytest.approx(ffhq_angle, abs=1e-3)
    centre = align.apply(align.invert(source.crop_from_still), np.array([[128.0, 128.0]]))
    np.testing.assert_allclose(centre, align.apply(align.invert(ffhq), np.array([[128.0, 128.0]])), atol=0.5)


def test_a_crop_alone_carries_the_stills_alpha_and_none_beyond_its_edges(tmp_path, bundled_face):
    """``--no-paste-back`` writes the warp's crop, which reaches past a tightly framed still, where the crop
    repeats the still's edge pixels: its alpha says which pixels show the still (its own alpha carried in),
    so a compositor gets neither the streaks nor an opaque copy of a transparent background."""
    import cv2

    from portrait_animator import align
    from portrait_animator.io.images import read_image

    face = bundled_face["face"]
    x0, y0 = np.floor(face.dense.min(0) - 0.12 * np.ptp(face.dense, axis=0)).astype(int)
    x1, y1 = np.ceil(face.dense.max(0) + 0.12 * np.ptp(face.dense, axis=0)).astype(int)
    rgb8 = np.round(bundled_face["still"].rgb[y0:y1, x0:x1] * 255).astype(np.uint8)
    height, width = rgb8.shape[:2]
    alpha8 = np.full((height, width), 255, np.uint8)
    alpha8[: height // 6, : width // 6] = 0  # a transparent corner of background
    still = tmp_path / "cut.png"
    cv2.imwrite(str(still), np.dstack([rgb8[..., ::-1], alpha8]))
    job = RenderJob(sources=[str(still)], driver="preset:blink", frames=FrameRange(1, 2), crop_size=256,
                    cache_dir=str(tmp_path / "cache"),
                    output=OutputConfig(pattern=str(tmp_path / "crop.####.png"), paste_back=False))
    source = AnimatePipeline(job).prepare().source
    assert AnimatePipeline(job).run().written == [1, 2]
    written = read_image(str(tmp_path / "crop.0002.png"))
    assert written.rgb.shape == (256, 256, 3) and written.alpha is not None
    ys, xs = np.mgrid[0:256, 0:256] + 0.5
    at = align.apply(align.invert(source.crop_from_still), np.stack([xs, ys], -1).reshape(-1, 2)).reshape(256, 256, 2)
    inside = np.minimum(np.minimum(at[..., 0], width - at[..., 0]), np.minimum(at[..., 1], height - at[..., 1]))
    corner = (at[..., 0] < width / 6 - 6) & (at[..., 1] < height / 6 - 6)
    assert (inside < -6).any() and corner.any()
    assert written.alpha[inside < -6].max() == 0.0  # beyond the still's edges
    assert written.alpha[corner & (inside > 6)].max() < 0.02  # its transparent corner stays transparent
    opaque = (inside > 6) & ~((at[..., 0] < width / 6 + 6) & (at[..., 1] < height / 6 + 6))
    assert written.alpha[opaque].min() > 0.98

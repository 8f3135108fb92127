"""The animate pipeline: the warp renders on one thread while frames are written beside it."""

import torch

from portrait_animator.config import FrameRange, OutputConfig, RenderJob
from portrait_animator.pipeline import AnimatePipeline


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

"""Cross-reenactment: a still of person A driven by a clip of person B, measured without ground truth.

Identity must stay A's (dlib descriptor distance to the still) and motion must follow B's (correlation of
the output's mouth- and eye-opening curves with the driver's, both measured by dlib's landmarks). Beside
them, how far dlib agrees with the engine's own tracker on the driver itself: the renderer follows that
tracker, so where the two landmarkers disagree on a real video, no output can follow dlib's curve closely;
and how far dlib's reading of the output follows that tracker's reading of the driver, which is what the
renderer was asked to draw. The two split a low correlation between the landmarkers and the renderer.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass, field

import numpy as np

from ..config import FrameRange, OutputConfig, RenderJob
from ..io.images import read_image
from ..io.sources import open_frames
from ..landmarks.track import rows_by_number
from ..motion import eye_openness, mouth_openness
from ..pipeline import AnimatePipeline
from .dlib_instrument import DlibInstrument, identity_distance
from .face_crops import to_uint8
from .motion_metrics import correlation


@dataclass
class CrossResult:
    """Per-frame curves and their summary for one (still, driver) pair."""

    still: str
    driver: str
    renderer: str
    frames: list[int] = field(default_factory=list)
    identity: list[float] = field(default_factory=list)  # per measured frame
    mouth_output: list[float] = field(default_factory=list)
    mouth_driver: list[float] = field(default_factory=list)
    eyes_output: list[float] = field(default_factory=list)
    eyes_driver: list[float] = field(default_factory=list)
    mouth_tracker: list[float] = field(default_factory=list)  # the driver by the engine's tracker
    eyes_tracker: list[float] = field(default_factory=list)
    missed_output: int = 0  # frames where dlib found no face in the output
    missed_driver: int = 0

    @property
    def identity_mean(self) -> float:
        return float(np.mean(self.identity)) if self.identity else float("nan")

    @property
    def mouth_correlation(self) -> float:
        return correlation(self.mouth_output, self.mouth_driver)

    @property
    def eyes_correlation(self) -> float:
        return correlation(self.eyes_output, self.eyes_driver)

    def summary(self) -> dict:
        return {"still": self.still, "driver": self.driver, "renderer": self.renderer,
                "frames": len(self.frames), "identity_distance": round(self.identity_mean, 4),
                "mouth_correlation": round(self.mouth_correlation, 4),
                "eyes_correlation": round(self.eyes_correlation, 4),
                "mouth_tracker_agreement": round(correlation(self.mouth_tracker, self.mouth_driver), 4),
                "eyes_tracker_agreement": round(correlation(self.eyes_tracker, self.eyes_driver), 4),
                "mouth_follows_tracker": round(correlation(self.mouth_output, self.mouth_tracker), 4),
                "eyes_follow_tracker": round(correlation(self.eyes_output, self.eyes_tracker), 4),
                "driver_mouth_range": round(float(np.ptp(self.mouth_driver)) if self.mouth_driver else 0.0, 4),
                "driver_eyes_range": round(float(np.ptp(self.eyes_driver)) if self.eyes_driver else 0.0, 4),
                "missed_output": self.missed_output, "missed_driver": self.missed_driver}


def measure_cross(still: str, driver: str, frames: FrameRange | None = None, job: RenderJob | None = None,
                  instrument: DlibInstrument | None = None) -> CrossResult:
    """Render ``still`` driven by ``driver`` in memory (nothing written) and measure every frame."""
    instrument = instrument or DlibInstrument()
    with tempfile.TemporaryDirectory() as scratch:
        base = job or RenderJob(sources=[still], driver=driver)
        job = dataclasses.replace(base, sources=[still], driver=driver, frames=frames or FrameRange(),
                                  output=OutputConfig(pattern=f"{scratch}/frame.####.png"),
                                  cache_dir=base.cache_dir or f"{scratch}/cache")
        pipeline = AnimatePipeline(job)
        shot = pipeline.prepare()
        reference = instrument.measure(to_uint8(read_image(still).rgb))
        if reference is None:
            raise ValueError(f"{still}: dlib finds no face in the still; pick another still to measure")
        result = CrossResult(still, driver, job.renderer)
        driver_frames = dict(open_frames(driver).frames(shot.frame_numbers[0], shot.frame_numbers[-1]))
        track = shot.driver.track
        track_row = rows_by_number(track.frame_numbers)
        for number, frame in pipeline.render_frames(shot, shot.frame_numbers):
            out = instrument.measure(to_uint8(frame.rgb))
            drv = instrument.measure(driver_frames.pop(number), with_descriptor=False)
            result.missed_output += out is None
            result.missed_driver += drv is None
            if out is None or drv is None:
                continue
            result.frames.append(number)
            result.identity.append(identity_distance(out, reference))
            result.mouth_output.append(float(mouth_openness(out.landmarks)))
            result.mouth_driver.append(float(mouth_openness(drv.landmarks)))
            result.eyes_output.append(float(eye_openness(out.landmarks).mean()))
            result.eyes_driver.append(float(eye_openness(drv.landmarks).mean()))
            tracked = track.landmarks[track_row[number]]
            result.mouth_tracker.append(float(mouth_openness(tracked)))
            result.eyes_tracker.append(float(eye_openness(tracked).mean()))
    return result

"""face-alignment landmark backend: the S3FD face detector and the FAN 68-point network.

FAN (Bulat & Tzimiropoulos, "How far are we from solving the 2D & 3D face alignment problem?", ICCV 2017,
package ``face-alignment``) is the landmark source of the talking-head paper. Its library downloads the
weights on first use; this engine never downloads anything. The user places the two files, under exactly
the names the installed library uses, in the torch hub cache (``torch.hub.get_dir()/checkpoints``, i.e.
``$TORCH_HOME/hub/checkpoints``); ``MissingWeightsError`` names them and the folder otherwise.

The networks are built from the library's own classes and the files read with
``torch.load(weights_only=True)``; none of the library's loading or downloading code runs. Pre- and
post-processing follow the library (crop framing from the face box, 256 px crop, 64 px heatmaps with
quarter-pixel refinement), without its rounding of the result to whole pixels and without the optional
flipped second pass.

The FAN weights are trained on 300-W-derived data; check the face-alignment project's terms before
commercial use.
"""

from __future__ import annotations

import importlib.util
import math
import os
from urllib.parse import urlparse

import numpy as np

from ..errors import MissingWeightsError
from .crop_window import CropWindow
from .faces import DetectedFace, FaceDetector, as_rgb_uint8, largest_first

# Stills are searched by S3FD at most this large (it is a VGG-16: slow on large images on a CPU).
DETECT_SIDE = 640
# While tracking, S3FD runs on a window this many face sizes wide, sampled so the face is FOLLOW_FACE_PIXELS.
FOLLOW_WINDOW_PER_FACE = 2.2
FOLLOW_FACE_PIXELS = 128
# FAN's input and heatmap sizes and its crop framing (face_alignment.utils: CROP_RESOLUTION,
# HEATMAP_RESOLUTION, SCALE_FACTOR / REFERENCE_SCALE, CENTER_Y_OFFSET).
CROP_PIXELS = 256
HEATMAP_PIXELS = 64
CROP_PER_BOX = 200.0 / 195.0
CENTER_Y_OFFSET = 0.12
FAN_MODULES = 4  # the "LARGE" network, the only one published


def weight_files() -> dict[str, str]:
    """What each weight file is -> the file name the installed face-alignment expects in the hub cache."""
    from face_alignment import api
    from face_alignment.detection.sfd import sfd_detector

    return {"FAN 68-point network": _file_name(api.models_urls["2DFAN-4"]),
            "S3FD face detector": _file_name(sfd_detector.models_urls["s3fd"])}


def weight_urls() -> dict[str, str]:
    """File name -> where the face-alignment project publishes it (for the user to fetch by hand)."""
    from face_alignment import api
    from face_alignment.detection.sfd import sfd_detector

    urls = (api.models_urls["2DFAN-4"], sfd_detector.models_urls["s3fd"])
    return {_file_name(url): url for url in urls}


def checkpoint_folder() -> str:
    import torch

    return os.path.join(torch.hub.get_dir(), "checkpoints")


def _file_name(url: str) -> str:
    return os.path.basename(urlparse(url).path)


def _missing_message(missing: list[str]) -> str:
    urls = weight_urls()
    sources = "; ".join(f"{name} from {urls[name]}" for name in missing)
    return (f"{checkpoint_folder()}: face-alignment weights not found ({', '.join(missing)}); nothing is "
            f"downloaded automatically: download {sources} and place them in that folder (or point "
            "TORCH_HOME at a folder whose hub/checkpoints holds them)")


class FaceAlignmentDetector(FaceDetector):
    name = "face-alignment"
    has_dense = False

    @classmethod
    def availability(cls) -> str:
        if importlib.util.find_spec("face_alignment") is None:
            return "not installed (pip install face-alignment)"
        folder = checkpoint_folder()
        missing = [name for name in weight_files().values() if not os.path.exists(os.path.join(folder, name))]
        return _missing_message(missing) if missing else "ok"

    def __init__(self, device: str | None = None):
        import torch
        from face_alignment.detection.sfd.sfd_detector import SFDDetector
        from face_alignment.models import FAN

        folder = checkpoint_folder()
        paths = {role: os.path.join(folder, name) for role, name in weight_files().items()}
        missing = [os.path.basename(path) for path in paths.values() if not os.path.exists(path)]
        if missing:
            raise MissingWeightsError(_missing_message(missing))
        self._torch = torch
        self._device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        # an explicit path makes the library load the file instead of fetching its URL
        self._detector = SFDDetector(self._device, path_to_detector=paths["S3FD face detector"])
        fan = FAN(FAN_MODULES)
        fan.load_state_dict(torch.load(paths["FAN 68-point network"], map_location=self._device,
                                       weights_only=True))
        self._fan = fan.to(self._device).eval()

    def find_faces(self, image: np.ndarray) -> list[DetectedFace]:
        image = as_rgb_uint8(image)
        height, width = image.shape[:2]
        whole = CropWindow.around((width / 2, height / 2), max(width, height), DETECT_SIDE)
        found = self._detect(whole.cut(image, fill=0), whole)
        return largest_first([self.landmarks_for_box(image, box, score) for box, score in found])

    def follow(self, image: np.ndarray, previous: DetectedFace) -> DetectedFace | None:
        image = as_rgb_uint8(image)
        x0, y0, x1, y1 = previous.box
        face_size = max(x1 - x0, y1 - y0, 1.0)
        side = face_size * FOLLOW_WINDOW_PER_FACE
        window = CropWindow(((x0 + x1 - side) / 2, (y0 + y1 - side) / 2), side,
                            max(1, round(side * FOLLOW_FACE_PIXELS / face_size)))
        found = self._detect(window.cut(image, fill=0), window)
        if not found:
            return None
        centre = ((x0 + x1) / 2, (y0 + y1) / 2)
        box, score = min(found, key=lambda item: math.hypot((item[0][0] + item[0][2]) / 2 - centre[0],
                                                            (item[0][1] + item[0][3]) / 2 - centre[1]))
        return self.landmarks_for_box(image, box, score)

    def _detect(self, crop: np.ndarray, window: CropWindow):
        """S3FD detections in ``crop`` as (image-pixel box, score)."""
        found = []
        for x0, y0, x1, y1, score in self._detector.detect_from_image(np.ascontiguousarray(crop)):
            corners = window.to_image(np.array([[x0, y0], [x1, y1]], dtype=np.float64))
            found.append((tuple(corners.reshape(-1)), float(score)))
        return found

    def landmarks_for_box(self, image: np.ndarray, box, score: float = 1.0) -> DetectedFace:
        """FAN's 68 points for a face box (x0, y0, x1, y1) found by any detector, framed as face-alignment
        frames an S3FD box."""
        image = as_rgb_uint8(image)
        x0, y0, x1, y1 = box
        side = CROP_PER_BOX * ((x1 - x0) + (y1 - y0))
        centre = ((x0 + x1) / 2, (y0 + y1) / 2 - (y1 - y0) * CENTER_Y_OFFSET)
        window = CropWindow((centre[0] - side / 2, centre[1] - side / 2), side, CROP_PIXELS)
        crop = window.cut(image, fill=0)
        tensor = self._torch.from_numpy(crop.transpose(2, 0, 1).copy()).float().div_(255.0)
        with self._torch.no_grad():
            heatmaps = self._fan(tensor.unsqueeze(0).to(self._device))
        if isinstance(heatmaps, (list, tuple)):
            heatmaps = heatmaps[-1]
        points = heatmap_peaks(heatmaps[0].float().cpu().numpy())
        return DetectedFace.from_points(window.to_image(points * (CROP_PIXELS / HEATMAP_PIXELS)), score)


def heatmap_peaks(heatmaps: np.ndarray) -> np.ndarray:
    """(K, H, W) heatmaps -> (K, 2) continuous peak positions (cell centres at +0.5), refined a quarter
    cell towards the higher neighbour as in face-alignment and the stacked-hourglass code."""
    count, height, width = heatmaps.shape
    flat = heatmaps.reshape(count, -1).argmax(axis=1)
    rows, cols = np.divmod(flat, width)
    points = np.stack([cols, rows], axis=1).astype(np.float64) + 0.5
    for k, (row, col) in enumerate(zip(rows, cols)):
        if 0 < col < width - 1 and 0 < row < height - 1:
            points[k, 0] += 0.25 * np.sign(heatmaps[k, row, col + 1] - heatmaps[k, row, col - 1])
            points[k, 1] += 0.25 * np.sign(heatmaps[k, row + 1, col] - heatmaps[k, row - 1, col])
    return points

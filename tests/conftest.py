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


@pytest.fixture(scope="session")
def bundled_face():
    """The bundled still's face, detected once: (still, DetectedFace, crop transform at 512, crop landmarks)."""
    import numpy as np

    from portrait_animator import align
    from portrait_animator.io.images import read_image
    from portrait_animator.landmarks import create_detector

    still = read_image(str(BUNDLED_STILL))
    with create_detector("mediapipe") as detector:
        face = detector.find_faces(np.round(still.rgb * 255).astype(np.uint8))[0]
    matrix = align.face_crop_transform(face.landmarks, 512)
    return {"still": still, "face": face, "crop_from_still": matrix,
            "landmarks": align.apply(matrix, face.landmarks).astype(np.float64),
            "dense": align.apply(matrix, face.dense).astype(np.float64)}


@pytest.fixture(scope="module")
def bundled_source(bundled_face):
    """The bundled still as a renderer's one-shot source at crop 512."""
    import numpy as np

    from portrait_animator.face_analysis import crop_face
    from portrait_animator.render.base import SourceFace, SourceShot

    crop = crop_face(bundled_face["still"].rgb, bundled_face["crop_from_still"], 512)
    return SourceFace([SourceShot(crop, bundled_face["landmarks"].astype(np.float32),
                                  bundled_face["dense"].astype(np.float32))], 512,
                      bundled_face["crop_from_still"], bundled_face["still"].rgb)


@pytest.fixture(scope="session")
def turning_driver_track():
    """`lp_d3`'s first 250 frames tracked by the default backend: a clip that faces the camera most of the
    time and turns aside now and then (the neutral-frame rules of the engine and the add-on are both
    checked on it)."""
    from landmark_media import clip_frames
    from portrait_animator.landmarks.tracking import track_frames

    return track_frames(clip_frames("lp_d3.mp4", 250), source="lp_d3.mp4")

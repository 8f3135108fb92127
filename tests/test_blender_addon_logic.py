"""The Blender add-on's plain-Python parts (no bpy): paths, job files, landmark files, the engine runner,
interpreter discovery, expression shapes, retargeting and camera geometry.

Job and landmark files are read back with the engine's own readers (``portrait_animator.config`` and
``portrait_animator.landmarks.track``), the contract the add-on must meet without importing the engine.
The runner's tests start ``tests/fake_progress_engine.py``, a clearly labelled stand-in that only prints
the progress protocol; the real CLI is driven by the end-to-end tests under ``tests/blender/``.
"""

from __future__ import annotations

import math
import os
import stat
import sys
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from blender_addon import frame_paths, projection  # noqa: E402
from blender_addon.engine import doctor, interpreter, job_file  # noqa: E402
from blender_addon.engine.process import EngineProcess  # noqa: E402
from blender_addon.errors import AddonError  # noqa: E402
from blender_addon.landmarks import face_shapes, landmark_file, retarget  # noqa: E402
from conftest import media_path  # noqa: E402

FAKE_ENGINE = str(Path(__file__).with_name("fake_progress_engine.py"))


# ------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def still_landmarks() -> np.ndarray:
    """68 landmarks of a real still measured with dlib (an instrument independent of the add-on)."""
    import importlib.util

    import cv2
    import dlib

    models = importlib.util.find_spec("face_recognition_models").submodule_search_locations[0] + "/models"
    image = cv2.cvtColor(cv2.imread(str(media_path("stills", "lp_s9_painting_mona_lisa.jpg"))), cv2.COLOR_BGR2RGB)
    faces = dlib.get_frontal_face_detector()(image, 1)
    assert faces, "dlib found no face in the test still"
    shape = dlib.shape_predictor(f"{models}/shape_predictor_68_face_landmarks.dat")(image, faces[0])
    return np.array([[p.x + 0.5, p.y + 0.5] for p in shape.parts()], dtype=np.float64)


def eye_gap(points: np.ndarray, first: int) -> float:
    return float(np.linalg.norm(points[first + 1] - points[first + 5]) + np.linalg.norm(points[first + 2] - points[first + 4])) / 2


def mouth_gap(points: np.ndarray) -> float:
    return float(np.linalg.norm(points[62] - points[66]))


# ------------------------------------------------------------------------------------------- paths
def test_blend_relative_paths_resolve_against_the_blend_folder(tmp_path):
    assert frame_paths.resolve_blend_path("//renders/a.exr", str(tmp_path)) == str(tmp_path / "renders" / "a.exr")
    assert frame_paths.resolve_blend_path(str(tmp_path / "x"), "") == str(tmp_path / "x")
    with pytest.raises(AddonError, match="not saved"):
        frame_paths.resolve_blend_path("//renders/", "")


def test_output_pattern_follows_blender_output_rules(tmp_path):
    blend = str(tmp_path)
    # empty setting: the default folder, the shot's name, padding added, extension from the format
    assert frame_paths.output_pattern("", "//portrait/", "Mona Lisa", "OPEN_EXR", blend) == \
        str(tmp_path / "portrait" / "Mona_Lisa.####.exr")
    # a name without '#' gets '.####'; a known image extension is replaced by the chosen format's
    assert frame_paths.output_pattern("//out/take1.exr", "", "x", "PNG", blend) == str(tmp_path / "out" / "take1.####.png")
    # a '#' run sets the padding
    assert frame_paths.output_pattern("//out/take_##", "", "x", "PNG", blend) == str(tmp_path / "out" / "take_##.png")
    # an existing folder without a trailing separator is still a folder
    (tmp_path / "existing").mkdir()
    assert frame_paths.output_pattern(str(tmp_path / "existing"), "", "shot", "PNG", blend) == \
        str(tmp_path / "existing" / "shot.####.png")
    with pytest.raises(AddonError, match="no output folder"):
        frame_paths.output_pattern("", "", "shot", "PNG", blend)


def test_frame_files_agree_with_the_engine_naming():
    from portrait_animator.io.naming import FramePattern

    for pattern in ("/r/shot.####.exr", "/r/take_##.png", "/r/a#b.######.tif"):
        for frame in (1, 7, 1001):
            assert frame_paths.frame_path(pattern, frame) == FramePattern.parse(pattern).path(frame)


def test_sequence_stem_names_the_shot():
    assert frame_paths.sequence_stem("/r/take_###.png") == "take"
    assert frame_paths.sequence_stem("/r/Mona_Lisa.####.exr") == "Mona_Lisa"
    assert frame_paths.sequence_stem("/r/####.exr") == "portrait"


def test_sequence_pattern_from_one_file_of_the_sequence(tmp_path):
    assert frame_paths.sequence_pattern("/clips/take3_0012.png") == "/clips/take3_####.png"
    assert frame_paths.sequence_pattern("/clips/v2/frame.00007.exr") == "/clips/v2/frame.#####.exr"
    assert frame_paths.sequence_pattern(str(tmp_path)) == str(tmp_path)
    with pytest.raises(AddonError, match="numbered image sequence"):
        frame_paths.sequence_pattern("/clips/portrait.png")


def test_fps_conversion_matches_blender_conventions():
    assert frame_paths.fps_to_blender(25.0) == (25, 1.0)
    fps, base = frame_paths.fps_to_blender(29.97003)
    assert fps == 30 and fps / base == pytest.approx(29.97003, rel=1e-6)
    with pytest.raises(AddonError):
        frame_paths.fps_to_blender(0)


# ------------------------------------------------------------------------------------------- job file
def test_job_file_is_read_by_the_engine_config(tmp_path):
    from portrait_animator.config import RenderJob

    spec = job_file.JobSpec(
        sources=[str(tmp_path / "still.png")], driver=str(tmp_path / "rig.npz"),
        pattern=str(tmp_path / "out" / "shot.####.png"), name="shot", frames=(3, 12), device="cpu",
        crop_size=256, glasses="off", motion_mode="absolute",
        gains={"head": 0.5, "eyes": 1.2, "brows": 1.0, "mouth": 2.0}, smoothing=0.1, close_mouth=False, max_turn=0.0,
        bit_depth=8, overwrite=True)
    path = job_file.write_job(str(tmp_path / "out" / "shot.job.json"), spec)
    job = RenderJob.load(path)
    assert job.sources == spec.sources and job.driver == spec.driver and job.name == "shot"
    assert (job.frames.start, job.frames.end) == (3, 12)
    assert job.output.pattern == spec.pattern and job.output.bit_depth == 8 and job.output.overwrite
    assert job.device == "cpu" and job.crop_size == 256 and job.motion.mode == "absolute"
    assert job.glasses == "off"
    assert job.motion.gains.mouth == 2.0 and job.motion.gains.head == 0.5 and job.motion.smoothing == 0.1
    assert job.motion.close_mouth is False and job.motion.max_turn == 0.0
    assert RenderJob.load(job_file.write_job(path, job_file.JobSpec(["/s.png"], "preset:blink", "/o/a.####.exr", "a"))
                          ).frames.start is None
    assert not [p for p in os.listdir(tmp_path / "out") if ".tmp" in p]


def test_job_file_in_an_unwritable_place_names_the_folder(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    spec = job_file.JobSpec(["/s.png"], "preset:idle", str(blocker / "out" / "s.####.exr"), "s")
    with pytest.raises(AddonError, match=str(blocker)):
        job_file.write_job(str(blocker / "out" / "s.job.json"), spec)
    with pytest.raises(AddonError, match="cannot create the output folder"):
        job_file.ensure_writable_folder(str(blocker / "out"))


# ------------------------------------------------------------------------------------- landmark file
def test_landmark_file_round_trips_with_the_engine_reader(tmp_path):
    from portrait_animator.landmarks.track import LandmarkTrack

    rng = np.random.default_rng(1)
    points = rng.uniform(0, 500, (6, 68, 2)).astype(np.float32)
    points[2] = np.nan
    data = landmark_file.LandmarkData(points, np.arange(11, 17), image_size=(640, 480), fps=24.0,
                                      meta={"source": "blender rig"})
    landmark_file.write_landmark_file(str(tmp_path / "rig.npz"), data)
    track = LandmarkTrack.load(str(tmp_path / "rig.npz"))
    np.testing.assert_array_equal(track.landmarks, points)
    assert list(track.frame_numbers) == list(range(11, 17)) and track.image_size == (640, 480)
    assert track.fps == 24.0 and track.meta["source"] == "blender rig"
    assert list(track.valid) == [True, True, False, True, True, True] and track.confidence[2] == 0

    engine_written = LandmarkTrack(points[:3], np.ones(3), np.array([1, 2, 5]), image_size=(10, 20), fps=30.0)
    engine_written.save(str(tmp_path / "engine.npz"))
    back = landmark_file.read_landmark_file(str(tmp_path / "engine.npz"))
    np.testing.assert_array_equal(back.landmarks, points[:3])
    assert list(back.frame_numbers) == [1, 2, 5] and back.image_size == (10, 20) and back.fps == 30.0


def test_bad_landmark_files_are_clear_errors(tmp_path):
    (tmp_path / "corrupt.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(AddonError, match="corrupt.npz: not a readable"):
        landmark_file.read_landmark_file(str(tmp_path / "corrupt.npz"))
    np.savez(tmp_path / "shape.npz", landmarks=np.zeros((4, 5, 2), np.float32))
    with pytest.raises(AddonError, match=r"shape.npz: 'landmarks' has shape \(4, 5, 2\)"):
        landmark_file.read_landmark_file(str(tmp_path / "shape.npz"))
    with pytest.raises(AddonError, match="not found"):
        landmark_file.read_landmark_file(str(tmp_path / "missing.npz"))


# -------------------------------------------------------------------------------------- interpreter
def test_interpreter_candidates_come_from_env_path_and_checkouts(tmp_path):
    venv = tmp_path / "checkout" / ".venv"
    (venv / "bin").mkdir(parents=True)
    venv_python = venv / "bin" / "python3"
    venv_python.write_text("")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    launcher = bin_dir / "portrait-animator"
    launcher.write_text(f"#!{sys.executable}\nfrom portrait_animator.cli import main\n")
    launcher.chmod(launcher.stat().st_mode | stat.S_IEXEC)
    env = {"PATH": str(bin_dir), interpreter.PYTHON_ENV_VAR: str(venv)}
    found = interpreter.candidates("", env, near=[str(tmp_path / "checkout" / "blender_addon")])
    assert found[0] == (interpreter.PYTHON_ENV_VAR, str(venv_python))
    assert found[1] == ("portrait-animator on PATH", sys.executable)
    assert len(found) == 2  # the checkout's .venv is the env var's one: listed once
    assert interpreter.python_in(str(tmp_path / "nothing")) is None


def test_find_engine_python_finds_this_checkouts_engine():
    engine = interpreter.find_engine_python("", env={"PATH": "/nonexistent", interpreter.HOME_ENV_VAR: str(REPO)})
    from portrait_animator import __version__

    assert engine.version == __version__ and Path(engine.path).parent.parent.name == ".venv"
    assert engine.command("doctor", "--json")[1:] == ["-m", "portrait_animator", "doctor", "--json"]


def test_missing_engine_python_is_a_clear_error(tmp_path):
    with pytest.raises(AddonError, match=r"engine Python not found: .*nowhere.*Preferences"):
        interpreter.find_engine_python(str(tmp_path / "nowhere" / "python"))
    with pytest.raises(AddonError, match="no Python with the Portrait Animator engine"):
        interpreter.find_engine_python("", env={"PATH": str(tmp_path)}, near=[str(tmp_path)])


# ----------------------------------------------------------------------------- engine runner (stand-in)
def run_fake(*args: str, **kwargs) -> EngineProcess:
    return EngineProcess([sys.executable, FAKE_ENGINE, *args], **kwargs).start()


def test_runner_follows_progress_to_done():
    process = run_fake("--frames", "6", "--delay", "0.02", "--noise")
    seen_done = []
    state = process.wait(timeout=30, on_poll=lambda p: seen_done.append(p.state.done))
    assert state.returncode == 0 and not state.error and not state.cancelled
    assert state.start["total"] == 6 and state.result["written"] == 6 and state.done == state.total == 6
    assert seen_done == sorted(seen_done) and seen_done[-1] == 6
    assert any("noisy line" in line for line in state.stdout_lines)  # kept, not mistaken for events
    assert process.eta_s == 0.0


def test_runner_poll_never_waits_for_the_engine():
    process = run_fake("--frames", "3", "--delay", "1.0")
    started = time.monotonic()
    for _ in range(20):
        process.poll()
    assert time.monotonic() - started < 0.5 and not process.finished
    process.cancel()
    process.wait(timeout=30)


def test_runner_reports_the_engines_one_line_error():
    state = run_fake("--frames", "5", "--fail-at", "3").wait(timeout=30)
    assert state.returncode == 2 and state.error == "/tmp/still.png: no face found in frame 3"
    assert state.error_kind == "NoFaceError" and state.done == 2


def test_runner_explains_a_crash_and_a_python_without_the_engine():
    crashed = run_fake("--crash").wait(timeout=30)
    assert crashed.returncode == 1 and "simulated crash in the stand-in engine" in crashed.error
    missing = run_fake("--no-engine").wait(timeout=30)
    assert "has no Portrait Animator engine installed" in missing.error


def test_runner_cancel_stops_after_the_current_frame():
    process = run_fake("--frames", "50", "--delay", "0.05")
    while process.state.done < 3:
        process.poll()
        time.sleep(0.01)
    process.cancel()
    state = process.wait(timeout=30)
    assert state.cancelled and state.returncode == 130 and 3 <= state.done < 50
    assert state.result is None


def test_runner_kills_an_engine_that_ignores_cancel():
    process = run_fake("--frames", "400", "--delay", "0.05", "--ignore-term", cancel_grace_s=0.3)
    while process.state.done < 1:
        process.poll()
        time.sleep(0.01)
    process.cancel()
    state = process.wait(timeout=30)
    assert state.cancelled and state.returncode != 0 and state.done < 400


def test_runner_eta_uses_the_engines_estimate_then_counts_down():
    now = [100.0]
    process = EngineProcess(["unused"], clock=lambda: now[0])
    process._apply({"event": "progress", "done": 2, "total": 10, "frame": 2, "eta_s": 8.0})
    now[0] += 3.0
    assert process.eta_s == pytest.approx(5.0)
    process.state.engine_eta_s = None
    process._apply({"event": "progress", "done": 6, "total": 10, "frame": 6})
    assert process.eta_s == pytest.approx(3.0)  # 4 frames in 3 s since the first frame, 4 to go


def test_runner_missing_interpreter_is_an_addon_error(tmp_path):
    with pytest.raises(AddonError, match="cannot start the engine"):
        EngineProcess([str(tmp_path / "no-python"), "-m", "portrait_animator"]).start()


def test_doctor_report_becomes_panel_lines():
    report = doctor.parse_doctor_output(["log line", "{", ' "version": "0.1.0",', ' "devices": {"cpu": true, "cuda": false},',
                                         ' "backends": ["mediapipe", "dlib"]', "}"])
    lines = doctor.summary_lines(report)
    assert lines == ["Version: 0.1.0", "Devices: cpu=yes, cuda=no", "Backends: mediapipe, dlib"]
    with pytest.raises(ValueError):
        doctor.parse_doctor_output(["no json here"])


# ------------------------------------------------------------------------------------ face shapes
def test_blinks_close_one_eye_fully_and_leave_the_other(still_landmarks):
    shapes = face_shapes.shape_deltas(still_landmarks)
    blinked = still_landmarks + shapes[face_shapes.BLINK_L][:, :2]
    assert eye_gap(still_landmarks, 42) > 3
    assert eye_gap(blinked, 42) < 0.05 * eye_gap(still_landmarks, 42)
    assert eye_gap(blinked, 36) == pytest.approx(eye_gap(still_landmarks, 36))
    assert not shapes[face_shapes.BLINK_R][42:48].any() and shapes[face_shapes.BLINK_R][36:42].any()


def test_expression_shapes_move_the_right_features(still_landmarks):
    shapes = face_shapes.shape_deltas(still_landmarks)
    apply = {name: still_landmarks + delta[:, :2] for name, delta in shapes.items()}
    iod = face_shapes.FaceFrame.of(still_landmarks).iod
    assert mouth_gap(apply[face_shapes.JAW_OPEN]) - mouth_gap(still_landmarks) > 0.3 * iod
    assert apply[face_shapes.SMILE_L][54, 1] < still_landmarks[54, 1] - 0.08 * iod  # corner rises
    assert apply[face_shapes.SMILE_L][54, 0] > still_landmarks[54, 0]  # and moves out (image right)
    assert apply[face_shapes.SMILE_R][48, 0] < still_landmarks[48, 0] and not shapes[face_shapes.SMILE_R][54].any()
    assert (apply[face_shapes.BROWS_UP][17:27, 1] < still_landmarks[17:27, 1]).all()
    assert (apply[face_shapes.BROWS_DOWN][17:27, 1] > still_landmarks[17:27, 1]).all()
    width = lambda p: np.linalg.norm(p[48] - p[54])  # noqa: E731
    assert width(apply[face_shapes.LIPS_PUCKER]) < 0.8 * width(still_landmarks)
    assert width(apply[face_shapes.LIPS_STRETCH]) > width(still_landmarks) + 0.2 * iod
    assert (shapes[face_shapes.LIPS_PUCKER][48:68, 2] > 0).all()  # the lips push toward the camera
    depth = face_shapes.depth_profile(still_landmarks)
    assert depth[30] > depth[27] > depth[0] and depth[0] == depth[16]


def test_expression_shapes_follow_the_face_size_and_tilt(still_landmarks):
    angle = math.radians(25)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    centre = still_landmarks.mean(axis=0)
    turned = (still_landmarks - centre) @ (2.0 * rotation).T + centre
    base, moved = face_shapes.shape_deltas(still_landmarks), face_shapes.shape_deltas(turned)
    for name in face_shapes.SHAPE_NAMES:
        np.testing.assert_allclose(moved[name][:, :2], base[name][:, :2] @ (2.0 * rotation).T, atol=1e-6)
        np.testing.assert_allclose(moved[name][:, 2], 2.0 * base[name][:, 2], atol=1e-6)


# -------------------------------------------------------------------------------------- retargeting
def test_similarity_fit_recovers_a_known_move():
    rng = np.random.default_rng(3)
    points = rng.uniform(0, 100, (13, 2))
    move = retarget.Similarity(1.3, 0.4, (12.0, -7.0))
    fitted = retarget.Similarity.fit(points, move.apply(points))
    assert fitted.scale == pytest.approx(1.3) and fitted.angle == pytest.approx(0.4)
    np.testing.assert_allclose(fitted.translation, (12.0, -7.0), atol=1e-9)
    np.testing.assert_allclose(move.inverse().apply(move.apply(points)), points, atol=1e-9)
    other = retarget.Similarity(0.5, -1.0, (3.0, 4.0))
    np.testing.assert_allclose(move.then(other).apply(points), other.apply(move.apply(points)), atol=1e-9)


def test_retarget_puts_the_neutral_frame_on_the_still_and_carries_motion(still_landmarks):
    # A driver face: another person's shape (the still squashed) at another place and size.
    driver_face = retarget.Similarity(0.5, 0.2, (40.0, 60.0)).apply(still_landmarks * [1.0, 1.15])
    shapes = face_shapes.shape_deltas(driver_face)
    head_move = retarget.Similarity(1.1, -0.1, (15.0, 5.0))
    frames = np.stack([
        driver_face,
        head_move.apply(driver_face),  # head moves, no expression
        driver_face + shapes[face_shapes.JAW_OPEN][:, :2],  # mouth opens, head still
        np.full((68, 2), np.nan),  # no face
    ])
    performance = retarget.retarget(frames, np.array([1, 2, 3, 4]), still_landmarks, neutral_row=0)
    np.testing.assert_allclose(performance.landmarks[0], still_landmarks, atol=1e-6)
    assert performance.heads[0].scale == pytest.approx(1.0) and abs(performance.heads[0].angle) < 1e-9
    # a pure head move: the still's own face, moved rigidly by the same rotation and scale
    assert performance.heads[1].scale == pytest.approx(1.1) and performance.heads[1].angle == pytest.approx(-0.1)
    np.testing.assert_allclose(performance.landmarks[1], performance.heads[1].apply(still_landmarks), atol=1e-6)
    # the mouth opens by the driver's opening in the still's scale
    opened = mouth_gap(performance.landmarks[2]) - mouth_gap(still_landmarks)
    driver_opened = mouth_gap(frames[2]) - mouth_gap(frames[0])
    scale = retarget.Similarity.fit(driver_face[list(retarget.RIGID_POINTS)],
                                    still_landmarks[list(retarget.RIGID_POINTS)]).scale
    assert opened == pytest.approx(driver_opened * scale, rel=0.05)
    assert performance.heads[3] is None and np.isnan(performance.landmarks[3]).all()
    assert list(performance.valid) == [True, True, True, False]
    with pytest.raises(ValueError, match="no frame with a face"):
        retarget.retarget(frames[3:], np.array([4]), still_landmarks)


@pytest.mark.slow
def test_retarget_rests_on_a_frame_whose_head_is_not_turned(turning_driver_track):
    """As the engine (``test_motion``): `lp_d3` faces the camera most of the time; the relaxed frame picked
    by mouth, eyes and roll alone was turned 27° from its usual pose, and would turn the rig whenever the
    driver faced the camera."""
    from portrait_animator.evaluate.face_measures import head_pose

    track = turning_driver_track
    driver = np.where(track.valid[:, None, None], track.landmarks, np.nan)
    yaw = np.array([head_pose(landmarks)[0] for landmarks in track.landmarks[track.valid]])
    neutral = retarget.choose_neutral(driver)
    assert abs(head_pose(driver[neutral])[0] - np.median(yaw)) < 12.0  # free up to about 8°; 27° before


def test_retarget_rests_on_a_relaxed_frame_and_never_crosses_the_lips(still_landmarks):
    jaw = face_shapes.shape_deltas(still_landmarks)[face_shapes.JAW_OPEN][:, :2]
    talking = np.stack([still_landmarks + jaw, still_landmarks, still_landmarks + 0.5 * jaw])
    assert retarget.choose_neutral(talking) == 1  # the closed mouth, not the first frame
    performance = retarget.retarget(talking, np.array([1, 2, 3]), still_landmarks)
    np.testing.assert_allclose(performance.landmarks[1], still_landmarks, atol=1e-6)
    assert mouth_gap(performance.landmarks[0]) > mouth_gap(performance.landmarks[2]) > mouth_gap(still_landmarks)
    # Forced onto the open-mouth frame, the closed frames would push the lips through each other.
    forced = retarget.retarget(talking, np.array([1, 2, 3]), still_landmarks, neutral_row=0)
    across = still_landmarks[54] - still_landmarks[48]
    down = np.array([-across[1], across[0]]) / np.linalg.norm(across)
    for upper, lower in retarget.INNER_LIP_PAIRS:
        floor = min(0.0, float((still_landmarks[lower] - still_landmarks[upper]) @ down))
        assert ((forced.landmarks[1:, lower] - forced.landmarks[1:, upper]) @ down >= floor - 1e-4).all()


def test_an_open_mouthed_still_rests_with_its_mouth_closed_on_the_rig(still_landmarks):
    """As the engine's relative motion: the rig's mouth shuts where the driver's neutral mouth is shut, and
    opens from there with the driver, instead of holding the still's smile open all shot."""
    jaw = face_shapes.shape_deltas(still_landmarks)[face_shapes.JAW_OPEN][:, :2]
    scale = 0.25 / retarget.mouth_opening(still_landmarks + jaw)
    open_still = still_landmarks + scale * jaw
    assert 0.15 < retarget.mouth_opening(open_still) < retarget.MOUTH_REST_WIDEST
    driver_face = retarget.Similarity(0.5, 0.2, (40.0, 60.0)).apply(still_landmarks)
    driver_jaw = face_shapes.shape_deltas(driver_face)[face_shapes.JAW_OPEN][:, :2]
    frames = np.stack([driver_face, driver_face + 0.5 * scale * driver_jaw])
    performance = retarget.retarget(frames, np.array([1, 2]), open_still, neutral_row=0)
    rest, speaking = performance.landmarks
    assert retarget.mouth_opening(rest) == pytest.approx(retarget.mouth_opening(driver_face), abs=0.01)
    assert rest[8, 1] < open_still[8, 1] - 0.5 * (open_still[66, 1] - rest[66, 1])  # the chin rises
    assert retarget.mouth_opening(speaking) == pytest.approx(
        retarget.mouth_opening(still_landmarks + 0.5 * scale * jaw), abs=0.02)
    kept = retarget.retarget(frames, np.array([1, 2]), open_still, neutral_row=0, close_mouth=False)
    np.testing.assert_allclose(kept.landmarks[0], open_still, atol=1e-6)


# ----------------------------------------------------------------------------------------- geometry
def test_still_plane_projects_back_to_pixels_through_an_ortho_camera():
    plane = projection.StillPlane(640, 480)
    assert plane.size == pytest.approx((2.0, 1.5))
    # An orthographic camera at -Y looking along +Y that frames the plane: its view-projection matrix.
    half_w, half_h = plane.size[0] / 2, plane.size[1] / 2
    view = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, -4], [0, 0, 0, 1]], dtype=float)  # world -> camera
    ortho = np.diag([1 / half_w, 1 / half_h, -2 / 99.9, 1.0])
    ortho[2, 3] = -(100 + 0.1) / 99.9
    view_projection = ortho @ view
    pixels = np.array([[0.5, 0.5], [320.0, 240.0], [639.5, 10.25]])
    depth = np.array([0.0, 30.0, -12.0])
    world = plane.to_world(pixels, depth)
    np.testing.assert_allclose(projection.project(world, view_projection, 640, 480), pixels, atol=1e-9)
    z = projection.ndc_depth(world, view_projection)
    np.testing.assert_allclose(projection.unproject(pixels, z, view_projection, 640, 480), world, atol=1e-9)
    assert world[1, 1] < 0  # depth moves toward the camera at -Y
    np.testing.assert_allclose(plane.vector_to_world(np.array([[10.0, 20.0, 5.0]])),
                               [[10 * plane.units_per_pixel, -5 * plane.units_per_pixel, -20 * plane.units_per_pixel]])

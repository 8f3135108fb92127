"""Farm behaviour on this machine, with real shots: local workers and a Ray cluster started by the tests,
a worker killed mid-chunk, a whole batch killed and rerun, two chunks of one shot started at once, and the
Open Job Description template. Every frame is compared byte for byte with a single-process render."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import REPO, media_path

pytestmark = [pytest.mark.farm, pytest.mark.slow]

CLI = [sys.executable, "-m", "portrait_animator"]
BIN = Path(sys.executable).parent
TEMPLATE = REPO / "farm" / "openjd" / "portrait-animator-shot.yaml"
FRAMES = range(1, 11)
SHOTS = {  # two real driving clips and a procedural driver
    "macron": ("lia_macron.png", "dreamtalk_mead_m030_happy.mp4"),
    "pearls": ("lp_s1_photo_woman_pearls.jpg", "dreamtalk_mead_w009_neutral.mp4"),
    "jobs": ("avatarify_jobs.jpg", "preset:talk"),
}
CHUNK_TASK_TITLE = "ray::portrait-animator-chunk"


def write_jobs(folder: Path, names=tuple(SHOTS), previews=()) -> dict[str, Path]:
    """One job file per shot, writing to ``folder/out/<name>/shot.####.exr`` (and ``<name>.mp4`` for
    ``previews``)."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs = {}
    for name in names:
        still, driver = SHOTS[name]
        driver = driver if driver.startswith("preset:") else str(media_path("driving", driver))
        output = {"pattern": f"out/{name}/shot.####.exr"}
        if name in previews:
            output["preview"] = f"out/{name}.mp4"
        jobs[name] = folder / f"{name}.json"
        jobs[name].write_text(json.dumps({
            "format": "portrait-animator/job", "version": 1, "name": name,
            "sources": [str(media_path("stills", still))], "driver": driver, "frames": "1-10", "crop_size": 256,
            "output": output}))
    return jobs


def movie_frames(path: Path) -> int:
    import av

    with av.open(str(path)) as movie:
        return sum(1 for _ in movie.decode(video=0))


def frame_path(folder: Path, name: str, number: int) -> Path:
    return folder / "out" / name / f"shot.{number:04d}.exr"


def frames_on_disk(folder: Path, names=tuple(SHOTS)) -> dict[Path, os.stat_result]:
    found = {}
    for name in names:
        for number in FRAMES:
            path = frame_path(folder, name, number)
            if path.exists():
                found[path] = path.stat()
    return found


def assert_frames_match(folder: Path, references: dict, names=tuple(SHOTS)) -> None:
    """Every frame present, byte-identical to the single-process render; nothing else, no partial file."""
    for name in names:
        shot_dir = folder / "out" / name
        assert sorted(p.name for p in shot_dir.glob("shot.*.exr")) == [f"shot.{n:04d}.exr" for n in FRAMES]
        for number in FRAMES:
            assert frame_path(folder, name, number).read_bytes() == references[name][number], (name, number)
        assert not [p.name for p in shot_dir.iterdir() if p.name.endswith(".partial")]


class EventLines:
    """JSON lines of a batch's stdout, read on a thread so the test can poll without blocking."""

    def __init__(self, stream):
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            if line.startswith("{"):
                self.lines.put(json.loads(line))

    def drain(self) -> list[dict]:
        events = []
        while not self.lines.empty():
            events.append(self.lines.get())
        return events


def start_batch(jobs: dict, *options: str) -> subprocess.Popen:
    return subprocess.Popen([*CLI, "batch", *map(str, jobs.values()), "--chunk-size", "5", *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def finish(process: subprocess.Popen, timeout: float = 240) -> tuple[int, str]:
    """Wait for a process whose stdout a reader thread may own; return (exit code, stderr)."""
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    return process.returncode, process.stderr.read()


@pytest.fixture(scope="module")
def references(tmp_path_factory) -> dict[str, dict[int, bytes]]:
    """Each shot rendered once in this process, the plain single-render way, with its own caches."""
    from portrait_animator.config import RenderJob
    from portrait_animator.pipeline import AnimatePipeline

    folder = tmp_path_factory.mktemp("reference")
    rendered = {}
    for name, job_path in write_jobs(folder).items():
        result = AnimatePipeline(RenderJob.load(str(job_path))).run()
        assert result.written == list(FRAMES)
        rendered[name] = {n: frame_path(folder, name, n).read_bytes() for n in FRAMES}
    return rendered


# --------------------------------------------------------------------------------------- local workers
def test_local_batch_survives_a_worker_killed_mid_chunk(tmp_path, references):
    jobs = write_jobs(tmp_path)
    report_path = tmp_path / "report.json"
    process = start_batch(jobs, "--workers", "local:2", "--report", str(report_path), "--progress", "json")
    events = EventLines(process.stdout)
    running: dict[int, tuple[str, int, int]] = {}
    killed = after_kill = None
    deadline = time.monotonic() + 240
    while killed is None and process.poll() is None and time.monotonic() < deadline:
        for event in events.drain():
            if event["event"] == "chunk-start":
                first, last = map(int, event["frames"].split("-"))
                running[event["pid"]] = (event["name"], first, last)
        for pid, (name, first, last) in list(running.items()):
            # Mid-chunk: its first frame is on disk, its last is not.
            if frame_path(tmp_path, name, first).exists() and not frame_path(tmp_path, name, last).exists():
                os.kill(pid, signal.SIGKILL)
                killed = pid
                after_kill = frames_on_disk(tmp_path)
                break
        time.sleep(0.005)
    code, stderr = finish(process)
    assert killed is not None, "no chunk was caught mid-way to kill its worker"
    assert code == 0, stderr

    report = json.loads(report_path.read_text())
    assert report["status"] == "ok" and report["totals"]["missing"] == 0
    assert report["totals"]["written"] == 30  # every frame counted once, including the killed attempt's
    retried = [chunk for chunk in report["chunks"] if chunk["retries"]]
    assert len(retried) == 1 and report["totals"]["retries"] == 1
    chunk = retried[0]
    assert chunk["retries"][0]["pid"] == killed and "SIGKILL" in chunk["retries"][0]["reason"]
    assert chunk["status"] == "ok" and chunk["attempts"] == 2 and not chunk["worker"].endswith(f":{killed}")
    shot = report["shots"][chunk["shot"]]["name"]
    before = {int(p.name.split(".")[1]) for p in after_kill if p.parent.name == shot}
    first, last = map(int, chunk["frames"].split("-"))
    assert before & set(range(first, last + 1)) <= set(chunk["skipped"])  # not rendered twice
    assert_frames_match(tmp_path, references)
    assert {p: (s.st_ino, s.st_mtime_ns) for p, s in after_kill.items()} == {
        p: (s.st_ino, s.st_mtime_ns) for p, s in frames_on_disk(tmp_path).items() if p in after_kill}


def test_killed_batch_resumes_with_only_the_missing_frames(tmp_path, references):
    from portrait_animator.batch.local import LocalExecutor
    from portrait_animator.batch.plan import plan_batch
    from portrait_animator.batch.runner import BatchRunner

    jobs = write_jobs(tmp_path, previews=["jobs"])
    preview = tmp_path / "out" / "jobs.mp4"
    process = start_batch(jobs, "--workers", "local:2", "--progress", "none")
    deadline = time.monotonic() + 240
    while len(frames_on_disk(tmp_path)) < 4 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)  # the batch and its workers, mid-frame or not
    process.wait()
    before = frames_on_disk(tmp_path)
    assert 4 <= len(before) < 30, "the batch was not caught half-way"
    assert not preview.exists()  # chunks never write the shot's preview; its frames are not all there yet

    report = BatchRunner(plan_batch([str(p) for p in jobs.values()], chunk_size=5), LocalExecutor(2)).run()
    assert report["status"] == "ok"
    rendered = [n for chunk in report["chunks"] for n in chunk["written"]]
    assert len(rendered) == 30 - len(before)  # counted from the chunks' own lists
    movie_tasks = [c for c in report["chunks"] if c["preview"]]
    assert [(c["frames"], c["status"], c["written"]) for c in movie_tasks] == [("1-10", "ok", [])]
    assert movie_frames(preview) == 10 and report["shots"][2]["status"] == "ok"
    assert (report["totals"]["written"], report["totals"]["skipped"]) == (30 - len(before), len(before))
    finished_chunks = [c for c in report["chunks"] if c["status"] == "finished-before"]
    assert all(not c["written"] for c in finished_chunks)
    after = frames_on_disk(tmp_path)
    assert all((after[p].st_ino, after[p].st_mtime_ns) == (s.st_ino, s.st_mtime_ns) for p, s in before.items())
    assert_frames_match(tmp_path, references)

    # A finished batch renders nothing and starts no worker.
    plan = plan_batch([str(p) for p in jobs.values()], chunk_size=5)
    assert plan.chunks == [] and len(plan.finished_chunks) == 6
    movie_written = preview.stat().st_mtime_ns
    again = BatchRunner(plan, LocalExecutor(2)).run()
    assert again["totals"]["written"] == 0 and again["totals"]["chunks_run"] == 0
    assert preview.stat().st_mtime_ns == movie_written  # nothing changed, so the movie is not redone
    assert again["worker_startup_s"] == [] and again["status"] == "ok"
    assert {p: s.st_mtime_ns for p, s in frames_on_disk(tmp_path).items()} == {
        p: s.st_mtime_ns for p, s in after.items()}


def test_cancel_stops_after_the_frames_in_flight_and_keeps_them(tmp_path, references):
    from portrait_animator.batch.local import LocalExecutor
    from portrait_animator.batch.plan import plan_batch
    from portrait_animator.batch.runner import BatchRunner

    names = ["jobs", "macron"]
    jobs = write_jobs(tmp_path, names)
    executor = LocalExecutor(2)
    runner = BatchRunner(plan_batch([str(p) for p in jobs.values()], chunk_size=5), executor)
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(report=runner.run()))
    thread.start()
    deadline = time.monotonic() + 120
    while len(frames_on_disk(tmp_path, names)) < 2 and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    runner.cancel()  # what SIGINT/SIGTERM to `portrait-animator batch` does
    thread.join(timeout=120)
    report = outcome["report"]
    assert report["status"] == "cancelled" and report["totals"]["missing"] > 0
    assert {c["status"] for c in report["chunks"]} <= {"ok", "cancelled", "not-run"}
    assert "cancelled" in {c["status"] for c in report["chunks"]}
    assert executor.pids == []  # every worker exited
    kept = frames_on_disk(tmp_path, names)
    assert len(kept) == report["totals"]["written"] >= 2
    for path in kept:  # whatever was kept is whole and right
        assert path.read_bytes() == references[path.parent.name][int(path.name.split(".")[1])]
    assert not [p for name in names for p in (tmp_path / "out" / name).iterdir() if p.name.endswith(".partial")]


# ------------------------------------------------------------------------------ render-job chunks at once
def test_two_chunks_started_at_once_compute_the_shared_caches_once(tmp_path, references):
    job = write_jobs(tmp_path, ["macron"])["macron"]
    cache = tmp_path / "out" / "macron" / ".portrait-animator-cache"
    seen: dict[str, set] = {}
    writers: dict[str, set] = {}
    stop = threading.Event()

    def watch():  # every cache file's inode, and which process wrote each temporary file
        while not stop.is_set():
            try:
                names = os.listdir(cache)
            except FileNotFoundError:
                names = []
            for name in names:
                if temp := re.match(r"(.+\.npz)\.tmp-(\d+)\.npz$", name):
                    writers.setdefault(temp[1], set()).add(temp[2])
                elif name.endswith(".npz"):
                    try:
                        seen.setdefault(name, set()).add(os.stat(cache / name).st_ino)
                    except FileNotFoundError:
                        pass
            time.sleep(0.002)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    chunks = [subprocess.Popen([*CLI, "-v", "render-job", str(job), "--frames", frames, "--progress", "none"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for frames in ("1-5", "6-10")]
    outputs = [chunk.communicate(timeout=240) for chunk in chunks]
    stop.set()
    watcher.join()
    assert [chunk.returncode for chunk in chunks] == [0, 0], [err for _, err in outputs]

    computed = [line.rsplit("/", 1)[1] for _, err in outputs for line in err.splitlines()
                if "cache: computed" in line]
    cache_files = sorted(p.name for p in cache.glob("*.npz"))
    assert len(cache_files) == 2 and cache_files[0].startswith("driver-") and cache_files[1].startswith("still-")
    assert sorted(computed) == cache_files  # each written by exactly one of the two processes
    assert all(len(inodes) == 1 for inodes in seen.values()) and set(seen) == set(cache_files)
    assert all(len(pids) == 1 for pids in writers.values())
    assert sorted(p.name for p in cache.iterdir() if ".tmp-" in p.name) == []
    assert_frames_match(tmp_path, references, ["macron"])


# ---------------------------------------------------------------------------------------------- OpenJD
def test_openjd_template_checks_renders_one_chunk_then_finishes_the_shot(tmp_path, references):
    openjd = BIN / "openjd"
    if not openjd.exists():
        pytest.skip("openjd-cli is not installed (pip install '.[farm]')")
    check = subprocess.run([openjd, "check", TEMPLATE], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0 and "passes validation" in check.stdout, check.stdout + check.stderr

    job = write_jobs(tmp_path, ["jobs"], previews=["jobs"])["jobs"]
    preview = tmp_path / "out" / "jobs.mp4"
    common = [openjd, "run", TEMPLATE, "-p", f"JobFile={job}", "-p", "Frames=1-10", "-p", "ChunkSize=5",
              "-p", f"Executable={BIN / 'portrait-animator'}"]
    run = subprocess.run([*common, "--step", "Render", "--task-param", "Frames=6-10"], capture_output=True,
                         text=True, timeout=240)
    assert run.returncode == 0 and "Session ended successfully" in run.stdout, run.stdout[-3000:] + run.stderr
    out = tmp_path / "out" / "jobs"
    assert sorted(p.name for p in out.glob("shot.*.exr")) == [f"shot.{n:04d}.exr" for n in range(6, 11)]
    assert not preview.exists()  # one chunk is not the shot
    chunk_frames = frames_on_disk(tmp_path, ["jobs"])

    finish_step = subprocess.run([*common, "--step", "Finish"], capture_output=True, text=True, timeout=240)
    assert finish_step.returncode == 0, finish_step.stdout[-3000:] + finish_step.stderr
    assert_frames_match(tmp_path, references, ["jobs"])  # it rendered the chunk nobody ran, 1-5
    assert all(frames_on_disk(tmp_path, ["jobs"])[p].st_ino == s.st_ino for p, s in chunk_frames.items())
    assert movie_frames(preview) == 10


# ------------------------------------------------------------------------------------------------- Ray
def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.fixture(scope="module")
def ray_cluster():
    """A one-node Ray cluster on 127.0.0.1 with its own temp folder and ports, stopped by killing its processes
    (never ``ray stop``, which would stop every Ray instance of this user on the machine)."""
    if not (BIN / "ray").exists():
        pytest.skip("ray is not installed (pip install '.[farm]')")
    gcs, client, agent, agent_grpc, runtime_env, metrics = _free_ports(6)
    temp = tempfile.mkdtemp(prefix="pa-ray-")  # short: Ray's socket paths must stay under 108 bytes
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
    head = subprocess.Popen(
        [BIN / "ray", "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(gcs),
         "--num-cpus", "2", "--num-gpus", "0", "--include-dashboard", "false", "--disable-usage-stats",
         "--object-store-memory", str(100 * 1024 * 1024), "--temp-dir", temp,
         "--ray-client-server-port", str(client), "--dashboard-agent-listen-port", str(agent),
         "--dashboard-agent-grpc-port", str(agent_grpc), "--runtime-env-agent-port", str(runtime_env),
         "--metrics-export-port", str(metrics)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
    started = queue.Queue()

    def read():
        for line in head.stdout:
            if "Ray runtime started" in line:
                started.put(True)
        started.put(False)

    threading.Thread(target=read, daemon=True).start()
    try:
        assert started.get(timeout=120), "ray start --head failed"
        yield {"address": f"127.0.0.1:{gcs}", "client": f"ray://127.0.0.1:{client}", "head": head.pid, "env": env,
               "logs": Path(temp) / "session_latest" / "logs"}
    finally:
        processes = _descendants(head.pid)
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for pid in processes:  # Ray drains for up to 30 s on SIGTERM; nothing here needs that
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        head.kill()
        head.wait()
        shutil.rmtree(temp, ignore_errors=True)


def _descendants(root: int) -> list[int]:
    """Every process below ``root`` (Ray's workers lead their own process groups, so a group kill misses them)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _client_server_logs(folder: Path) -> str:
    """The tail of each Ray Client server log of the cluster, for a failure message."""
    tails = [f"\n--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-30:])
             for log in sorted(folder.glob("ray_client_server*"))]
    return "".join(tails) or f"\n(no Ray Client server logs in {folder})"


def _chunk_task_pids(head: int) -> list[int]:
    """Workers of this test's cluster running a chunk right now (Ray titles them by task name)."""
    pids = []
    for pid in _descendants(head):
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
        except OSError:
            continue
        if title.startswith(CHUNK_TASK_TITLE):
            pids.append(pid)
    return pids


def test_ray_batch_retries_a_killed_worker_and_reports_a_shot_without_a_face(tmp_path, references, ray_cluster):
    import cv2
    import numpy as np

    jobs = write_jobs(tmp_path)
    wall = tmp_path / "wall.png"
    cv2.imwrite(str(wall), np.full((320, 320, 3), 128, np.uint8))
    jobs["wall"] = tmp_path / "wall.json"
    jobs["wall"].write_text(json.dumps({"format": "portrait-animator/job", "version": 1, "name": "wall",
                                        "sources": [str(wall)], "driver": "preset:talk", "frames": "1-10",
                                        "crop_size": 256, "output": {"pattern": "out/wall/shot.####.exr"}}))
    report_path = tmp_path / "report.json"
    process = subprocess.Popen([*CLI, "batch", *map(str, jobs.values()), "--chunk-size", "5", "--workers",
                                f"ray:{ray_cluster['address']}", "--report", str(report_path), "--progress", "none"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ray_cluster["env"],
                               start_new_session=True)
    killed = None
    deadline = time.monotonic() + 240
    while killed is None and process.poll() is None and time.monotonic() < deadline:
        busy = _chunk_task_pids(ray_cluster["head"])
        if busy and frames_on_disk(tmp_path):  # rendering is under way: kill a worker in the middle of a chunk
            os.kill(busy[0], signal.SIGKILL)
            killed = busy[0]
        time.sleep(0.01)
    code, stderr = finish(process)
    assert killed is not None, "no Ray worker was caught running a chunk"
    assert code == 2, stderr  # a shot failed for a user error; the others finished

    report = json.loads(report_path.read_text())
    shots = {shot["name"]: shot for shot in report["shots"]}
    assert shots["wall"]["status"] == "failed" and shots["wall"]["error_kind"] == "NoFaceError"
    assert str(wall) in shots["wall"]["error"]
    assert all(shots[name]["status"] == "ok" and not shots[name]["missing"] for name in SHOTS)
    assert report["totals"]["written"] == 30
    assert not any(chunk["worker"] and chunk["worker"].endswith(f":{killed}") for chunk in report["chunks"])
    assert not (tmp_path / "out" / "wall").exists() or not list((tmp_path / "out" / "wall").glob("shot.*"))
    assert_frames_match(tmp_path, references)


def test_ray_client_address_renders_a_shot(tmp_path, references, ray_cluster):
    """The ray:// form studios use from a workstation (Ray Client), here on loopback."""
    jobs = write_jobs(tmp_path, ["jobs"])
    report_path = tmp_path / "report.json"
    process = subprocess.Popen([*CLI, "batch", str(jobs["jobs"]), "--chunk-size", "5", "--workers",
                                ray_cluster["client"], "--report", str(report_path), "--progress", "none"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ray_cluster["env"],
                               start_new_session=True)
    code, stderr = finish(process)
    assert code == 0, stderr + _client_server_logs(ray_cluster["logs"])
    report = json.loads(report_path.read_text())
    assert report["workers"] == ray_cluster["client"] and report["totals"]["written"] == 10
    assert_frames_match(tmp_path, references, ["jobs"])

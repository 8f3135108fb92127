"""Batch planning, worker specs, chunk results and the report: the parts that need no worker processes."""

import dataclasses
import json
import os
import socket

import numpy as np
import pytest

from portrait_animator.batch.chunk_task import ChunkResult, ChunkTask, render_chunk
from portrait_animator.batch.local import LocalExecutor
from portrait_animator.batch.plan import Shot, plan_batch, split_frames
from portrait_animator.batch.ray_cluster import RayExecutor
from portrait_animator.batch.report import (ChunkRecord, build_report, format_summary, shot_summary,
                                            write_report)
from portrait_animator.batch.runner import BatchRunner
from portrait_animator.batch.workers import create_executor
from portrait_animator.config import RenderJob
from portrait_animator.errors import JobFieldError
from portrait_animator.io.frames import FrameWriter
from portrait_animator.resume import planned_record


def write_job(path, **fields):
    data = {"format": "portrait-animator/job", "version": 1, "sources": ["still.png"], "driver": "preset:talk",
            "output": {"pattern": "out/shot.####.png"}, "crop_size": 256, **fields}
    path.write_text(json.dumps(data))
    return str(path)


def finish_frames(job_path, numbers, **changes):
    """Write small frames as the job's render would label them (``changes``: as another job's would)."""
    job = dataclasses.replace(RenderJob.load(job_path), **changes)
    for still in job.sources:
        if not os.path.exists(still):
            with open(still, "wb") as handle:
                handle.write(b"the still's bytes")
    writer = FrameWriter(job.output.pattern, provenance=planned_record(job)[0])
    for n in numbers:
        writer.write(n, np.zeros((4, 4, 3), np.float32), np.zeros((4, 4), np.float32))


def test_split_frames_makes_contiguous_chunks_and_breaks_at_gaps():
    shot = Shot(0, "a.json", "a", frames=[*range(1, 11), 15, 16, 17])
    chunks = split_frames(shot, 4)
    assert [(c.first, c.last, c.count) for c in chunks] == [(1, 4, 4), (5, 8, 4), (9, 10, 2), (15, 17, 3)]
    assert [c.index for c in chunks] == [0, 1, 2, 3] and chunks[2].frames_text == "9-10"


def test_plan_leaves_out_finished_chunks_and_interleaves_shots(tmp_path):
    a = write_job(tmp_path / "a.json", frames="1-10", output={"pattern": "a/shot.####.png"})
    b = write_job(tmp_path / "b.json", frames="3-8", output={"pattern": "b/shot.####.png"})
    finish_frames(a, [1, 2, 3, 4, 6, 40])  # 1-4 finished; 6 alone does not finish chunk 5-8
    (tmp_path / "a" / "shot.0005.png.partial").write_bytes(b"")  # not a frame name
    plan = plan_batch([a, b], chunk_size=4)
    first, second = plan.shots
    assert first.frames == list(range(1, 11)) and second.frames == list(range(3, 9))
    assert first.finished_before == {1, 2, 3, 4, 6}
    assert [(c.shot, c.frames_text) for c in plan.finished_chunks] == [(0, "1-4")]
    assert [(c.shot, c.frames_text) for c in plan.chunks] == [(0, "5-8"), (1, "3-6"), (0, "9-10"), (1, "7-8")]
    assert plan.total_frames == 16

    overwrite = write_job(tmp_path / "c.json", frames="1-10", output={"pattern": "a/shot.####.png",
                                                                       "overwrite": True})
    replanned = plan_batch([overwrite], chunk_size=5)
    assert replanned.finished_chunks == [] and [c.frames_text for c in replanned.chunks] == ["1-5", "6-10"]


def test_plan_reports_bad_jobs_and_keeps_the_others(tmp_path):
    good = write_job(tmp_path / "good.json", frames="1-6")
    bad_field = write_job(tmp_path / "bad.json", renderer="magic")
    no_driver = write_job(tmp_path / "lost.json", driver="clips/missing.mp4", output={"pattern": "l/s.####.png"})
    same_output = write_job(tmp_path / "twin.json", frames="1-6")
    outside = write_job(tmp_path / "late.json", frames="200-", output={"pattern": "late/s.####.png"})
    missing_file = str(tmp_path / "nope.json")
    plan = plan_batch([good, bad_field, no_driver, same_output, outside, missing_file], chunk_size=10)
    errors = {shot.name: (shot.error_kind, shot.error) for shot in plan.shots}
    assert errors["good"] == (None, None)
    assert errors["bad"][0] == "JobFieldError" and "'renderer'" in errors["bad"][1]
    assert errors["lost"][0] == "UnreadableFileError" and "missing.mp4" in errors["lost"][1]
    assert errors["twin"][0] == "JobFieldError" and good in errors["twin"][1]  # names the job it collides with
    assert errors["late"][0] == "JobFieldError" and "'frames'" in errors["late"][1] and "1-125" in errors["late"][1]
    assert errors["nope"][0] == "UnreadableFileError" and "nope.json" in errors["nope"][1]
    assert [(c.shot, c.frames_text) for c in plan.chunks] == [(0, "1-6")]  # failed shots get no chunks


def test_a_shot_whose_finished_frames_were_rendered_differently_fails_and_the_others_go_on(tmp_path):
    changed = write_job(tmp_path / "a.json", frames="1-8", output={"pattern": "a/shot.####.png"})
    finish_frames(changed, [1, 2, 3, 4], crop_size=512)  # rendered before the job's crop size changed
    other = write_job(tmp_path / "b.json", frames="1-4", output={"pattern": "b/shot.####.png"})
    plan = plan_batch([changed, other], chunk_size=4)
    failed, fine = plan.shots
    assert failed.error_kind == "OutputError" and "shot.0001.png" in failed.error
    assert "crop_size: 512 -> 256" in failed.error
    assert fine.error is None and [(c.shot, c.frames_text) for c in plan.chunks] == [(1, "1-4")]
    assert plan.finished_chunks == []  # the changed shot's finished frames are not counted as done

    unchanged = write_job(tmp_path / "c.json", frames="1-4", output={"pattern": "c/shot.####.png"})
    finish_frames(unchanged, [1, 2, 3, 4])
    assert plan_batch([unchanged], chunk_size=4).shots[0].error is None
    (tmp_path / "still.png").write_bytes(b"another still")  # replaced after the frames were rendered
    replanned = plan_batch([unchanged], chunk_size=4).shots[0]
    assert replanned.error_kind == "OutputError" and "source: other file contents" in replanned.error


def test_preset_shot_length_follows_the_job_not_the_chunk(tmp_path):
    """A preset is as long as the job's last frame (or its default 125 frames), whatever chunk is asked for."""
    open_ended = plan_batch([write_job(tmp_path / "a.json")], chunk_size=50)
    assert open_ended.shots[0].frames == list(range(1, 126))
    assert [c.frames_text for c in open_ended.chunks] == ["1-50", "51-100", "101-125"]


def test_chunk_size_must_be_positive(tmp_path):
    with pytest.raises(JobFieldError, match="--chunk-size"):
        plan_batch([write_job(tmp_path / "a.json")], chunk_size=0)


def test_worker_specs():
    local = create_executor("local:3", retries=1)
    assert isinstance(local, LocalExecutor) and local.capacity == 3 and local.name == "local:3"
    assert isinstance(create_executor("local", retries=1), LocalExecutor)
    forms = {"ray://head.studio:10001": "ray://head.studio:10001", "ray:auto": "auto",
             "ray:10.0.0.5:6379": "10.0.0.5:6379", "ray:local": None, "ray:local:4": None}
    for spec, address in forms.items():
        executor = create_executor(spec, retries=2, gpus_per_chunk=0.25)
        assert isinstance(executor, RayExecutor) and executor.address == address and executor.retries == 2
    assert create_executor("ray:local:4", retries=0).local_cpus == 4
    for bad in ("local:0", "local:two", "ray:", "ray://", "ray:nohost", "slurm:4", "ray:local:0"):
        with pytest.raises(JobFieldError, match="--workers"):
            create_executor(bad, retries=1)


def test_an_unreachable_ray_cluster_is_a_clear_user_error():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(JobFieldError, match=f"--workers.*no Ray cluster answers at 127.0.0.1:{port}"):
        RayExecutor(f"127.0.0.1:{port}").start()


def test_ray_client_connects_again_when_the_cluster_fails_to_start_its_server(monkeypatch):
    """Ray Client's proxy starts a server process per client; when that start fails on a loaded head node the
    connection is tried again, and after the last attempt the error names the server's own exception."""
    import ray

    from portrait_animator.batch import ray_cluster

    failure = ("Initialization failure from server:\nTraceback (most recent call last):\n  File \"proxier.py\", "
               "line 765, in Datapath\nRuntimeError: Starting Ray client server failed.")
    attempts = []

    def init(address, **options):
        attempts.append(address)
        if len(attempts) < fail_times:
            raise ConnectionAbortedError(failure)

    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray_cluster, "CLIENT_RETRY_WAIT_S", 0.0)
    fail_times = 3  # two failures, then the cluster answers
    RayExecutor("ray://127.0.0.1:10001")._connect(ray, {})
    assert attempts == ["ray://127.0.0.1:10001"] * 3

    with socket.socket() as server:  # something answers at the address, so start() reaches ray.init
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = f"ray://127.0.0.1:{server.getsockname()[1]}"
        attempts.clear()
        fail_times = 99
        with pytest.raises(JobFieldError, match="Initialization failure from server.*Starting Ray client server "
                                                "failed"):
            RayExecutor(address).start()
        assert len(attempts) == ray_cluster.CLIENT_CONNECT_ATTEMPTS
        attempts.clear()
        with pytest.raises(JobFieldError, match="Initialization failure"):  # not Ray Client: tried once
            RayExecutor(address.removeprefix("ray://")).start()
        assert len(attempts) == 1


def test_ray_chunks_ask_for_a_gpu_only_where_the_job_uses_one():
    executor = RayExecutor("auto", gpus_per_chunk=0.5)
    assert executor.gpus_for("cuda") == 0.5 and executor.gpus_for("cpu") == 0.0
    assert executor.gpus_for("auto") == 0.0  # a cluster without GPUs
    executor._cluster_gpus = 4.0
    assert executor.gpus_for("auto") == 0.5 and executor.gpus_for("cpu") == 0.0


def test_shot_summary_counts_a_killed_attempts_frames_once():
    """Chunk 5-8's first worker was killed after frames 5 and 6; the retry skipped them and wrote 7, 8."""
    shot = Shot(0, "/jobs/a.json", "a", frames=list(range(1, 9)), finished_before={1, 2})
    records = [ChunkRecord(0, 0, "1-4", "ok", written=[3, 4], skipped=[1, 2], attempts=1),
               ChunkRecord(0, 1, "5-8", "ok", written=[7, 8], skipped=[5, 6], attempts=2,
                           retries=[{"pid": 11, "reason": "was killed by SIGKILL"}])]
    for on_disk in (set(range(1, 9)), set()):  # the same whether or not this machine sees the output folder
        summary = shot_summary(shot, records, on_disk)
        assert (summary.status, summary.written, summary.skipped, summary.missing) == ("ok", 6, 2, [])
    crashed = [records[0], ChunkRecord(0, 1, "5-8", "failed", error_kind="WorkerDied", error="worker 9 was killed")]
    summary = shot_summary(shot, crashed, {1, 2, 3, 4, 5})
    assert (summary.status, summary.written, summary.missing) == ("incomplete", 3, [6, 7, 8])
    assert summary.error == "worker 9 was killed"
    user_error = [ChunkRecord(0, 0, "1-4", "error", error_kind="NoFaceError", error="a.png: no face")]
    assert shot_summary(shot, user_error, set()).status == "failed"


def test_report_is_written_atomically_and_reads_back(tmp_path):
    a = write_job(tmp_path / "a.json", frames="1-4", output={"pattern": "a/shot.####.png"})
    bad = write_job(tmp_path / "b.json", renderer="magic")
    plan = plan_batch([a, bad], chunk_size=4)
    records = [ChunkRecord(0, 0, "1-4", "ok", written=[1, 2, 3, 4], attempts=1)]
    summaries = [shot_summary(plan.shots[0], records, set()), shot_summary(plan.shots[1], [], set())]
    report = build_report(plan, "local:2", records, summaries, started_at=0.0, seconds=2.0, cancelled=False,
                          worker_startup_s=[1.25])
    path = tmp_path / "reports" / "batch.json"
    write_report(str(path), report)
    assert [p.name for p in path.parent.iterdir()] == ["batch.json"]  # no partial file left beside it
    loaded = json.loads(path.read_text())
    assert loaded["format"] == "portrait-animator/batch-report" and loaded["status"] == "failed"
    assert loaded["totals"] == {"shots": 2, "shots_ok": 1, "shots_failed": 1, "shots_incomplete": 0, "frames": 4,
                                "written": 4, "skipped": 0, "missing": 0, "chunks": 1, "chunks_run": 1,
                                "retries": 0}
    assert loaded["frames_per_second"] == 2.0 and loaded["worker_startup_s"] == [1.25]
    table = format_summary(loaded)
    assert "a  " in table and "'renderer'" in table and "1/2 shots ok; 4 frames written" in table


def test_workers_that_cannot_start_fail_the_chunks_instead_of_restarting_forever(tmp_path, monkeypatch):
    monkeypatch.setattr("sys.executable", "/bin/false")  # every worker process exits 1 before it is ready
    plan = plan_batch([write_job(tmp_path / "a.json", frames="1-4")], chunk_size=2)
    report = BatchRunner(plan, LocalExecutor(1), poll_s=0.05).run()
    assert report["status"] == "failed" and [c["status"] for c in report["chunks"]] == ["failed", "failed"]
    assert "3 worker processes exited before they were ready (last: exited with code 1)" in report["chunks"][0]["error"]
    assert report["shots"][0]["status"] == "incomplete" and report["shots"][0]["missing"] == [1, 2, 3, 4]


@pytest.mark.slow
def test_a_user_error_is_a_result_not_an_exception(tmp_path):
    """No face in the still: the chunk reports NoFaceError (so Ray would not retry it) and writes nothing."""
    import cv2

    still = tmp_path / "wall.png"
    cv2.imwrite(str(still), np.full((320, 320, 3), 128, np.uint8))
    job = RenderJob.load(write_job(tmp_path / "wall.json", sources=[str(still)], frames="1-4"))
    task = ChunkTask(0, 0, str(tmp_path / "wall.json"), job.to_dict(), 1, 4)
    result = render_chunk(task)
    assert isinstance(result, ChunkResult) and result.status == "error"
    assert result.error_kind == "NoFaceError" and "wall.png" in result.error
    assert result.written == [] and not list((tmp_path / "out").glob("shot.*.png"))


def test_the_plan_checks_a_frame_drivers_digest_as_the_render_recorded_it(tmp_path, media):
    """Frames rendered from a folder of driver frames and from a single image are taken as done by the plan
    (a single image's digest is its frame list's, not the file's); a folder whose frame was replaced since
    fails that shot, naming the driver."""
    import cv2

    from portrait_animator.pipeline import AnimatePipeline

    still = str(media("stills", "lia_macron.png"))
    folder = tmp_path / "driver"
    folder.mkdir()
    capture = cv2.VideoCapture(str(media("driving", "lp_d14.mp4")))
    for number in range(1, 4):
        ok, frame = capture.read()
        assert ok
        cv2.imwrite(str(folder / f"d.{number:04d}.png"), frame)
    capture.release()
    single = str(media("stills", "hallo_6_photo_woman.jpg"))
    jobs = []
    for name, driver in (("folder", str(folder)), ("single", single)):
        job_path = write_job(tmp_path / f"{name}.json", sources=[still], driver=driver,
                             output={"pattern": f"{name}/shot.####.png"})
        AnimatePipeline(RenderJob.load(job_path)).run()
        jobs.append(job_path)
    plan = plan_batch(jobs, chunk_size=2)
    assert [shot.error for shot in plan.shots] == [None, None]
    assert plan.chunks == []
    assert [(c.shot, c.frames_text) for c in plan.finished_chunks] == [(0, "1-2"), (0, "3-3"), (1, "1-1")]
    capture = cv2.VideoCapture(str(media("driving", "lp_d14.mp4")))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 30)
    cv2.imwrite(str(folder / "d.0002.png"), capture.read()[1])  # the driver's frame 2 replaced
    replanned = plan_batch(jobs, chunk_size=2)
    failed = replanned.shots[0]
    assert failed.error_kind == "OutputError" and "driver: other file contents" in failed.error
    assert replanned.shots[1].error is None

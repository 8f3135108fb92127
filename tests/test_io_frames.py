"""Writing frames: what compositors read back (channels, colour, alpha), metadata, atomicity, failures."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest
import tifffile
from PIL import Image

from portrait_animator.errors import OutputError
from portrait_animator.io import frames as frames_module
from portrait_animator.io.colour import srgb_to_linear
from portrait_animator.io.frames import FrameWriter, check_output_writable
from portrait_animator.io.metadata import read_frame_metadata
from portrait_animator.io.provenance import SYNTHETIC_STATEMENT, build_provenance, file_sha256

H, W = 24, 32
RNG = np.random.default_rng(3)


@pytest.fixture(scope="module")
def frame():
    rgb = RNG.random((H, W, 3), dtype=np.float32)
    matte = RNG.random((H, W), dtype=np.float32)
    alpha = np.clip(RNG.random((H, W), dtype=np.float32), 0.1, 1.0)
    return rgb, matte, alpha


@pytest.fixture
def provenance(tmp_path):
    still = tmp_path / "inputs" / "still.png"
    driver = tmp_path / "inputs" / "driver.mp4"
    still.parent.mkdir()
    still.write_bytes(b"still bytes")
    driver.write_bytes(b"driver bytes")
    return build_provenance("warp", None, [still], driver)


def _read_raw(path, unassociated=True):
    config = oiio.ImageSpec()
    if unassociated:
        config.attribute("oiio:UnassociatedAlpha", 1)
    image = oiio.ImageInput.open(str(path), config)
    assert image is not None, oiio.geterror()
    spec = image.spec()
    pixels = image.read_image(0, 0, 0, spec.nchannels, spec.format)
    image.close()
    return spec, np.asarray(pixels).reshape(spec.height, spec.width, spec.nchannels)


def _listing(folder):
    return sorted(os.listdir(folder))


# ------------------------------------------------------------------------------------------ EXR
@pytest.mark.parametrize("compression", ["zip", "piz", "dwaa", "none"])
def test_exr_is_linear_premultiplied_half_with_matte_channel(tmp_path, frame, provenance, compression):
    rgb, matte, alpha = frame
    writer = FrameWriter(str(tmp_path / "out" / "shot.####.exr"), exr_compression=compression,
                         provenance=provenance)
    path = writer.write(7, rgb, matte, alpha)
    assert path == str(tmp_path / "out" / "shot.0007.exr")
    assert _listing(tmp_path / "out") == ["shot.0007.exr"]  # no matte sibling, no partial file

    spec, pixels = _read_raw(path, unassociated=False)
    assert spec.channelnames == ("R", "G", "B", "A", "matte.A")
    assert spec.alpha_channel == 3 and str(spec.format) == "half"
    assert spec.get_string_attribute("compression") == compression
    assert spec.get_string_attribute("colorInteropID") == "lin_rec709_scene"
    assert spec.get_string_attribute("oiio:ColorSpace") in ("lin_rec709", "lin_rec709_scene")
    np.testing.assert_allclose(spec.getattribute("chromaticities"),
                               (0.64, 0.33, 0.30, 0.60, 0.15, 0.06, 0.3127, 0.3290), atol=1e-6)
    pixels = pixels.astype(np.float32)
    expected_rgb = srgb_to_linear(rgb) * alpha[..., None]
    tolerance = dict(rtol=2e-3, atol=2e-4) if compression != "dwaa" else dict(atol=0.03)
    np.testing.assert_allclose(pixels[..., :3], expected_rgb, **tolerance)
    np.testing.assert_allclose(pixels[..., 3], alpha, **tolerance)
    np.testing.assert_allclose(pixels[..., 4], matte, **tolerance)


def test_exr_of_an_opaque_still_has_alpha_one(tmp_path, frame):
    rgb, matte, _ = frame
    path = FrameWriter(str(tmp_path / "shot.####.exr")).write(1, rgb, matte)
    _, pixels = _read_raw(path, unassociated=False)
    np.testing.assert_array_equal(pixels[..., 3], 1.0)
    np.testing.assert_allclose(pixels[..., :3].astype(np.float32), srgb_to_linear(rgb), rtol=2e-3, atol=2e-4)


def test_exr_layer_is_named_for_nuke(tmp_path, frame):
    """``oiiotool`` lists ``matte.A``, i.e. layer ``matte`` with an alpha channel."""
    rgb, matte, alpha = frame
    path = FrameWriter(str(tmp_path / "shot.####.exr")).write(1, rgb, matte, alpha)
    oiiotool = shutil.which("oiiotool") or os.path.join(os.path.dirname(sys.executable), "oiiotool")
    if not os.path.exists(oiiotool):
        pytest.skip("oiiotool not installed")
    info = subprocess.run([oiiotool, "--info", "-v", path], capture_output=True, text=True, check=True).stdout
    assert "channel list: R, G, B, A, matte.A" in info
    assert "5 channel, half openexr" in info


# ------------------------------------------------------------------------------------ PNG / TIFF
@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("bit_depth", [8, 16])
def test_png_tiff_srgb_straight_alpha_and_matte_sibling(tmp_path, frame, provenance, suffix, bit_depth):
    rgb, matte, alpha = frame
    writer = FrameWriter(str(tmp_path / f"shot.####{suffix}"), bit_depth=bit_depth, provenance=provenance)
    path = writer.write(12, rgb, matte, alpha)
    matte_path = writer.matte_path(12)
    assert matte_path == str(tmp_path / f"shot_matte.0012{suffix}")
    assert _listing(tmp_path)[-2:] == sorted([f"shot.0012{suffix}", f"shot_matte.0012{suffix}"])[-2:]
    assert not [name for name in _listing(tmp_path) if name.endswith(".partial")]

    top = 255 if bit_depth == 8 else 65535
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    spec, pixels = _read_raw(path)
    assert spec.channelnames == ("R", "G", "B", "A") and pixels.dtype == dtype
    np.testing.assert_array_equal(pixels[..., :3], np.round(rgb * top).astype(dtype))  # sRGB, not premultiplied
    np.testing.assert_array_equal(pixels[..., 3], np.round(alpha * top).astype(dtype))

    matte_spec, matte_pixels = _read_raw(matte_path)
    assert matte_spec.nchannels == 1 and matte_pixels.dtype == dtype
    np.testing.assert_array_equal(matte_pixels[..., 0], np.round(matte * top).astype(dtype))


def test_png_second_reader_sees_straight_rgba(tmp_path, frame):
    rgb, matte, alpha = frame
    path = FrameWriter(str(tmp_path / "shot.####.png")).write(1, rgb, matte, alpha)
    with Image.open(path) as image:
        assert image.mode == "RGBA"
        pixels = np.asarray(image)
    np.testing.assert_array_equal(pixels[..., :3], np.round(rgb * 255).astype(np.uint8))
    np.testing.assert_array_equal(pixels[..., 3], np.round(alpha * 255).astype(np.uint8))


def test_opaque_png_is_rgb(tmp_path, frame):
    rgb, matte, _ = frame
    spec, pixels = _read_raw(FrameWriter(str(tmp_path / "shot.####.png"), bit_depth=16).write(3, rgb, matte))
    assert spec.channelnames == ("R", "G", "B")
    np.testing.assert_array_equal(pixels, np.round(rgb * 65535).astype(np.uint16))


# -------------------------------------------------------------------------------------- metadata
@pytest.mark.parametrize("suffix", [".exr", ".png", ".tif"])
def test_every_file_carries_provenance(tmp_path, frame, provenance, suffix):
    rgb, matte, alpha = frame
    writer = FrameWriter(str(tmp_path / f"shot.####{suffix}"), provenance=provenance)
    path = writer.write(42, rgb, matte, alpha, extra_metadata={"shot": "sq010_sh020"})
    still_hash = file_sha256(tmp_path / "inputs" / "still.png")
    driver_hash = file_sha256(tmp_path / "inputs" / "driver.mp4")
    for file, content in [(path, "image+matte" if suffix == ".exr" else "image"),
                          (writer.matte_path(42), "matte")]:
        if file is None:
            continue
        fields = read_frame_metadata(file)
        assert fields["synthetic"] == SYNTHETIC_STATEMENT
        assert fields["software"] == "Portrait Animator" and fields["version"]
        assert fields["renderer"] == "warp" and fields["checkpoint"] == "none"
        assert fields["source"] == "still.png" and fields["source_sha256"] == still_hash
        assert fields["driver"] == "driver.mp4" and fields["driver_sha256"] == driver_hash
        assert fields["frame"] == "42" and fields["content"] == content and fields["shot"] == "sq010_sh020"
        spec, _ = _read_raw(file)
        assert spec.get_string_attribute("ImageDescription").startswith(SYNTHETIC_STATEMENT)
        assert spec.get_string_attribute("Software").startswith("Portrait Animator")


def test_png_text_chunks_seen_by_pillow(tmp_path, frame, provenance):
    rgb, matte, _ = frame
    writer = FrameWriter(str(tmp_path / "shot.####.png"), provenance=provenance)
    for path in (writer.write(5, rgb, matte), writer.matte_path(5)):
        with Image.open(path) as image:
            text = image.text
        assert text["PortraitAnimator:synthetic"] == SYNTHETIC_STATEMENT
        assert text["PortraitAnimator:frame"] == "5"
        assert text["PortraitAnimator:source_sha256"] == provenance["source_sha256"]
        assert text["Description"].startswith(SYNTHETIC_STATEMENT)


def test_tiff_tags_seen_by_tifffile(tmp_path, frame, provenance):
    rgb, matte, _ = frame
    path = FrameWriter(str(tmp_path / "shot.####.tif"), provenance=provenance).write(9, rgb, matte)
    with tifffile.TiffFile(path) as tiff:
        tags = tiff.pages[0].tags
        description = tags["ImageDescription"].value
        software = tags["Software"].value
    assert description.startswith(SYNTHETIC_STATEMENT) and '"frame": "9"' in description
    assert software.startswith("Portrait Animator")


# ------------------------------------------------------------------------------- resume, overwrite
def test_finished_frames_and_overwrite_protection(tmp_path, frame):
    rgb, matte, _ = frame
    writer = FrameWriter(str(tmp_path / "shot.####.png"))
    for number in (1, 2, 5, 10000):
        writer.write(number, rgb, matte)
    (tmp_path / "shot_matte.0007.png").write_bytes(b"orphan matte of an unfinished frame")
    (tmp_path / ".shot.0008.png.host-1-00.partial").write_bytes(b"partial")
    (tmp_path / "shot.0009.png.bak").write_bytes(b"not a frame")
    (tmp_path / "other.0003.png").write_bytes(b"another sequence")
    (tmp_path / "shot.00003.png").write_bytes(b"not the name frame 3 gets")
    assert writer.finished_frames() == {1, 2, 5, 10000}
    assert writer.exists(5) and not writer.exists(7) and not writer.exists(8)

    before = file_sha256(writer.path(5))
    with pytest.raises(OutputError, match="already exists") as error:
        writer.write(5, 1.0 - rgb, matte)
    assert writer.path(5) in str(error.value)
    assert file_sha256(writer.path(5)) == before

    FrameWriter(str(tmp_path / "shot.####.png"), overwrite=True).write(5, 1.0 - rgb, matte)
    assert file_sha256(writer.path(5)) != before
    assert FrameWriter(str(tmp_path / "missing" / "shot.####.exr")).finished_frames() == set()


def test_matte_lands_before_main_frame_and_failure_leaves_nothing(tmp_path, frame, monkeypatch):
    rgb, matte, _ = frame
    writer = FrameWriter(str(tmp_path / "shot.####.png"))
    committed = []
    real_commit = frames_module.atomic.commit
    monkeypatch.setattr(frames_module.atomic, "commit",
                        lambda partial, final: (committed.append(os.path.basename(final)),
                                                real_commit(partial, final)))
    writer.write(1, rgb, matte)
    assert committed == ["shot_matte.0001.png", "shot.0001.png"]

    real_write = frames_module.write_image_file

    def main_frame_fails(partial, final, *args):
        if os.path.basename(final).startswith("shot."):
            raise OutputError(f"{final}: simulated failure")
        real_write(partial, final, *args)

    monkeypatch.setattr(frames_module, "write_image_file", main_frame_fails)
    with pytest.raises(OutputError, match="simulated"):
        writer.write(2, rgb, matte)
    assert _listing(tmp_path) == ["shot.0001.png", "shot_matte.0001.png"]  # no matte 2, no partials


def test_stale_partials_of_dead_processes_are_removed(tmp_path, frame):
    writer = FrameWriter(str(tmp_path / "shot.####.exr"))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live_partial = frames_module.atomic.partial_path(writer.path(3))
    dead_partial = live_partial.replace(f"-{os.getpid()}-", f"-{dead.pid}-")
    for path in (live_partial, dead_partial):
        open(path, "wb").close()
    assert writer.remove_stale_partials() == [dead_partial]
    assert os.path.exists(live_partial) and not os.path.exists(dead_partial)


# ------------------------------------------------------------------------------------- failures
def test_output_folder_created_and_bad_patterns_refused(tmp_path, frame):
    rgb, matte, _ = frame
    path = FrameWriter(str(tmp_path / "a" / "b" / "shot.####.exr")).write(1, rgb, matte)
    assert os.path.isfile(path)
    with pytest.raises(OutputError, match="unsupported frame format"):
        FrameWriter(str(tmp_path / "shot.####.jpg"))
    with pytest.raises(OutputError, match="bit depth"):
        FrameWriter(str(tmp_path / "shot.####.png"), bit_depth=12)
    with pytest.raises(OutputError, match="compression"):
        FrameWriter(str(tmp_path / "shot.####.exr"), exr_compression="b44")


def test_parent_that_is_a_file_is_an_output_error(tmp_path, frame):
    rgb, matte, _ = frame
    blocker = tmp_path / "renders"
    blocker.write_text("a file where the output folder should be")
    folder = blocker / "shot01"
    with pytest.raises(OutputError) as error:
        check_output_writable(folder)
    assert str(folder) in str(error.value) and "is a file" in str(error.value)
    with pytest.raises(OutputError, match="renders"):
        FrameWriter(str(folder / "shot.####.exr")).write(1, rgb, matte)
    with pytest.raises(OutputError, match="is a file"):
        check_output_writable(blocker)


def test_folder_not_writable_for_this_user(tmp_path):
    """As root, permission bits deny nothing: check as an unprivileged user in a forked child."""
    if os.geteuid() == 0:
        folder = Path(tempfile.mkdtemp(prefix="locked-"))  # pytest's tmp_path is private to root
        try:
            folder.chmod(0o755)
            _check_as_nobody(folder)
        finally:
            shutil.rmtree(folder)
    else:
        folder = tmp_path / "locked"
        folder.mkdir()
        folder.chmod(0o555)
        try:
            with pytest.raises(OutputError, match="not writable"):
                check_output_writable(folder)
        finally:
            folder.chmod(0o755)


def _check_as_nobody(folder):
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.close(reader)
        try:
            os.setgid(65534)
            os.setuid(65534)
            check_output_writable(folder)
            message = "NO ERROR"
        except OutputError as error:
            message = f"OutputError: {error}"
        except BaseException as error:  # noqa: BLE001 - report anything to the parent
            message = f"{type(error).__name__}: {error}"
        os.write(writer, message.encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        message = pipe.read()
    os.waitpid(child, 0)
    assert message.startswith("OutputError:") and str(folder) in message and "not writable" in message
    assert _listing(folder) == []


def test_read_only_filesystem(tmp_path):
    """A real read-only mount in a private mount namespace, where the kernel allows one."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare not installed")
    mount_point = tmp_path / "ro"
    mount_point.mkdir()
    probe = tmp_path / "probe.py"
    probe.write_text(textwrap.dedent(f"""
        from portrait_animator.errors import OutputError
        from portrait_animator.io.frames import check_output_writable
        try:
            check_output_writable({str(mount_point)!r})
            print("NO ERROR")
        except OutputError as error:
            print("OutputError:", error)
    """))
    command = f"mount -t tmpfs -o ro,size=64k tmpfs '{mount_point}' || exit 77; exec '{sys.executable}' '{probe}'"
    result = subprocess.run([unshare, "--mount", "sh", "-c", command], capture_output=True, text=True)
    if result.returncode == 77 or "unshare failed" in result.stderr:
        pytest.skip(f"cannot mount a read-only filesystem here: {result.stderr.strip()[:200]}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == \
        f"OutputError: {mount_point}: output folder is not writable (Read-only file system)"


_DISK_FULL_SCRIPT = """
import resource, signal, sys
import numpy as np
from portrait_animator.errors import OutputError
from portrait_animator.io.frames import FrameWriter
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))
rng = np.random.default_rng(0)
rgb, matte = rng.random((400, 400, 3), dtype=np.float32), rng.random((400, 400), dtype=np.float32)
try:
    FrameWriter(sys.argv[1], bit_depth=16).write(1, rgb, matte)
except OutputError as error:
    print("OutputError:", error)
"""


@pytest.mark.parametrize("suffix", [".exr", ".png", ".tif"])
def test_disk_full_gives_output_error_and_leaves_no_file(tmp_path, suffix):
    pattern = str(tmp_path / f"shot.####{suffix}")
    result = subprocess.run([sys.executable, "-c", _DISK_FULL_SCRIPT, pattern],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OutputError: ") and str(tmp_path) in result.stdout
    assert _listing(tmp_path) == []


def test_really_full_filesystem(tmp_path):
    """A 256 KiB tmpfs in a private mount namespace: write() fails with ENOSPC, as on a full disk."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare not installed")
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    probe = tmp_path / "probe.py"
    probe.write_text(textwrap.dedent("""
        import os, sys
        import numpy as np
        from portrait_animator.errors import OutputError
        from portrait_animator.io.frames import FrameWriter
        rng = np.random.default_rng(0)
        rgb, matte = rng.random((400, 400, 3), dtype=np.float32), rng.random((400, 400), dtype=np.float32)
        for suffix in (".exr", ".png", ".tif"):
            try:
                FrameWriter(sys.argv[1] + "/shot.####" + suffix, bit_depth=16).write(1, rgb, matte)
                print("NO ERROR")
            except OutputError as error:
                print("OutputError:", error)
        print(sorted(os.listdir(sys.argv[1])))
    """))
    command = (f"mount -t tmpfs -o size=256k tmpfs '{mount_point}' || exit 77; "
               f"exec '{sys.executable}' '{probe}' '{mount_point}'")
    result = subprocess.run([unshare, "--mount", "sh", "-c", command], capture_output=True, text=True)
    if result.returncode == 77 or "unshare failed" in result.stderr:
        pytest.skip(f"cannot mount a small filesystem here: {result.stderr.strip()[:200]}")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 4 and lines[-1] == "[]"  # nothing left behind: no frame, matte or partial
    for line in lines[:3]:
        assert line.startswith(f"OutputError: {mount_point}/shot") and "(disk full)" in line

"""Decoding driver videos with PyAV (FFmpeg): exact frame counts, exact seeking, phone rotation.

A frame index is built at open from the demuxer alone (no decoding, milliseconds): the presentation
timestamps of all video packets, sorted, are frames 1..N, and the keyframes among them are where a seek
can land. Seeking to frame N goes to the last keyframe at or before it and decodes forward, so a farm
chunk never decodes the clip from the start, and returns the same pixels a sequential decode would.
Where the container's own frame count disagrees with the packets, the index is rebuilt by decoding.
OpenCV is only a fallback for files PyAV cannot open; it decodes sequentially.
"""

from __future__ import annotations

import bisect
import contextlib
import os
from typing import Iterator

import av
import numpy as np

from ..errors import UnreadableFileError
from .provenance import file_sha256
from .sources import FrameSource

BACKENDS = ("pyav", "opencv")


class VideoFile(FrameSource):
    """A video decoded by PyAV; frames come out upright per its display matrix, as players show them."""

    def __init__(self, path: str):
        self.path = path
        with _open_container(path) as container:
            stream = _video_stream(container, path)
            self.codec = stream.codec_context.name
            self.fps = _frame_rate(stream)
            declared = stream.frames
            exact_tables = container.format.name.startswith("mov")  # MP4/MOV sample tables are exact
            presentation, keyframes, discarded = _demux_index(container, stream, path)
            self._check_duration(container, stream, presentation)
        if not presentation:
            raise UnreadableFileError(f"{path}: video stream has no frames")
        if exact_tables and declared and len(presentation) < declared:
            raise UnreadableFileError(f"{path}: truncated video: the file lists {declared} frames but only "
                                      f"{len(presentation)} are present")
        self._pts: list[int] = presentation
        self._keyframes: list[int] = keyframes
        self._seekable = True
        if discarded or (declared and len(presentation) != declared):
            self._index_by_decoding()  # the container's header disagrees with its packets: count frames
        first = self._decode_first_frame()
        if self._seekable and first.pts != self._pts[0]:
            self._index_by_decoding()  # leading packets the decoder drops (open GOP at the cut)
        self._number_of = {pts: number for number, pts in enumerate(self._pts, start=1)}
        self._orient = _display_transform(first)
        height, width = self._orient(first.to_ndarray(format="rgb24")).shape[:2]
        self.size = (width, height)
        self.frame_count = len(self._pts)

    def content_sha256(self) -> str:
        return file_sha256(self.path)

    # ------------------------------------------------------------------------------- decoding
    def _frames(self, first: int, last: int) -> Iterator[tuple[int, np.ndarray]]:
        seek_to = self._keyframe_before(first) if self._seekable and first > 1 else None
        produced = self._decode(first, last, seek_to)
        number, rgb = next(produced, (None, None))
        if number != first and seek_to is not None:  # the demuxer landed past the target: start over
            produced.close()
            produced = self._decode(first, last, None)
            number, rgb = next(produced, (None, None))
        if number != first:
            raise UnreadableFileError(f"{self.path}: corrupt video: frame {first} cannot be decoded")
        yield number, rgb
        expected = first + 1
        for number, rgb in produced:
            if number != expected:
                raise UnreadableFileError(f"{self.path}: corrupt video: frame {expected} is missing")
            yield number, rgb
            expected += 1
        if expected <= last:
            raise UnreadableFileError(f"{self.path}: corrupt or truncated video: decoding stopped after frame "
                                      f"{expected - 1} of {self.frame_count}")

    def _decode(self, first: int, last: int, seek_to: int | None) -> Iterator[tuple[int, np.ndarray]]:
        """Decode from ``seek_to`` (a keyframe pts) or the start; yield frames with numbers >= first."""
        with _open_container(self.path) as container:
            stream = _video_stream(container, self.path)
            stream.thread_type = "AUTO"
            if seek_to is not None:
                container.seek(seek_to, stream=stream, backward=True, any_frame=False)
            counter = 0
            for frame in _decoded(container, stream, self.path, lambda: counter):
                counter += 1
                number = self._number_of.get(frame.pts) if self._seekable else counter
                if number is None or number < first:
                    continue
                if number > last:
                    break
                yield number, np.ascontiguousarray(self._orient(frame.to_ndarray(format="rgb24")))

    def _keyframe_before(self, number: int) -> int:
        target = self._pts[number - 1]
        position = bisect.bisect_right(self._keyframes, target) - 1
        return self._keyframes[max(position, 0)]

    def _decode_first_frame(self) -> av.VideoFrame:
        with _open_container(self.path) as container:
            stream = _video_stream(container, self.path)
            for frame in _decoded(container, stream, self.path, lambda: 0):
                return frame
        raise UnreadableFileError(f"{self.path}: no frame of the video can be decoded")

    def _index_by_decoding(self) -> None:
        """Count and timestamp the frames the decoder really produces (slow, exact)."""
        pts = []
        with _open_container(self.path) as container:
            stream = _video_stream(container, self.path)
            stream.thread_type = "AUTO"
            for frame in _decoded(container, stream, self.path, lambda: len(pts)):
                pts.append(frame.pts)
        if not pts:
            raise UnreadableFileError(f"{self.path}: no frame of the video can be decoded")
        self._seekable = None not in pts and len(set(pts)) == len(pts) and pts == sorted(pts)
        self._pts = pts
        self._keyframes = [pts[0]] if self._seekable else []

    def _check_duration(self, container, stream, presentation: list[int]) -> None:
        """A container without a frame count (MKV, WebM) still states its duration: compare."""
        if stream.frames or not presentation or stream.time_base is None:
            return
        if stream.duration:
            declared = float(stream.duration * stream.time_base)
        elif container.duration and len(container.streams) == 1:
            declared = container.duration / 1e6
        else:
            return
        present = (presentation[-1] - presentation[0]) * float(stream.time_base) + 1.0 / self.fps
        if declared - present > max(2.0 / self.fps, 0.02 * declared):
            raise UnreadableFileError(f"{self.path}: truncated video: the file lasts {declared:.2f} s but "
                                      f"frames stop at {present:.2f} s")


class OpenCVVideoFile(FrameSource):
    """The fallback decoder: OpenCV's own FFmpeg build, counted and read sequentially (slow but exact)."""

    def __init__(self, path: str):
        # OpenCV's bundled FFmpeg would print its own parser errors; ours name the file in one line.
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
        import cv2

        self.path = path
        self._cv2 = cv2
        capture = self._open()
        try:
            self.fps = float(capture.get(cv2.CAP_PROP_FPS)) or 25.0
            ok, first = capture.read()
            if not ok:
                raise UnreadableFileError(f"{path}: no frame of the video can be decoded (OpenCV)")
            count = 1
            while capture.grab():
                count += 1
        finally:
            capture.release()
        self.size = (first.shape[1], first.shape[0])
        self.frame_count = count

    def _open(self):
        capture = self._cv2.VideoCapture(self.path)
        capture.set(self._cv2.CAP_PROP_ORIENTATION_AUTO, 1)  # honour the display matrix, as PyAV does
        if not capture.isOpened():
            raise UnreadableFileError(f"{self.path}: not a readable video (OpenCV cannot open it either)")
        return capture

    def _frames(self, first: int, last: int) -> Iterator[tuple[int, np.ndarray]]:
        capture = self._open()
        try:
            for number in range(1, last + 1):
                ok = capture.grab() if number < first else None
                if number >= first:
                    ok, bgr = capture.read()
                if not ok:
                    raise UnreadableFileError(f"{self.path}: corrupt or truncated video: decoding failed at "
                                              f"frame {number}")
                if number >= first:
                    yield number, np.ascontiguousarray(bgr[..., ::-1])
        finally:
            capture.release()

    def content_sha256(self) -> str:
        return file_sha256(self.path)


class _CannotOpen(UnreadableFileError):
    """PyAV could not open the file at all (the only case where OpenCV is tried)."""


def open_video(path: str, backend: str | None = None) -> FrameSource:
    """Open a video with PyAV, or OpenCV where PyAV cannot open it (or ``backend`` says so)."""
    if backend not in (None, *BACKENDS):
        raise ValueError(f"video backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "opencv":
        return OpenCVVideoFile(path)
    try:
        return VideoFile(path)
    except _CannotOpen as error:
        if backend == "pyav":
            raise
        try:
            return OpenCVVideoFile(path)
        except UnreadableFileError:
            raise error from None


# ------------------------------------------------------------------------------------ PyAV helpers
@contextlib.contextmanager
def _open_container(path: str):
    try:
        container = av.open(path, metadata_errors="ignore")
    except av.error.FFmpegError as error:
        raise _CannotOpen(f"{path}: not a readable video ({_ffmpeg_message(error)})") from None
    try:
        yield container
    finally:
        container.close()


def _video_stream(container, path: str):
    """The first real video stream (not a cover picture attached to the file)."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    raise _CannotOpen(f"{path}: the file has no video stream")


def _frame_rate(stream) -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            return float(rate)
    return 25.0


def _demux_index(container, stream, path: str) -> tuple[list[int], list[int], int]:
    """Presentation timestamps (sorted) and keyframe timestamps of all packets, without decoding."""
    presentation, keyframes, discarded, untimed = [], [], 0, 0
    try:
        for packet in container.demux(stream):
            if packet.size == 0:  # the demuxer's end-of-stream marker
                continue
            if packet.is_discard:
                discarded += 1
            if packet.pts is None:
                untimed += 1
                continue
            presentation.append(packet.pts)
            if packet.is_keyframe:
                keyframes.append(packet.pts)
    except av.error.FFmpegError as error:
        raise UnreadableFileError(f"{path}: corrupt video: reading failed after {len(presentation)} frames "
                                  f"({_ffmpeg_message(error)})") from None
    presentation.sort()
    keyframes.sort()
    if untimed or len(set(presentation)) != len(presentation):
        discarded += 1  # timestamps cannot identify frames: index by decoding
    return presentation, keyframes or presentation[:1], discarded


def _decoded(container, stream, path: str, frames_done) -> Iterator[av.VideoFrame]:
    """``container.decode`` with FFmpeg errors turned into one line naming the file and the frame."""
    frames = container.decode(stream)
    while True:
        try:
            frame = next(frames)
        except StopIteration:
            return
        except av.error.FFmpegError as error:
            raise UnreadableFileError(f"{path}: corrupt video: decoding failed at frame {frames_done() + 1} "
                                      f"({_ffmpeg_message(error)})") from None
        yield frame


def _display_transform(frame: av.VideoFrame):
    """A function turning decoded pixels upright per the stream's display matrix (phone rotation).

    The matrix maps a source pixel (x, y) to the display at (a·x + c·y, b·x + d·y); for the eight
    right-angle cases that is a transpose and/or flips, done with numpy views.
    """
    from av.sidedata.sidedata import Type

    side_data = frame.side_data.get(Type.DISPLAYMATRIX) if frame.side_data else None
    if side_data is None:
        return lambda pixels: pixels
    matrix = np.frombuffer(bytes(side_data), dtype="<i4")[:9].reshape(3, 3) / 65536.0
    a, b, c, d = (int(round(value)) for value in (matrix[0, 0], matrix[0, 1], matrix[1, 0], matrix[1, 1]))
    if a == 0 and d == 0 and abs(b) == 1 and abs(c) == 1:  # quarter turn: display x from source y
        return lambda pixels: np.swapaxes(pixels, 0, 1)[::b, ::c]
    if b == 0 and c == 0 and abs(a) == 1 and abs(d) == 1:
        return lambda pixels: pixels[::d, ::a]
    return lambda pixels: pixels  # not a right-angle transform: shown as stored


def _ffmpeg_message(error: Exception) -> str:
    return " ".join(str(getattr(error, "strerror", None) or error).split())

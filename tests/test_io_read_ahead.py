"""Reading ahead on a thread: order, bounded lead, errors where they belong, and an early close."""

import threading
import time

import pytest

from portrait_animator.io.read_ahead import read_ahead


def _counting_source(count, made, fail_after=None, closed=None):
    try:
        for item in range(count):
            if fail_after is not None and item == fail_after:
                raise ValueError(f"clip.mp4: corrupt video: frame {item + 1} cannot be decoded")
            made.append(item)
            yield item
    finally:
        if closed is not None:
            closed.set()


def _wait_for(condition, seconds=5.0):
    end = time.monotonic() + seconds
    while not condition() and time.monotonic() < end:
        time.sleep(0.01)


def test_items_come_in_order_and_at_most_depth_ahead():
    made = []
    reader = read_ahead(_counting_source(20, made), depth=2)
    got = []
    for item in reader:
        _wait_for(lambda: len(made) >= min(20, item + 4))  # give the producer every chance to run ahead
        # Taken: item + 1; queued: up to 2; one more made and waiting for room.
        assert len(made) <= item + 1 + 2 + 1
        got.append(item)
    assert got == list(range(20))


def test_an_error_comes_after_the_items_before_it_as_itself():
    reader = read_ahead(_counting_source(10, [], fail_after=3))
    assert [next(reader) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(ValueError, match="clip.mp4: corrupt video: frame 4"):
        next(reader)


def test_closing_early_stops_the_thread_and_closes_the_source():
    closed = threading.Event()
    before = {t.ident for t in threading.enumerate()}
    reader = read_ahead(_counting_source(1000, [], closed=closed), depth=2)
    assert next(reader) == 0
    reader.close()
    assert closed.is_set()  # the source's finally ran (a video reader closes its file there)
    assert not [t for t in threading.enumerate() if t.name == "read-ahead" and t.ident not in before]

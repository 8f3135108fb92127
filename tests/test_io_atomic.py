"""Atomic files: a file under its final name is complete; a failure leaves nothing behind."""

from __future__ import annotations

import os

import pytest

from portrait_animator.io.atomic import atomic_path


def test_file_appears_only_when_the_block_succeeds(tmp_path):
    target = tmp_path / "cache.json"
    with atomic_path(target) as partial:
        assert os.path.dirname(partial) == str(tmp_path) and os.path.basename(partial).startswith(".cache.json.")
        with open(partial, "w") as handle:
            handle.write("{}")
        assert not target.exists()
    assert target.read_text() == "{}" and os.listdir(tmp_path) == ["cache.json"]


def test_failure_removes_the_partial_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "cache.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as partial:
            with open(partial, "w") as handle:
                handle.write("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["cache.json"]

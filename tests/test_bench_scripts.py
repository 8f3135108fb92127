"""The benchmark scripts still load against the engine: they import engine names that a change can rename or
remove, and are run by hand, so nothing else would notice before the next person runs one."""

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
HELPERS = {"shot", "timing"}  # imported by the scripts, not run
SCRIPTS = sorted(path.stem for path in BENCH.glob("*.py") if path.stem not in HELPERS)


@pytest.fixture(scope="module", autouse=True)
def bench_on_path():
    """The scripts import their helpers (``shot``, ``timing``) as top-level modules, as ``python bench/X.py``
    lets them."""
    sys.path.insert(0, str(BENCH))
    yield
    sys.path.remove(str(BENCH))


@pytest.mark.slow
@pytest.mark.parametrize("name", SCRIPTS)
def test_a_bench_script_loads_and_has_a_main(name):
    # Loaded from its file under its own name: ``bench/io.py`` as ``io`` would be the standard library's.
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert callable(getattr(module, "main", None)), f"bench/{name}.py has no main()"

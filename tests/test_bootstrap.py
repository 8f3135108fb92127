"""The set-up script refuses, before installing anything, a disk that cannot hold the environment."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bootstrap_stops_early_when_the_disk_is_too_full(tmp_path):
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "bootstrap.sh", project / "scripts" / "bootstrap.sh")
    shims = tmp_path / "bin"
    shims.mkdir()
    df = shims / "df"  # 2 GiB free on the project's disk
    df.write_text("#!/bin/sh\necho 'Filesystem 1024-blocks Used Available Capacity Mounted on'\n"
                  "echo '/dev/x 100000000 97902848 2097152 98% /'\n")
    df.chmod(0o755)
    env = dict(os.environ, PATH=f"{shims}:{os.environ['PATH']}", PYTHON=sys.executable)
    done = subprocess.run(["bash", str(project / "scripts" / "bootstrap.sh")], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"bootstrap: {project / '.venv'} needs about 9 GiB of free disk to install; "
                                   "2 GiB free there")
    assert not (project / ".venv").exists()

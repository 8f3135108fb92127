#!/usr/bin/env bash
# Creates .venv with every dependency pinned in scripts/constraints.txt and installs the project into it
# (editable, with the compiled operators). Idempotent: a second run with nothing changed takes a second.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="$root/.venv"
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"

if ! "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "bootstrap: Python 3.11 is required (found $("$python" --version 2>&1) at $python); set PYTHON=" >&2
  exit 2
fi

# A new environment takes about 8 GiB, torch's CUDA build most of it: say so before pip fills the disk halfway.
if [ ! -d "$venv/lib/python3.11/site-packages/torch" ]; then
  need_kib=$((9 * 1024 * 1024))
  free_kib="$(df -Pk "$root" | awk 'NR == 2 {print $4}')"
  if [ "$free_kib" -lt "$need_kib" ]; then
    echo "bootstrap: $venv needs about 9 GiB of free disk to install; $((free_kib / 1024 / 1024)) GiB free there" >&2
    exit 2
  fi
fi

# The CUDA kernels compile wherever torch is a CUDA build and a real toolkit is present (no GPU needed).
if [ -z "${CUDA_HOME:-}" ] && [ -x /usr/local/cuda/bin/nvcc ]; then export CUDA_HOME=/usr/local/cuda; fi
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-8.0;9.0+PTX}"

stamp="$venv/.portrait-animator-stamp"
want="$(cat setup.py scripts/constraints.txt scripts/bootstrap.sh \
        $(find cuda_ext -type f \( -name '*.cpp' -o -name '*.cu' -o -name '*.h' -o -name '*.cuh' \) | sort) \
        | sha256sum | cut -c1-16)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$venv/bin/python" -c 'import portrait_animator' 2>/dev/null; then
  exit 0
fi

echo "bootstrap: setting up $venv (first run takes a few minutes)" >&2
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
"${pip[@]}" install -c scripts/constraints.txt "pip>=24" "setuptools>=70" wheel
# torch first: the extension build below compiles against it (no build isolation).
"${pip[@]}" install -c scripts/constraints.txt torch torchvision
"${pip[@]}" install -c scripts/constraints.txt --no-build-isolation -e ".[dlib,evaluate,farm,blender,test]"
echo "$want" > "$stamp"
echo "bootstrap: ready ($venv)" >&2

#!/usr/bin/env bash
# The CUDA kernels on a machine with an NVIDIA GPU, without installing anything there: build
# portrait_animator._C in place against that machine's own torch, run the operator tests (CPU and CUDA,
# opcheck included), the GPU benchmarks, then memory and race checks of the CUDA kernels.
#
#   bash bench/gpu_check.sh [LOG_DIR]            # logs and a summary in LOG_DIR (default: gpu-check/)
#
# PYTHON picks the interpreter (default python3). The benchmark's face mesh comes from mediapipe; on a
# machine without it, write the points elsewhere with `python bench/ops.py --save-points points.npy` and
# pass POINTS=points.npy. BATCHES=DIR (what `bench/neural.py --save-batches DIR` wrote) adds the neural
# training and rendering benchmark on the card; it imports OpenImageIO, so on a machine without it install
# its wheel with `pip install --no-index --no-deps --target DIR` and put DIR on PYTHONPATH first. If the
# operator tests die of a signal, the crashing test is run again under cuda-gdb (or gdb) for the native
# stack, and the other tests are still run.
set -uo pipefail
cd "$(dirname "$0")/.."
LOG=$(mkdir -p "${1:-gpu-check}" && cd "${1:-gpu-check}" && pwd)
PY=${PYTHON:-python3}
SUMMARY="$LOG/summary.txt"
: >"$SUMMARY"

stage() {  # stage NAME TIMEOUT_S COMMAND...: run it, log it, record its exit status
    local name=$1 limit=$2
    shift 2
    local began=$SECONDS
    timeout "$limit" "$@" >"$LOG/$name.txt" 2>&1
    local rc=$?
    echo "$name: exit $rc in $((SECONDS - began)) s" | tee -a "$SUMMARY"
    return $rc
}

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv | tee "$LOG/card.txt"
if [ -z "${CUDA_HOME:-}" ]; then
    CUDA_HOME=/usr/local/cuda
    [ -x "$CUDA_HOME/bin/nvcc" ] || CUDA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")
fi
export CUDA_HOME PORTRAIT_ANIMATOR_CUDA=1 MAX_JOBS=${MAX_JOBS:-$(nproc)}
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-$("$PY" -c \
    'import torch; print("%d.%d" % torch.cuda.get_device_capability())')}
"$PY" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda, torch.cuda.get_device_name())' \
    | tee -a "$SUMMARY"
echo "CUDA_HOME=$CUDA_HOME TORCH_CUDA_ARCH_LIST=$TORCH_CUDA_ARCH_LIST" | tee -a "$SUMMARY"

# The package is core/ under the name portrait_animator: link it so that the tests import this tree.
PACKAGE_ROOT=$(mktemp -d)
ln -s "$PWD/core" "$PACKAGE_ROOT/portrait_animator"
export PYTHONPATH="$PACKAGE_ROOT${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

stage build 300 "$PY" setup.py build_ext --inplace || { tail -30 "$LOG/build.txt"; exit 1; }
OPS_TESTS=(tests/test_ops_build.py tests/test_ops_adain.py tests/test_ops_mesh_warp.py)
stage tests 240 "$PY" -m pytest -q -p no:cacheprovider -rfEs "${OPS_TESTS[@]}" --junitxml "$LOG/tests.xml"
TESTS_RC=$?
tail -5 "$LOG/tests.txt"
if [ "$TESTS_RC" -gt 128 ] && [ "$TESTS_RC" -ne 137 ]; then
    # A crash kills pytest before its report: name the test (pytest -v prints it before running it), take
    # the native stack of that one test, then run every other test.
    stage tests_verbose 240 "$PY" -m pytest -v -p no:cacheprovider "${OPS_TESTS[@]}"
    CRASHED=$(grep -E '^tests/.*::' "$LOG/tests_verbose.txt" | grep -vE ' (PASSED|FAILED|SKIPPED|ERROR)' | tail -1 \
        | cut -d' ' -f1)
    echo "crashed in: ${CRASHED:-unknown}" | tee -a "$SUMMARY"
    DEBUGGER=$(command -v cuda-gdb || command -v gdb)
    if [ -n "$CRASHED" ] && [ -n "$DEBUGGER" ]; then
        stage crash_backtrace 180 "$DEBUGGER" -q -batch -ex run -ex bt --args "$PY" -m pytest -q -p no:cacheprovider \
            -p no:faulthandler "$CRASHED"
        grep -E '^#[0-9]+ ' "$LOG/crash_backtrace.txt" | head -30
    fi
    # Whether torch's own argument errors crash the same way once CUDA is up (then the cause is torch's C++
    # stack capture in this environment, not these ops), with the stack-trace settings in force.
    env | grep -E '^(TORCH|PYTORCH)' | tee -a "$SUMMARY"
    stage torch_refusal 60 "$PY" -c 'import torch
torch.zeros(1, device="cuda")
try:
    torch.zeros(2).view(3)
except RuntimeError as error:
    print("torch refused cleanly:", str(error).splitlines()[0])'
    cat "$LOG/torch_refusal.txt"
    [ -n "$CRASHED" ] && stage tests_rest 240 "$PY" -m pytest -q -p no:cacheprovider -rfEs "${OPS_TESTS[@]}" \
        --deselect "$CRASHED" && tail -3 "$LOG/tests_rest.txt"
fi
stage bench 300 "$PY" bench/ops.py --device cuda ${POINTS:+--points "$POINTS"}
grep -E "^(torch|adain|mesh_warp|\| kernel|\| group_norm|\| mesh_warp_grid|\| torch.compile)" "$LOG/bench.txt"
# Out-of-bounds accesses and uninitialised reads in the kernels: the CUDA tests (float32 and float16 parity,
# and every edge-case test) under compute-sanitizer's memcheck.
stage memcheck 180 compute-sanitizer --tool memcheck --error-exitcode 3 \
    "$PY" -m pytest -q -p no:cacheprovider -m gpu -k "dtype0 or dtype2 or not forward_and_gradients" \
    "${OPS_TESTS[@]:1}"
tail -5 "$LOG/memcheck.txt"
# Shared-memory races in the block reductions (AdaIN's): racecheck on the float32 AdaIN tests.
stage racecheck 180 compute-sanitizer --tool racecheck --error-exitcode 3 \
    "$PY" -m pytest -q -p no:cacheprovider -m gpu -k "dtype0 or large_mean" tests/test_ops_adain.py
tail -5 "$LOG/racecheck.txt"
if [ -n "${BATCHES:-}" ]; then
    stage neural 300 "$PY" bench/neural.py --device cuda --batches "$BATCHES" --repeat 3 --frames 30
    tail -25 "$LOG/neural.txt"
fi
cat "$SUMMARY"

#!/usr/bin/env bash
# Evaluates the shipped small neural-hybrid checkpoint on the clips of the held-back persons (never seen in
# training), against the warp renderer and the static baseline, with the evaluation harness; then records
# the summary in the checkpoint's model card:
#   bash training/small_hybrid/evaluate.sh [REPORT_DIR]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
media="${PORTRAIT_ANIMATOR_MEDIA:-$root/../shared/media}"
report="${1:-$root/work/small_hybrid/evaluation}"
checkpoint="$root/core/assets/models/small_hybrid.safetensors"
python="$root/.venv/bin/python"
clips="$("$python" "$here/held_out_clips.py" "$media/driving")"

nice -n 10 "$python" -m portrait_animator evaluate --clips "$media/driving" --only "$clips" \
    --renderers warp,static,neural-hybrid --checkpoint "$checkpoint" --protocols self --k 1 --frames 64 \
    --crop-size 256 --out "$report" --progress none
"$python" "$here/record_evaluation.py" "$report/results.json" "$checkpoint"

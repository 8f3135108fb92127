#!/usr/bin/env bash
# Reproduces the shipped small neural-hybrid checkpoint (core/assets/models/small_hybrid.safetensors):
#   bash training/small_hybrid/train.sh [WORK_DIR]
# 1. prepare-data: the shared driving clips -> 256² aligned crops + landmarks (persons/licences: clips.json);
# 2. train: meta-learning on the persons in persons_train.txt only. Held back for evaluation, never seen in
#    training: persons_held_out.txt (8 of 39 persons, the first by sha1 of their id) and every clip whose
#    licence is non-commercial or research-only (so the shipped weights carry no NC data);
# 3. copy the final model and its card into the package.
# CPU settings (one thread, nice): the machine is shared. Deviations from the paper, for 2 CPU cores:
# weight-free content loss (no VGG weights here), one D step per G step, Adam at 2e-4 for E and G.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
media="${PORTRAIT_ANIMATOR_MEDIA:-$root/../shared/media}"
work="${1:-$root/work/small_hybrid}"
steps="${STEPS:-4000}"
cli=("$root/.venv/bin/python" -m portrait_animator)
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

nice -n 10 "${cli[@]}" prepare-data "$media/driving" -o "$work/dataset" --size 256 \
    --clip-info "$here/clips.json" --progress none
nice -n 10 "${cli[@]}" train --data "$work/dataset" -o "$work/run" --network small --kind neural-hybrid \
    --persons "$(cat "$here/persons_train.txt")" --steps "$steps" --batch-size 2 --k-shots 2 \
    --content-loss l1-msssim --discriminator-steps 1 --lr-generator 2e-4 --lr-discriminator 2e-4 \
    --checkpoint-every 250 --sample-every 250 --log-every 25 --seed 0 --loader-workers 1 --device cpu \
    --licence-note "trained only on clips whose source repositories are MIT, Apache-2.0 or CC BY 4.0; the people shown did not license their likeness: research and evaluation use" \
    --progress none
mkdir -p "$root/core/assets/models"
cp "$work/run/model.safetensors" "$root/core/assets/models/small_hybrid.safetensors"
cp "$work/run/model.card.json" "$root/core/assets/models/small_hybrid.card.json"
echo "small neural-hybrid checkpoint -> core/assets/models/small_hybrid.safetensors"

#!/usr/bin/env bash
# Sets up .venv (see bootstrap.sh) and animates the bundled public-domain still with the procedural "talk"
# driver: PNG frames, their mattes and an H.264 preview go to out/demo/ (replaced on each run, so they show
# the engine as it is now). Extra arguments go to `animate`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/bootstrap.sh"
out="$root/out/demo"
"$root/.venv/bin/portrait-animator" animate \
  --source "$root/core/assets/stills/eileen_collins_nasa.png" \
  --driver preset:talk --frames 1-125 --overwrite \
  --out "$out/eileen.####.png" --preview "$out/eileen_preview.mp4" "$@"
echo "Frames:  $out/eileen.####.png (mattes: $out/eileen_matte.####.png)"
echo "Preview: $out/eileen_preview.mp4"

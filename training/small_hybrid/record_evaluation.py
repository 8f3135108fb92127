"""Copy the headline numbers of an evaluation (``results.json`` of ``portrait-animator evaluate``) into a
checkpoint's model card: per protocol and contender, the mean of each metric over the held-back clips."""

import json
import os
import sys

from portrait_animator.models.checkpoint import record_metrics

METRICS = ("ssim_face", "ms_ssim_face", "psnr_face", "ssim_full", "psnr_full", "nme", "csim_dlib",
           "identity_distance", "jitter_ratio", "flicker", "fps")

results_path, checkpoint = sys.argv[1], sys.argv[2]
results = json.load(open(results_path))
summary = {protocol: {contender: {m: round(values[m]["mean"], 4) for m in METRICS
                                  if values.get(m, {}).get("mean") is not None}
                      for contender, values in contenders.items()}
           for protocol, contenders in results["summary"].items()}
clips = sorted({case["clip"] for case in results["cases"] if "clip" in case})
card = record_metrics(checkpoint, {"held_out_evaluation": {
    "what": "self-reenactment on the clips of persons never seen in training (persons_held_out.txt); "
            "K = 1 source frame; 64 scored frames per clip; crop 256; CSIM-dlib is dlib's face descriptor, "
            "not the paper's ArcFace CSIM",
    "command": results.get("command"), "clips": clips, "summary": summary}})
print(f"{os.path.basename(checkpoint)} ({card.id}): evaluation recorded")
for protocol, contenders in summary.items():
    for contender, values in contenders.items():
        print(protocol, contender, json.dumps(values))

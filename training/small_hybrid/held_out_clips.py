"""Print the driving clips of the held-back persons (persons_held_out.txt, resolved by clips.json) as a
comma-separated list for ``portrait-animator evaluate --only``."""

import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
held = set(open(os.path.join(here, "persons_held_out.txt")).read().strip().split(","))
clips = json.load(open(os.path.join(here, "clips.json")))["clips"]
names = sorted(name for name, info in clips.items() if info["person"] in held
               and os.path.exists(os.path.join(sys.argv[1], name)))
print(",".join(names))

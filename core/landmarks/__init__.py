"""Face detection and 68-point landmarks (iBUG 300-W order), pluggable backends, tracking, smoothing."""

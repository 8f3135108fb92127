"""Evaluation: measuring realism, identity and motion fidelity of any renderer on real clips."""

"""Training: dataset preparation, meta-learning over many videos, K-shot fine-tuning, distributed runs."""

"""The adversarial terms of the paper: hinge losses, feature matching, and embedding match.

Weights are the paper's: feature matching 10, embedding match 80 (applied by the trainer).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

FEATURE_MATCHING_WEIGHT = 10.0
EMBEDDING_MATCH_WEIGHT = 80.0


def discriminator_hinge(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """D's hinge loss: mean(max(0, 1 − r(real))) + mean(max(0, 1 + r(fake)))."""
    return F.relu(1.0 - real_scores).mean() + F.relu(1.0 + fake_scores).mean()


def generator_hinge(fake_scores: torch.Tensor) -> torch.Tensor:
    """G's adversarial term: −mean(r(fake))."""
    return -fake_scores.mean()


def feature_matching(real_features: list[torch.Tensor], fake_features: list[torch.Tensor]) -> torch.Tensor:
    """Sum over D's blocks of the mean L1 distance between real and generated activations.

    The real activations are targets: they carry no gradient.
    """
    if len(real_features) != len(fake_features):
        raise ValueError("real and fake feature lists differ in length")
    return sum(F.l1_loss(fake, real.detach()) for real, fake in zip(real_features, fake_features))


def embedding_match(video_columns: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
    """‖W_i − ê_i‖₁, averaged over the embedding's entries and the batch.

    The mean over entries (not the sum) keeps the paper's weight of 80 on the scale of the other terms
    whatever the embedding width.
    """
    return F.l1_loss(embeddings, video_columns)

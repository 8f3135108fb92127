"""Local linear maps from the driver's neutral face to the still's, through which the driver's motion is
carried point by point."""

from __future__ import annotations

import numpy as np

# The local maps from the driver's neutral face to the still's: each point's affine fit over the points
# round it, weighted by a Gaussian this many eye spans (outer corner to outer corner) wide, with the map's
# stretch kept within these bounds. Half an eye span sees a turned face's foreshortening (the far half of a
# three-quarter face, 0.6-0.7 as wide as a frontal driver's) but not a lip's or a lid's own shape.
LOCAL_MAP_REACH = 0.5
LOCAL_MAP_STRETCH = (0.5, 1.5)


class LocalMaps:
    """Each point's local linear map from the driver's neutral face (``driver``, in the still's scale and
    orientation) to the still's face: a Gaussian-weighted affine fit over the points round it.

    The similarity between the two faces leaves what differs locally: on a three-quarter still the far half
    of the face is narrower than a frontal driver's and its midline slants, and a frontal driver's smile
    carried unchanged pulled that mouth corner towards the cheek's outline. Carried through these maps, a
    motion shrinks, stretches and turns as the still's face does there (first-order motion transfer, as in
    Siarohin et al. 2019, with the local maps taken from the two faces' landmarks)."""

    def __init__(self, still: np.ndarray, driver: np.ndarray, eye_line: np.ndarray):
        eye_span = float(np.linalg.norm(eye_line))
        reach = LOCAL_MAP_REACH * eye_span
        weights = np.exp(-((still[:, None] - still[None]) ** 2).sum(-1) / (2.0 * reach * reach))
        weights /= weights.sum(axis=1, keepdims=True)
        still_mean, driver_mean = weights @ still, weights @ driver
        still_off = still[None] - still_mean[:, None]  # (point, neighbour, 2)
        driver_off = driver[None] - driver_mean[:, None]
        cross = np.einsum("ij,ijk,ijl->ikl", weights, still_off, driver_off)
        spread = np.einsum("ij,ijk,ijl->ikl", weights, driver_off, driver_off)
        linear = cross @ np.linalg.inv(spread + 1e-9 * np.eye(2))
        u, stretch, vt = np.linalg.svd(linear)
        linear = u @ (np.clip(stretch, *LOCAL_MAP_STRETCH)[..., None] * vt)
        # Keep each map's scale along the face (perpendicular to the eye line): between two faces seen from
        # the front it is mostly the sitter's own proportions (a short chin), and a jaw drop shrunk with it
        # read as a mouth that barely opened (the 50 cross pairs: openings about a tenth smaller, dlib's
        # mouth r 0.752 -> 0.726). A head's turn foreshortens across the face, which the maps keep, and
        # slants its midline, which their shear keeps.
        across = eye_line / eye_span
        face = np.array([across, [-across[1], across[0]]])  # rows: across the face, along it
        in_face = face @ linear @ face.T
        in_face[:, 1, :] /= in_face[:, 1, 1:2]
        self.linear = face.T @ in_face @ face
        # The driver's neutral face as the maps carry it: the still's shape, but for what the Gaussian smooths.
        self.driver_mapped = self.carry(driver - driver_mean) + still_mean

    def carry(self, delta: np.ndarray) -> np.ndarray:
        """Per-point motion (driver's, in the still's scale) through each point's map."""
        return np.einsum("ikl,il->ik", self.linear, delta)

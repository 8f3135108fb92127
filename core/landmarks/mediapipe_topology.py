"""Index tables of MediaPipe's 478-point face mesh: its 68-point iBUG view and the contours the warp needs.

Points 0-467 are the face mesh, 468-477 the irises (with ``refine_landmarks``). "Right" and "left" are the
subject's sides (iBUG convention): the subject's right eye is on the image's left in a frontal face.
Contours run from the subject's right to left (image left to right) unless said otherwise.

Used by: ``motion`` (regions, lid and lip contours), ``render.warp`` (mesh and mouth loops).
"""

import numpy as np

FACE_MESH_COUNT = 468
DENSE_COUNT = 478

# The 68 iBUG 300-W points from the mesh. Each iBUG point is a fixed weighted mean of one or two
# neighbouring mesh vertices (a point on the mesh surface, so it moves with the face as the mesh does),
# fitted by scripts/fit_ibug68_mapping.py to agree with dlib's 68-point predictor (trained on iBUG 300-W)
# on frames of real driving videos, left-right symmetric. Rows in iBUG order:
# jaw 0-16 (subject's right ear -> chin -> left ear), right brow 17-21, left brow 22-26 (each outer ->
# inner for the right, inner -> outer for the left), nose bridge 27-30, nose base 31-35, right eye 36-41,
# left eye 42-47, outer lips 48-59, inner lips 60-67.
IBUG68_FROM_DENSE = (
    ((127, 0.95), (162, 0.05)),  # 0
    ((234, 0.75), (93, 0.25)),  # 1
    ((93, 0.5), (132, 0.5)),  # 2
    ((58, 0.65), (177, 0.35)),  # 3
    ((172, 0.75), (58, 0.25)),  # 4
    ((136, 0.85), (150, 0.15)),  # 5
    ((149, 0.8), (150, 0.2)),  # 6
    ((148, 0.55), (176, 0.45)),  # 7
    ((152, 1.0),),  # 8
    ((377, 0.55), (400, 0.45)),  # 9
    ((378, 0.8), (379, 0.2)),  # 10
    ((365, 0.85), (379, 0.15)),  # 11
    ((397, 0.75), (288, 0.25)),  # 12
    ((288, 0.65), (401, 0.35)),  # 13
    ((323, 0.5), (361, 0.5)),  # 14
    ((454, 0.75), (323, 0.25)),  # 15
    ((356, 0.95), (389, 0.05)),  # 16
    ((70, 0.65), (156, 0.35)),  # 17
    ((63, 0.9), (52, 0.1)),  # 18
    ((105, 0.65), (66, 0.35)),  # 19
    ((66, 0.65), (107, 0.35)),  # 20
    ((55, 0.55), (107, 0.45)),  # 21
    ((285, 0.55), (336, 0.45)),  # 22
    ((296, 0.65), (336, 0.35)),  # 23
    ((334, 0.65), (296, 0.35)),  # 24
    ((293, 0.9), (282, 0.1)),  # 25
    ((300, 0.65), (383, 0.35)),  # 26
    ((168, 0.7), (6, 0.3)),  # 27
    ((197, 0.8), (6, 0.2)),  # 28
    ((195, 0.5), (5, 0.5)),  # 29
    ((4, 1.0),),  # 30
    ((240, 0.7), (60, 0.3)),  # 31
    ((97, 0.8), (242, 0.2)),  # 32
    ((2, 0.85), (164, 0.15)),  # 33
    ((326, 0.8), (462, 0.2)),  # 34
    ((460, 0.7), (290, 0.3)),  # 35
    ((7, 0.6), (33, 0.4)),  # 36
    ((160, 0.55), (159, 0.45)),  # 37
    ((158, 0.75), (157, 0.25)),  # 38
    ((155, 0.95), (112, 0.05)),  # 39
    ((153, 0.9), (22, 0.1)),  # 40
    ((144, 0.85), (23, 0.15)),  # 41
    ((382, 0.95), (341, 0.05)),  # 42
    ((385, 0.75), (384, 0.25)),  # 43
    ((387, 0.55), (386, 0.45)),  # 44
    ((249, 0.6), (263, 0.4)),  # 45
    ((373, 0.85), (253, 0.15)),  # 46
    ((380, 0.9), (252, 0.1)),  # 47
    ((61, 0.85), (43, 0.15)),  # 48
    ((73, 0.5), (40, 0.5)),  # 49
    ((37, 0.7), (72, 0.3)),  # 50
    ((11, 0.6), (0, 0.4)),  # 51
    ((267, 0.7), (302, 0.3)),  # 52
    ((303, 0.5), (270, 0.5)),  # 53
    ((291, 0.85), (273, 0.15)),  # 54
    ((405, 0.55), (321, 0.45)),  # 55
    ((314, 0.95), (17, 0.05)),  # 56
    ((17, 0.95), (18, 0.05)),  # 57
    ((84, 0.95), (17, 0.05)),  # 58
    ((181, 0.55), (91, 0.45)),  # 59
    ((78, 0.75), (95, 0.25)),  # 60
    ((82, 0.85), (81, 0.15)),  # 61
    ((13, 1.0),),  # 62
    ((312, 0.85), (311, 0.15)),  # 63
    ((308, 0.75), (324, 0.25)),  # 64
    ((317, 0.8), (402, 0.2)),  # 65
    ((14, 0.8), (15, 0.2)),  # 66
    ((87, 0.8), (178, 0.2)),  # 67
)

# The mesh vertex that carries most of each iBUG point's weight: an index into the mesh where a single
# vertex per iBUG point is needed. ``to_ibug68`` is the faithful mapping.
TO_IBUG68 = tuple(terms[0][0] for terms in IBUG68_FROM_DENSE)

# Lips, corner to corner (subject's right corner first); upper and lower share the corners.
OUTER_LIP_UPPER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
OUTER_LIP_LOWER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
INNER_LIP_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
INNER_LIP_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
# The two rings of lip points between the inner and outer contours (inner one first), corner to corner and
# in step with them: the columns of a lip, from the opening out.
UPPER_LIP_RINGS = ((62, 183, 42, 41, 38, 12, 268, 271, 272, 407, 292),
                   (76, 184, 74, 73, 72, 11, 302, 303, 304, 408, 306))
LOWER_LIP_RINGS = ((62, 96, 89, 179, 86, 15, 316, 403, 319, 325, 292),
                   (76, 77, 90, 180, 85, 16, 315, 404, 320, 307, 306))
# Every ring of the lips from the opening out, each as (upper half, lower half): the warp mesh cuts along them.
LIP_RINGS = ((INNER_LIP_UPPER, INNER_LIP_LOWER), *zip(UPPER_LIP_RINGS, LOWER_LIP_RINGS),
             (OUTER_LIP_UPPER, OUTER_LIP_LOWER))

# Eye lids, outer-or-inner corner to the other corner; upper and lower share the corners.
RIGHT_EYE_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_EYE_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_EYE_UPPER = (362, 398, 384, 385, 386, 387, 388, 466, 263)
LEFT_EYE_LOWER = (362, 382, 381, 380, 374, 373, 390, 249, 263)

# Brows: five points along the upper edge, then five along the lower edge.
RIGHT_BROW = (70, 63, 105, 66, 107, 46, 53, 52, 65, 55)
LEFT_BROW = (336, 296, 334, 293, 300, 285, 295, 282, 283, 276)

RIGHT_IRIS = (468, 469, 470, 471, 472)
LEFT_IRIS = (473, 474, 475, 476, 477)

FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)

# Region sets (points may be listed in several contours above; these are de-duplicated unions).
UPPER_LIP_POINTS = tuple(sorted(set(OUTER_LIP_UPPER[1:-1] + INNER_LIP_UPPER[1:-1])))
LOWER_LIP_POINTS = tuple(sorted(set(OUTER_LIP_LOWER[1:-1] + INNER_LIP_LOWER[1:-1])))
LIP_POINTS = tuple(sorted(set(OUTER_LIP_UPPER + OUTER_LIP_LOWER + INNER_LIP_UPPER + INNER_LIP_LOWER)))
LIP_RING_POINTS = tuple(sorted({i for ring in LIP_RINGS for half in ring for i in half}))  # the rings' too
EYE_POINTS = tuple(sorted(set(RIGHT_EYE_UPPER + RIGHT_EYE_LOWER + LEFT_EYE_UPPER + LEFT_EYE_LOWER
                              + RIGHT_IRIS + LEFT_IRIS)))
BROW_POINTS = tuple(sorted(set(RIGHT_BROW + LEFT_BROW)))



def _ibug68_matrix() -> np.ndarray:
    matrix = np.zeros((len(IBUG68_FROM_DENSE), DENSE_COUNT), dtype=np.float64)
    for row, terms in enumerate(IBUG68_FROM_DENSE):
        for index, weight in terms:
            matrix[row, index] = weight
    return matrix


# (68, 478): iBUG points = IBUG68_MATRIX @ mesh points
IBUG68_MATRIX = _ibug68_matrix()
_IBUG68_PSEUDO_INVERSE = np.linalg.pinv(IBUG68_MATRIX)


def to_ibug68(dense: np.ndarray) -> np.ndarray:
    """(..., 478, 2) mesh points -> (..., 68, 2) float32 points in iBUG 300-W order (NaN stays NaN)."""
    return np.einsum("kd,...dc->...kc", IBUG68_MATRIX, np.asarray(dense, dtype=np.float64)).astype(np.float32)


def with_ibug68(dense: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The mesh moved as little as possible (least squares) so that ``to_ibug68`` of it is ``landmarks``.

    For a mesh edited through its 68 points (motion transfer): shapes (478, 2) and (68, 2), float32 out.
    """
    dense = np.asarray(dense, dtype=np.float64)
    residual = np.asarray(landmarks, dtype=np.float64) - IBUG68_MATRIX @ dense
    return (dense + _IBUG68_PSEUDO_INVERSE @ residual).astype(np.float32)

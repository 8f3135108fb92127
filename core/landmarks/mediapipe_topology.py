"""Index tables of MediaPipe's 478-point face mesh: the iBUG-68 subset and the contours the warp needs.

Points 0-467 are the face mesh, 468-477 the irises (with ``refine_landmarks``). "Right" and "left" are the
subject's sides (iBUG convention): the subject's right eye is on the image's left in a frontal face.
Contours run from the subject's right to left (image left to right) unless said otherwise.

Used by: ``motion`` (regions, lid and lip contours), ``render.warp`` (mesh and mouth loops).
"""

FACE_MESH_COUNT = 468
DENSE_COUNT = 478

# The 68 iBUG 300-W points, in iBUG order, as MediaPipe indices.
TO_IBUG68 = (
    # jaw 0-16 (subject's right ear -> chin -> left ear)
    162, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 389,
    # right brow 17-21, left brow 22-26
    71, 63, 105, 66, 107, 336, 296, 334, 293, 301,
    # nose bridge 27-30, nose base 31-35
    168, 197, 5, 4, 75, 97, 2, 326, 305,
    # right eye 36-41, left eye 42-47
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,
    # outer lips 48-59, inner lips 60-67
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181, 78, 82, 13, 312, 308, 317, 14, 87,
)

# Lips, corner to corner (subject's right corner first); upper and lower share the corners.
OUTER_LIP_UPPER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
OUTER_LIP_LOWER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
INNER_LIP_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
INNER_LIP_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)

# Eye lids, outer-or-inner corner to the other corner; upper and lower share the corners.
RIGHT_EYE_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_EYE_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_EYE_UPPER = (362, 398, 384, 385, 386, 387, 388, 466, 263)
LEFT_EYE_LOWER = (362, 382, 381, 380, 374, 373, 390, 249, 263)

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
EYE_POINTS = tuple(sorted(set(RIGHT_EYE_UPPER + RIGHT_EYE_LOWER + LEFT_EYE_UPPER + LEFT_EYE_LOWER
                              + RIGHT_IRIS + LEFT_IRIS)))
BROW_POINTS = tuple(sorted(set(RIGHT_BROW + LEFT_BROW)))


def to_ibug68(dense):
    """(..., 478, 2) mesh points -> (..., 68, 2) float32 points in iBUG 300-W order (NaN stays NaN)."""
    import numpy as np

    return np.asarray(dense, dtype=np.float32)[..., list(TO_IBUG68), :]

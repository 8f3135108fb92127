"""The 68-point iBUG 300-W landmark scheme: index ranges of each facial region."""

JAW = tuple(range(0, 17))
RIGHT_BROW = tuple(range(17, 22))  # the subject's right: image left for a frontal face
LEFT_BROW = tuple(range(22, 27))
NOSE_BRIDGE = tuple(range(27, 31))
NOSE_BASE = tuple(range(31, 36))
RIGHT_EYE = tuple(range(36, 42))  # 36 outer corner, 37-38 upper lid, 39 inner corner, 40-41 lower lid
LEFT_EYE = tuple(range(42, 48))  # 42 inner corner, 43-44 upper lid, 45 outer corner, 46-47 lower lid
OUTER_LIPS = tuple(range(48, 60))  # 48 right corner, 54 left corner
INNER_LIPS = tuple(range(60, 68))  # 60 right corner, 62 upper middle, 64 left corner, 66 lower middle

BROWS = RIGHT_BROW + LEFT_BROW
EYES = RIGHT_EYE + LEFT_EYE
NOSE = NOSE_BRIDGE + NOSE_BASE
MOUTH = OUTER_LIPS + INNER_LIPS

COUNT = 68

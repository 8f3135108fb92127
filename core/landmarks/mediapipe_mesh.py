"""MediaPipe's 478-point face-mesh network run on a face region we choose, with its face-presence score.

The legacy ``mp.solutions.face_mesh`` solution decides the face region itself (its own detector, or the
last frame's mesh) and hides the network's face-presence probability. We need both under our control: the
region comes from our detector on a downscaled still, or from the previous frame while tracking, and the
presence probability is each frame's confidence. So this module runs MediaPipe's own ``FaceLandmarkCpu``
graph (the nodes of ``mediapipe/modules/face_landmark/face_landmark_cpu.pbtxt`` in mediapipe 0.10.21,
Apache-2.0, with the attention model that also refines lips, eyes and irises) with the presence score as
an extra output instead of a gate. The model file ships in the mediapipe wheel; nothing is downloaded.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from .crop_window import CropWindow
from .native_stderr import silenced_native_stderr

# Input size of the mesh network; crops are cut at up to twice that so that MediaPipe's bilinear sampling
# never skips pixels.
NETWORK_INPUT = 192
MAX_ROI_PIXELS = 2 * NETWORK_INPUT
# A window 1.45x the region's side holds the region at any rotation (sqrt(2) plus a margin).
WINDOW_PER_ROI = 1.45
# MediaPipe's face-mesh graphs treat a face as present above this probability.
PRESENCE_THRESHOLD = 0.5
# MediaPipe makes the square network region 1.5x the face's box (FaceLandmarkLandmarksToRoi and
# FaceDetectionFrontDetectionToRoi); the network was trained on regions framed that way.
ROI_SCALE = 1.5
# Eye-corner points that fix the region's rotation (subject's right eye outer, left eye outer corner).
RIGHT_EYE_CORNER, LEFT_EYE_CORNER = 33, 263

_GRAPH = r"""
input_stream: "IMAGE:image"
input_stream: "ROI:roi"
output_stream: "LANDMARKS:face_landmarks"
output_stream: "PRESENCE:face_presence_score"
input_side_packet: "WITH_ATTENTION:with_attention"
node {
  calculator: "ImageToTensorCalculator"
  input_stream: "IMAGE:image"
  input_stream: "NORM_RECT:roi"
  output_stream: "TENSORS:input_tensors"
  options { [mediapipe.ImageToTensorCalculatorOptions.ext] {
    output_tensor_width: 192 output_tensor_height: 192
    output_tensor_float_range { min: 0 max: 1 } } }
}
node {
  calculator: "FaceLandmarksModelLoader"
  input_side_packet: "WITH_ATTENTION:with_attention"
  output_side_packet: "MODEL:model"
}
node { calculator: "TfLiteCustomOpResolverCalculator" output_side_packet: "OP_RESOLVER:op_resolver" }
node {
  calculator: "InferenceCalculator"
  input_stream: "TENSORS:input_tensors"
  output_stream: "TENSORS:output_tensors"
  input_side_packet: "MODEL:model"
  input_side_packet: "OP_RESOLVER:op_resolver"
  options { [mediapipe.InferenceCalculatorOptions.ext] { delegate { xnnpack {} } } }
}
node {
  calculator: "SplitTensorVectorCalculator"
  input_stream: "output_tensors"
  output_stream: "landmark_tensors"
  output_stream: "face_flag_tensor"
  options { [mediapipe.SplitVectorCalculatorOptions.ext] {
    ranges { begin: 0 end: 6 } ranges { begin: 6 end: 7 } } }
}
node {
  calculator: "TensorsToFloatsCalculator"
  input_stream: "TENSORS:face_flag_tensor"
  output_stream: "FLOAT:face_presence_score"
  options { [mediapipe.TensorsToFloatsCalculatorOptions.ext] { activation: SIGMOID } }
}
node {
  calculator: "TensorsToFaceLandmarksWithAttention"
  input_stream: "TENSORS:landmark_tensors"
  output_stream: "LANDMARKS:landmarks"
}
node {
  calculator: "LandmarkProjectionCalculator"
  input_stream: "NORM_LANDMARKS:landmarks"
  input_stream: "NORM_RECT:roi"
  output_stream: "NORM_LANDMARKS:face_landmarks"
}
"""


@dataclass(frozen=True)
class FaceRegion:
    """The square, rotated image region the mesh network looks at, in image pixels.

    ``rotation`` is in radians, MediaPipe's convention: positive when the subject's left eye (image right)
    is lower than the right eye.
    """

    center: tuple[float, float]
    side: float
    rotation: float = 0.0

    @classmethod
    def from_eyes(cls, box, right_eye, left_eye) -> "FaceRegion":
        """MediaPipe's framing: the box's centre, 1.5x its longer side, rotated to level the eyes."""
        x0, y0, x1, y1 = box
        rotation = -math.atan2(-(left_eye[1] - right_eye[1]), left_eye[0] - right_eye[0])
        return cls(((x0 + x1) / 2, (y0 + y1) / 2), ROI_SCALE * max(x1 - x0, y1 - y0), rotation)

    @classmethod
    def from_mesh(cls, dense: np.ndarray) -> "FaceRegion":
        """The region MediaPipe's tracking derives from a face's mesh (for the next frame or a second pass)."""
        low, high = dense.min(axis=0), dense.max(axis=0)
        return cls.from_eyes((low[0], low[1], high[0], high[1]), dense[RIGHT_EYE_CORNER],
                             dense[LEFT_EYE_CORNER])


class FaceMeshNetwork:
    """Runs the mesh network on one region of an image; one native graph, reused for every call."""

    def __init__(self):
        import mediapipe as mp
        from google.protobuf import text_format
        from mediapipe.framework import calculator_pb2
        from mediapipe.framework.formats import rect_pb2
        from mediapipe.python import packet_creator, packet_getter
        from mediapipe.python._framework_bindings import resource_util

        # model paths in MediaPipe graphs are relative to the folder that holds the mediapipe package
        resource_util.set_resource_dir(os.path.dirname(os.path.dirname(mp.__file__)))
        self._mp = mp
        self._create, self._get = packet_creator, packet_getter
        config = text_format.Parse(_GRAPH, calculator_pb2.CalculatorGraphConfig())
        self._outputs: dict = {}
        self._timestamp = 0
        self._last_depth = np.zeros(0)
        self._rect_type = rect_pb2.NormalizedRect
        with silenced_native_stderr():  # start-up and first inference print native INFO/W0000 lines
            self._graph = mp.CalculatorGraph(graph_config=config)
            self._graph.observe_output_stream(
                "face_landmarks", lambda _, packet: self._outputs.__setitem__("points", packet_getter.get_proto(packet)))
            self._graph.observe_output_stream(
                "face_presence_score",
                lambda _, packet: self._outputs.__setitem__("presence", packet_getter.get_float(packet)))
            self._graph.start_run({"with_attention": packet_creator.create_bool(True)})
            self.run(np.zeros((NETWORK_INPUT, NETWORK_INPUT, 3), np.uint8),
                     FaceRegion((NETWORK_INPUT / 2, NETWORK_INPUT / 2), NETWORK_INPUT / 2, 0.0))

    def run(self, image: np.ndarray, region: FaceRegion) -> tuple[np.ndarray, float]:
        """(478, 2) float32 image-pixel points and the face-presence probability for ``region``."""
        window = CropWindow.around(region.center, region.side * WINDOW_PER_ROI,
                                   max_size=math.ceil(MAX_ROI_PIXELS * WINDOW_PER_ROI))
        crop = np.ascontiguousarray(window.cut(image))
        centre = window.to_crop(np.array(region.center)) / window.size
        relative = region.side / window.side
        roi = self._rect_type(x_center=centre[0], y_center=centre[1], width=relative, height=relative,
                              rotation=region.rotation)
        self._outputs.clear()
        stamp = self._timestamp
        self._timestamp += 1
        frame = self._create.create_image_frame(image_format=self._mp.ImageFormat.SRGB, data=crop)
        self._graph.add_packet_to_input_stream("image", frame.at(stamp))
        self._graph.add_packet_to_input_stream("roi", self._create.create_proto(roi).at(stamp))
        self._graph.wait_until_idle()
        points = np.array([(p.x, p.y) for p in self._outputs["points"].landmark], dtype=np.float64)
        image_points = window.to_image(points * window.size).astype(np.float32)
        self._last_depth = np.array([p.z for p in self._outputs["points"].landmark]) * window.side
        return image_points, float(self._outputs["presence"])

    def last_depth(self) -> np.ndarray:
        """(478,) depth of the last run's points in image pixels, smaller nearer the camera (MediaPipe scales
        it as the points' x); the engine's face depth (``motion.face_depth``) was measured with it."""
        return self._last_depth.astype(np.float32)

    def close(self) -> None:
        if self._graph is not None:
            self._graph.close()
            self._graph = None

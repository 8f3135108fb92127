"""Building the face rig: the still on a plane, a camera that frames it, and a 68-point landmark mesh
with expression shape keys under a head control.

Layout (world units; the still's larger side is 2 units): the still hangs in the XZ plane facing an
orthographic camera at -Y, so a pixel of the still and a point on the plane project onto each other
exactly. Landmark vertices sit on their pixels' camera rays, pushed toward the camera by a generic face
depth, so turning the head control (its Z rotation) shows parallax while the rest pose projects exactly
onto the still's landmarks. Per-point controls (hook empties) are added when a performance is imported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import bpy
import numpy as np
from mathutils import Matrix, Vector

from ..errors import AddonError
from ..landmarks import face_shapes
from ..projection import PLANE_SIZE, StillPlane

CAMERA_DISTANCE = 5.0
HEAD_DEPTH_IODS = 0.9  # the head's pivot sits this many inter-ocular distances behind the eyes

# Edges drawn between landmarks so the mesh reads as a face: contours, closed eyes and lips.
_CHAINS = (tuple(range(0, 17)), tuple(range(17, 22)), tuple(range(22, 27)), tuple(range(27, 31)),
           tuple(range(31, 36)), (30, 33))
_LOOPS = (tuple(range(36, 42)), tuple(range(42, 48)), tuple(range(48, 60)), tuple(range(60, 68)))
LANDMARK_EDGES = tuple(
    [(a, b) for chain in _CHAINS for a, b in zip(chain, chain[1:])] +
    [(loop[i], loop[(i + 1) % len(loop)]) for loop in _LOOPS for i in range(len(loop))])


@dataclass
class FaceRig:
    """The objects of one face rig."""

    landmarks: bpy.types.Object
    head: bpy.types.Object
    plane: bpy.types.Object
    camera: bpy.types.Object

    @property
    def part(self):
        return self.landmarks.portrait_rig

    @property
    def still(self) -> StillPlane:
        return StillPlane(self.part.image_width, self.part.image_height)

    @property
    def image(self) -> bpy.types.Image | None:
        return self.part.still_image

    @property
    def collection(self) -> bpy.types.Collection:
        return self.landmarks.users_collection[0]

    @property
    def pivot(self) -> np.ndarray:
        """The head control's rest position (the children's parent-inverse undoes it)."""
        return -np.array(self.landmarks.matrix_parent_inverse.translation)

    def rest_points(self) -> np.ndarray:
        """(68, 3) rest positions of the landmark vertices, in the rig's rest (world) space."""
        basis = self.landmarks.data.shape_keys.reference_key
        co = np.empty(face_shapes.POINT_COUNT * 3, dtype=np.float64)
        basis.data.foreach_get("co", co)
        return co.reshape(-1, 3)

    def point_controls(self) -> list[bpy.types.Object]:
        """The per-point hook empties, in landmark order ([] before a performance is imported)."""
        controls = {}
        for modifier in self.landmarks.modifiers:
            if modifier.type == 'HOOK' and modifier.object is not None:
                controls[modifier.object.portrait_rig.point_index] = modifier.object
        return [controls[i] for i in sorted(controls)] if len(controls) == face_shapes.POINT_COUNT else []


def rig_from_object(obj: bpy.types.Object | None) -> FaceRig:
    """The rig a landmark mesh belongs to; an ``AddonError`` when the rig is incomplete."""
    if obj is None:
        raise AddonError("no face rig: create one with Create Face Rig, or pick one in the panel")
    part = obj.portrait_rig
    if part.role != 'LANDMARKS':
        raise AddonError(f"{obj.name} is not a face rig's landmark mesh")
    missing = [name for name in ("head", "plane", "camera") if getattr(part, name) is None]
    if missing or obj.data.shape_keys is None or len(obj.data.vertices) != face_shapes.POINT_COUNT:
        raise AddonError(f"face rig {obj.name} is incomplete (missing: {', '.join(missing) or 'its 68 points'}); "
                         "create it again")
    return FaceRig(obj, part.head, part.plane, part.camera)


def build_face_rig(context, image: bpy.types.Image, landmarks: np.ndarray, name: str) -> FaceRig:
    """Create a rig for ``image`` whose face has these 68 landmarks (the still's pixels)."""
    width, height = int(image.size[0]), int(image.size[1])
    if width <= 0 or height <= 0:
        raise AddonError(f"{image.name}: the image has no pixels (is its file missing?)")
    still = StillPlane(width, height)
    landmarks = np.asarray(landmarks, dtype=np.float64)
    frame = face_shapes.FaceFrame.of(landmarks)
    scene = context.scene

    collection = bpy.data.collections.new(f"{name} Face Rig")
    scene.collection.children.link(collection)
    camera = _camera(collection, name, still)
    plane = _still_plane(collection, name, still, image)

    rest = still.to_world(landmarks, depth=face_shapes.depth_profile(landmarks))
    centre = rest.mean(axis=0)
    pivot = Vector((centre[0], frame.iod * HEAD_DEPTH_IODS * still.units_per_pixel, centre[2]))
    head = bpy.data.objects.new(f"{name} Head", None)
    head.empty_display_type = 'SPHERE'
    head.empty_display_size = frame.iod * still.units_per_pixel * 0.5
    head.location = pivot
    head.show_in_front = True
    collection.objects.link(head)

    mesh = bpy.data.meshes.new(f"{name} Landmarks")
    mesh.from_pydata([tuple(v) for v in rest], LANDMARK_EDGES, [])
    mesh.update()
    landmark_object = bpy.data.objects.new(f"{name} Landmarks", mesh)
    landmark_object.show_in_front = True
    collection.objects.link(landmark_object)
    _parent(landmark_object, head)
    _add_shape_keys(landmark_object, rest, landmarks, still)

    for obj, role in ((landmark_object, 'LANDMARKS'), (head, 'HEAD'), (plane, 'PLANE'), (camera, 'CAMERA')):
        part = obj.portrait_rig
        part.role = role
        part.image_width, part.image_height = width, height
        part.still_image = image
        part.camera, part.plane, part.head, part.landmarks = camera, plane, head, landmark_object

    scene.camera = camera
    scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.render.pixel_aspect_x = scene.render.pixel_aspect_y = 1.0
    return FaceRig(landmark_object, head, plane, camera)


def ensure_point_controls(rig: FaceRig) -> list[bpy.types.Object]:
    """The 68 per-point hook empties (children of the head) that carry an imported performance.

    Each hook moves its one vertex by the empty's offset from its rest position, in the head's space, on
    top of the shape keys: the performance stays editable per point, in the viewport and Graph Editor.
    """
    existing = rig.point_controls()
    if existing:
        return existing
    rest = rig.rest_points()
    name = rig.landmarks.name.removesuffix(" Landmarks")
    points = bpy.data.collections.new(f"{name} Points")
    rig.collection.children.link(points)
    size = 0.004 * PLANE_SIZE
    controls = []
    for index in range(face_shapes.POINT_COUNT):
        empty = bpy.data.objects.new(f"{name} Point {index:02d}", None)
        empty.empty_display_type = 'SPHERE'
        empty.empty_display_size = size
        empty.show_in_front = True
        empty.location = Vector(rest[index])
        points.objects.link(empty)
        _parent(empty, rig.head)
        part = empty.portrait_rig
        part.role, part.point_index, part.landmarks = 'POINT', index, rig.landmarks
        hook = rig.landmarks.modifiers.new(f"Point {index:02d}", 'HOOK')
        hook.object = empty
        hook.vertex_indices_set([index])
        hook.falloff_type = 'NONE'
        hook.strength = 1.0
        hook.center = Vector(rest[index])
        hook.matrix_inverse = Matrix.Translation(Vector(-rest[index]))
        hook.show_expanded = False
        controls.append(empty)
    return controls


# ------------------------------------------------------------------------------------------ helpers
def _camera(collection, name: str, still: StillPlane) -> bpy.types.Object:
    data = bpy.data.cameras.new(f"{name} Camera")
    data.type = 'ORTHO'
    data.ortho_scale = PLANE_SIZE
    data.sensor_fit = 'AUTO'
    data.clip_start, data.clip_end = 0.01, 100.0
    camera = bpy.data.objects.new(f"{name} Camera", data)
    camera.location = (0.0, -CAMERA_DISTANCE, 0.0)
    camera.rotation_euler = (math.pi / 2, 0.0, 0.0)
    collection.objects.link(camera)
    return camera


def _still_plane(collection, name: str, still: StillPlane, image) -> bpy.types.Object:
    half_w, half_h = (s / 2 for s in still.size)
    mesh = bpy.data.meshes.new(f"{name} Still")
    mesh.from_pydata([(-half_w, 0, -half_h), (half_w, 0, -half_h), (half_w, 0, half_h), (-half_w, 0, half_h)],
                     [], [(0, 1, 2, 3)])
    uv = mesh.uv_layers.new(name="UVMap")
    uv.data.foreach_set("uv", [0, 0, 1, 0, 1, 1, 0, 1])
    mesh.materials.append(_still_material(name, image))
    mesh.update()
    plane = bpy.data.objects.new(f"{name} Still", mesh)
    plane.hide_select = True  # the landmarks in front of it are what an animator picks
    collection.objects.link(plane)
    return plane


def _still_material(name: str, image) -> bpy.types.Material:
    """Emission-only: the still renders and previews at its own colours, unlit."""
    material = bpy.data.materials.new(f"{name} Still")
    if material.node_tree is None:  # Blender 5.0 materials always have nodes (use_nodes is deprecated)
        material.use_nodes = True
    nodes, links = material.node_tree.nodes, material.node_tree.links
    nodes.clear()
    texture = nodes.new('ShaderNodeTexImage')
    texture.name = texture.label = "Portrait"
    texture.image = image
    texture.extension = 'EXTEND'
    texture.location = (-400, 0)
    emission = nodes.new('ShaderNodeEmission')
    emission.location = (-100, 0)
    output = nodes.new('ShaderNodeOutputMaterial')
    output.location = (150, 0)
    links.new(texture.outputs["Color"], emission.inputs["Color"])
    links.new(emission.outputs["Emission"], output.inputs["Surface"])
    nodes.active = texture
    return material


def _parent(child: bpy.types.Object, head: bpy.types.Object) -> None:
    """Parent keeping the rest pose: the child's local space is the rig's rest (world) space."""
    child.parent = head
    child.matrix_parent_inverse = Matrix.Translation(head.location).inverted()


def _add_shape_keys(obj, rest: np.ndarray, landmarks: np.ndarray, still: StillPlane) -> None:
    obj.shape_key_add(name="Basis", from_mix=False)
    for name, delta in face_shapes.shape_deltas(landmarks).items():
        key = obj.shape_key_add(name=name, from_mix=False)
        key.data.foreach_set("co", (rest + still.vector_to_world(delta)).ravel())
        key.slider_min, key.slider_max = 0.0, 1.0
        key.value = 0.0  # Blender 5.0 creates new shape keys at full strength
    obj.data.shape_keys.name = f"{obj.name} Expressions"

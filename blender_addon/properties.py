"""The add-on's data: scene settings, the face rig's parts, and the running task's status."""

import math

import bpy
from bpy.props import (BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty,
                       StringProperty)
from bpy.types import PropertyGroup

# Path settings accept "//" (relative to the .blend); Blender 4.5 wants that declared.
PATH_OPTIONS = {'PATH_SUPPORTS_BLEND_RELATIVE'} if bpy.app.version >= (4, 5, 0) else set()

RIG_ROLES = (
    ('NONE', "None", "Not part of a face rig"),
    ('LANDMARKS', "Landmarks", "The 68-point landmark mesh the engine follows"),
    ('HEAD', "Head", "The head control: turn, nod and tilt the face with its transform"),
    ('POINT', "Point", "One landmark's control (its keyframes are the imported performance)"),
    ('PLANE', "Still", "The plane showing the still"),
    ('CAMERA', "Camera", "The camera that frames the still"),
)


def is_rig_landmarks(_settings, obj) -> bool:
    return obj.type == 'MESH' and obj.portrait_rig.role == 'LANDMARKS'


class PortraitRigPart(PropertyGroup):
    """What an object is in a face rig, and (on the landmark mesh) where the rest of the rig is."""

    role: EnumProperty(name="Role", items=RIG_ROLES, default='NONE')
    point_index: IntProperty(name="Point", description="iBUG 68 index of a point control", default=-1)
    image_width: IntProperty(name="Still Width", min=0)
    image_height: IntProperty(name="Still Height", min=0)
    still_image: PointerProperty(name="Still", type=bpy.types.Image)
    camera: PointerProperty(name="Camera", type=bpy.types.Object)
    plane: PointerProperty(name="Still Plane", type=bpy.types.Object)
    head: PointerProperty(name="Head", type=bpy.types.Object)
    landmarks: PointerProperty(name="Landmarks", type=bpy.types.Object)


class PortraitAnimatorSettings(PropertyGroup):
    """One scene's portrait: the still, the driver, the output and the motion settings."""

    still_source: EnumProperty(name="Still From", items=(
        ('FILE', "File", "A still image file"),
        ('IMAGE', "Image", "An image in this .blend (packed and generated images work too)"),
    ), default='FILE')
    still_path: StringProperty(name="Still", subtype='FILE_PATH', options=PATH_OPTIONS,
                               description="The portrait to animate (photo, painting, scan)")
    still_image: PointerProperty(name="Still Image", type=bpy.types.Image)

    driver_kind: EnumProperty(name="Driver", items=(
        ('VIDEO', "Video", "A video of a face (mp4, mov, avi, webm)"),
        ('SEQUENCE', "Image Sequence", "Numbered frames of a face; pick any one of them, or the folder"),
        ('LANDMARKS', "Landmark File", "A .npz landmark track (portrait-animator landmarks)"),
        ('RIG', "Face Rig", "The face rig in this scene, animated by keyframes"),
        ('PRESET', "Preset", "A built-in performance: no video needed"),
    ), default='VIDEO')
    driver_path: StringProperty(name="Driver File", subtype='FILE_PATH', options=PATH_OPTIONS)
    driver_preset: EnumProperty(name="Preset", items=(
        ('idle', "Idle", "Small head sway and occasional blinks"),
        ('blink', "Blink", "Blinks"),
        ('smile', "Smile", "A smile"),
        ('talk', "Talk", "Speech-like mouth motion"),
    ), default='talk')
    rig: PointerProperty(name="Face Rig", type=bpy.types.Object, poll=is_rig_landmarks,
                         description="The face rig's landmark mesh: the driver when Driver is Face Rig, and "
                                     "where Import Driver as Rig puts the performance")
    neutral_frame: IntProperty(name="Neutral Frame", min=0, default=0,
                               description="Driver frame with a relaxed face, the rest pose of an imported "
                                           "performance (0: the first frame with a face)")

    shot_name: StringProperty(name="Shot Name", description="Frame file names (default: the still's name)")
    output_path: StringProperty(name="Output", subtype='FILE_PATH', options=PATH_OPTIONS,
                                description="Folder or frame pattern (# for frame digits, // relative to the "
                                            ".blend); empty: the folder from the add-on preferences")
    file_format: EnumProperty(name="File Format", items=(
        ('DEFAULT', "Preferences", "The file format set in the add-on preferences"),
        ('OPEN_EXR', "OpenEXR", "Half-float linear EXR with the face matte as a channel"),
        ('PNG', "PNG", "16-bit sRGB PNG, the matte as a sibling sequence"),
    ), default='DEFAULT')
    use_scene_range: BoolProperty(name="Scene Frame Range", default=True,
                                  description="Render the scene's frame range (frame N = driver frame N); "
                                              "off: every driver frame")
    overwrite: BoolProperty(name="Overwrite", default=False,
                            description="Render frames again that already exist (off: resume, keeping them)")
    load_into: EnumProperty(name="Load Into", items=(
        ('IMAGE_EDITOR', "Image Editor", "Show the frames in the Image Editor"),
        ('SEQUENCER', "Sequencer", "Add an image strip on a free channel"),
        ('COMPOSITOR', "Compositor", "Add an Image node to the compositor"),
        ('RIG_PLANE', "Rig Plane", "Show the frames on the face rig's still plane"),
        ('NONE', "Nowhere", "Only write the files"),
    ), default='IMAGE_EDITOR')

    renderer: EnumProperty(name="Renderer", items=(
        ('warp', "Warp", "Landmark-driven warp of the still: no weights needed"),
        ('neural-hybrid', "Neural Hybrid",
         "Warp refined by a network (the engine's small model unless a checkpoint is given)"),
        ('neural-paper', "Neural (Paper)", "The few-shot talking-head generator (needs a checkpoint)"),
    ), default='warp')
    checkpoint: StringProperty(name="Checkpoint", subtype='FILE_PATH', options=PATH_OPTIONS)
    crop_size: EnumProperty(name="Face Crop", items=(
        ('256', "256", ""), ('512', "512", ""), ('1024', "1024", "")), default='512')
    face_index: IntProperty(name="Face", min=-1, default=-1,
                            description="Which face of the still, largest first (-1: the largest)")
    glasses: EnumProperty(name="Glasses", items=(
        ('auto', "Auto", "Read from the still whether it wears glasses"),
        ('on', "On", "The still wears glasses: the rims and bridge move as one rigid piece with the head"),
        ('off', "Off", "Warp the eyes' surroundings with the skin (frees the skin round the eyes; rims bend)"),
    ), default='auto')
    motion_mode: EnumProperty(name="Motion", items=(
        ('relative', "Relative", "The driver's motion applied to the still's own face shape"),
        ('absolute', "Absolute", "The driver's face shape itself"),
    ), default='relative')
    head_gain: FloatProperty(name="Head", default=1.0, min=-1.0, max=3.0)
    eyes_gain: FloatProperty(name="Eyes", default=1.0, min=-1.0, max=3.0)
    brows_gain: FloatProperty(name="Brows", default=1.0, min=-1.0, max=3.0)
    mouth_gain: FloatProperty(name="Mouth", default=1.0, min=-1.0, max=3.0)
    smoothing: FloatProperty(name="Smoothing", default=0.3, min=0.0, max=1.0, subtype='FACTOR')
    close_open_mouth: BoolProperty(name="Close Open Mouth", default=True,
                                   description="A still with an open mouth (a smile with teeth, a vowel) first "
                                               "closes it to the driver's rest, so it follows the driver; off: "
                                               "the still's opening is its rest")
    max_turn: FloatProperty(name="Max Head Turn", default=math.radians(25.0), min=0.0, max=math.radians(90.0),
                            subtype='ANGLE',
                            description="The most the still's head turns or nods: a warp squeezes the face past "
                                        "about 30°, so turns past half this are eased towards it (0: no limit)")

    last_output: StringProperty(name="Last Render", subtype='FILE_PATH', options=PATH_OPTIONS,
                                description="Frame pattern of the last finished render")


class PortraitAnimatorStatus(PropertyGroup):
    """The running engine command, as panels and the status bar show it (not saved)."""

    running: BoolProperty(default=False)
    label: StringProperty()
    done: IntProperty()
    total: IntProperty()
    progress: FloatProperty(subtype='FACTOR', min=0.0, max=1.0)
    eta: StringProperty()
    message: StringProperty()


CLASSES = (PortraitRigPart, PortraitAnimatorSettings, PortraitAnimatorStatus)


def attach():
    bpy.types.Object.portrait_rig = PointerProperty(type=PortraitRigPart)
    bpy.types.Scene.portrait_animator = PointerProperty(type=PortraitAnimatorSettings)
    bpy.types.WindowManager.portrait_animator_status = PointerProperty(type=PortraitAnimatorStatus)


def detach():
    del bpy.types.WindowManager.portrait_animator_status
    del bpy.types.Scene.portrait_animator
    del bpy.types.Object.portrait_rig

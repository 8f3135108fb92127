"""Blender-side building blocks (these modules use bpy): the face rig, its animation, stills and
loading rendered sequences back into the scene."""

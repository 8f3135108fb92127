"""Registering the add-on's classes and properties, and undoing exactly that on unregister."""

import bpy

from . import operators, panels, preferences, properties, tasks

_CLASSES = (
    preferences.PortraitAnimatorPreferences,
    *properties.CLASSES,
    *operators.CLASSES,
    *panels.CLASSES,
)


def register():
    for cls in _CLASSES:
        bpy.utils.register_class(cls)
    properties.attach()
    panels.attach()


def unregister():
    tasks.stop_all()
    panels.detach()
    properties.detach()
    for cls in reversed(_CLASSES):
        bpy.utils.unregister_class(cls)

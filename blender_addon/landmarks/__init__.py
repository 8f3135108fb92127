"""Landmark data on the add-on side (plain Python + numpy, no bpy): the ``.npz`` file, the rig's
expression shapes, and retargeting a driver's track onto a still's face."""

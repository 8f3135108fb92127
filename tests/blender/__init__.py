"""Tests that run inside real Blender; see conftest.py."""

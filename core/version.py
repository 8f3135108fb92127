"""The engine's version, read by setup.py and written into every frame's provenance metadata."""

__version__ = "0.1.0"

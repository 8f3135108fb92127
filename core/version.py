"""The engine's version, read by setup.py and written into every frame's provenance metadata.

Raised whenever the same settings render different pixels: a resumed render keeps only finished frames of
its own version, so a shot is never half one engine and half another.
"""

__version__ = "0.4.8"

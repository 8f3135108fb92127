"""Renderers: they turn target landmarks on a source face into an animated face crop and a matte."""

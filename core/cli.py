"""The ``portrait-animator`` command (being built)."""


def main(argv=None):
    raise SystemExit("portrait-animator: not built yet")

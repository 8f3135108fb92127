"""Build the installable Blender extension zip of ``blender_addon/``.

Runs the extension builder that ships inside the ``bpy`` package, exactly what
``blender --command extension build`` runs (``bl_pkg``'s CLI, with Blender's own list of valid tags), so
no ``blender`` binary is needed. Prints the zip's path.

    .venv/bin/python scripts/build_addon.py [--output-dir dist]
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(ROOT, "blender_addon")


def build(output_dir: str) -> str:
    """Build the zip into ``output_dir`` and return its path."""
    with open(os.path.join(SOURCE, "blender_manifest.toml"), "rb") as handle:
        manifest = tomllib.load(handle)
    os.makedirs(output_dir, exist_ok=True)
    target = os.path.join(os.path.abspath(output_dir), f"{manifest['id']}-{manifest['version']}.zip")
    import bpy  # noqa: F401  (puts Blender's bundled scripts, bl_pkg among them, on sys.path)
    from bl_pkg import bl_extension_cli

    status = bl_extension_cli.cli_extension_handler(
        ["build", "--source-dir", SOURCE, "--output-filepath", target])
    if status != 0 or not os.path.isfile(target):
        raise SystemExit(f"build_addon: the extension builder failed (exit {status})")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", default=os.path.join(ROOT, "dist"))
    args = parser.parse_args(argv)
    print(build(args.output_dir))
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # bpy can hang at interpreter exit; nothing of Blender's needs a clean shutdown here

"""Provenance fields as image-file attributes that survive in EXR, PNG and TIFF, and reading them back.

Where they are stored:
- EXR: one string attribute per field (``PortraitAnimator:renderer`` ...), shown by Nuke as
  ``exr/PortraitAnimator:renderer``; plus ``Software`` and ``comments`` (OIIO's ImageDescription).
- PNG: one tEXt chunk per field with the same keys, plus ``Software`` and ``Description``.
- TIFF keeps only its standard tags, so the fields travel as JSON in ImageDescription.
In every format ImageDescription starts with the plain synthetic statement, then the JSON of all fields.
"""

from __future__ import annotations

import json
import os
from typing import Mapping

import OpenImageIO as oiio

from ..errors import UnreadableFileError
from .provenance import SOFTWARE, SYNTHETIC_STATEMENT

ATTRIBUTE_PREFIX = "PortraitAnimator:"
_FORMATS_WITH_FREE_ATTRIBUTES = ("openexr", "png")


def set_metadata(spec: oiio.ImageSpec, fields: Mapping[str, str], file_format: str) -> None:
    """Put ``fields`` on ``spec`` in the form that ``file_format`` (an OIIO format name) keeps."""
    spec.attribute("Software", f"{SOFTWARE} {fields.get('version', '')}".strip())
    # No creation date: OIIO would stamp the write time (EXR capDate, TIFF DateTime), and a re-render or a farm
    # chunk must give byte-identical files. The file's own mtime says when it was written.
    spec.attribute("DateTime", "")
    spec.attribute("ImageDescription", description(fields))
    if file_format in _FORMATS_WITH_FREE_ATTRIBUTES:
        for key, value in fields.items():
            spec.attribute(ATTRIBUTE_PREFIX + key, str(value))


def description(fields: Mapping[str, str]) -> str:
    """The synthetic statement on its own line, then the fields as JSON (for formats without free keys)."""
    return f"{SYNTHETIC_STATEMENT}\n{json.dumps(dict(fields), sort_keys=True)}"


def read_frame_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The provenance fields of a frame file this package wrote ({} for a file without them)."""
    path = os.fspath(path)
    image = oiio.ImageInput.open(path)
    if image is None:
        raise UnreadableFileError(f"{path}: cannot read frame metadata ({oiio.geterror().strip()})")
    try:
        spec = image.spec()
    finally:
        image.close()
    fields = _fields_from_description(spec.get_string_attribute("ImageDescription"))
    for attribute in spec.extra_attribs:
        if attribute.name.startswith(ATTRIBUTE_PREFIX):
            fields[attribute.name[len(ATTRIBUTE_PREFIX):]] = str(attribute.value)
    return fields


def _fields_from_description(text: str) -> dict[str, str]:
    first, _, rest = (text or "").partition("\n")
    if first.strip() != SYNTHETIC_STATEMENT or not rest.strip():
        return {}
    try:
        fields = json.loads(rest)
    except ValueError:
        return {}
    return {str(key): str(value) for key, value in fields.items()} if isinstance(fields, dict) else {}

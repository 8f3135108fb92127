"""Which clips and stills show the same person, so cross-reenactment never pairs a person with themself.

Two sources: a plain text file (one group per line: file names or globs, separated by spaces or commas,
``#`` starts a comment), or a media manifest in Markdown whose "Identity groups" section names the files of
one person in backticks on one bullet or in one sentence (the shared media's MANIFEST.md is written so).
Names are compared without folder and extension. Grouping too much only removes pairs, never adds one, so
where a line is ambiguous the parser errs towards one group.
"""

from __future__ import annotations

import fnmatch
import os
import re

from ..errors import UnreadableFileError

_BACKTICKED = re.compile(r"`([^`]+)`")
_SECTION = re.compile(r"^#+\s*identity groups", re.IGNORECASE)


def _key(name: str) -> str:
    base = os.path.basename(name.strip())
    stem, ext = os.path.splitext(base)
    return (stem if ext and "*" not in ext else base).lower()


class IdentityGroups:
    """Groups of file-name patterns; ``same_person(a, b)`` when both match one group (or a == b)."""

    def __init__(self, groups: list[list[str]] | None = None, source: str | None = None):
        self.groups = [[_key(p) for p in group] for group in (groups or []) if len(group) >= 2]
        self.source = source

    def same_person(self, a: str, b: str) -> bool:
        a, b = _key(a), _key(b)
        if a == b:
            return True
        return any(self._matches(a, group) and self._matches(b, group) for group in self.groups)

    @staticmethod
    def _matches(name: str, group: list[str]) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in group)

    # ------------------------------------------------------------------------------------ reading
    @classmethod
    def load(cls, path: str) -> "IdentityGroups":
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as error:
            raise UnreadableFileError(f"{path}: cannot read the identity groups ({error.strerror})") from None
        if path.lower().endswith((".md", ".markdown")):
            return cls(_markdown_groups(text), path)
        groups = []
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                groups.append([name for name in re.split(r"[\s,]+", line) if name])
        return cls(groups, path)

    @classmethod
    def find_beside(cls, folder: str) -> "IdentityGroups":
        """The MANIFEST.md in ``folder`` or its parent, if there is one; else no groups."""
        for candidate in (folder, os.path.dirname(os.path.abspath(folder))):
            path = os.path.join(candidate, "MANIFEST.md")
            if os.path.isfile(path):
                return cls.load(path)
        return cls()


def _markdown_groups(text: str) -> list[list[str]]:
    groups, inside = [], False
    for line in text.splitlines():
        if line.startswith("#"):
            inside = bool(_SECTION.match(line))
            continue
        if not inside:
            continue
        stripped = line.strip()
        pieces = [stripped] if stripped.startswith(("-", "*")) else re.split(r"(?<=[.;])\s+", stripped)
        for piece in pieces:
            names = _BACKTICKED.findall(piece)
            if len(names) >= 2:
                groups.append(names)
    return groups

"""Turning ``portrait-animator doctor --json`` output into lines a preferences panel can show
(plain Python, no bpy). The report's keys belong to the engine, so any shape is accepted and shown."""

from __future__ import annotations

import json


def parse_doctor_output(lines: list[str]) -> dict:
    """The JSON object printed by ``doctor --json`` (it may span several lines)."""
    text = "\n".join(lines).strip()
    start = text.find("{")
    if start < 0:
        raise ValueError("the engine's doctor printed no JSON report")
    value = json.loads(text[start:])
    if not isinstance(value, dict):
        raise ValueError("the engine's doctor report is not a JSON object")
    return value


def summary_lines(report: dict, width: int = 100) -> list[str]:
    """One short line per top-level entry: ``key: value`` with nested values flattened."""
    lines = []
    for key, value in report.items():
        lines.append(_clip(f"{_label(key)}: {_flat(value)}", width))
    return lines


def _flat(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_flat(v)}" for k, v in value.items()) or "-"
    if isinstance(value, (list, tuple)):
        return ", ".join(_flat(v) for v in value) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "-"
    return str(value)


def _label(key: str) -> str:
    return str(key).replace("_", " ").capitalize()


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"

"""Mirroring the running task into the window manager's status properties, which the panels and the
status bar draw (they only draw; this is the one place that writes them)."""

from __future__ import annotations

from .tasks import EngineTask


def format_seconds(seconds: float | None) -> str:
    """``1:05`` / ``1:02:05`` for a time left; "" when unknown."""
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def show(context, task: EngineTask) -> None:
    status = context.window_manager.portrait_animator_status
    state = task.process.state
    status.running = True
    status.label = task.label
    status.done, status.total = state.done, state.total
    status.progress = state.fraction
    status.eta = format_seconds(task.process.eta_s)
    status.message = state.message or state.stage
    _redraw(context)


def clear(context) -> None:
    status = context.window_manager.portrait_animator_status
    status.running = False
    status.label = status.eta = status.message = ""
    status.done = status.total = 0
    status.progress = 0.0
    _redraw(context)


def _redraw(context) -> None:
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            if area.type in {'VIEW_3D', 'IMAGE_EDITOR', 'SEQUENCE_EDITOR', 'STATUSBAR', 'PREFERENCES'}:
                area.tag_redraw()

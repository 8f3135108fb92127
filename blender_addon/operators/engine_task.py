"""The shape every engine-running operator shares.

``invoke`` (a button click) starts the task and returns at once; a window timer polls it from ``modal``
so Blender's UI never waits on the engine. ``execute`` (scripts, background mode, where modal timers
never fire) polls in a loop until it is done. Either way the task's finish step changes the scene only
after the engine succeeded, and engine errors become one-line ERROR reports.
"""

from __future__ import annotations

from .. import status, tasks
from ..errors import AddonError

POLL_SECONDS = 0.2


class EngineTaskOperator:
    """Mix-in: subclasses define ``start(context)`` returning an ``EngineTask`` or a finished report."""

    _task = None
    _timer = None

    def start(self, context):
        raise NotImplementedError

    def _begin(self, context):
        """(the started task, None), or (None, the operator's result) where starting already ended it: an
        error, or a report that there was nothing to run."""
        try:
            started = self.start(context)
        except AddonError as error:
            return None, self._reported(('ERROR', str(error)))
        if not isinstance(started, tasks.EngineTask):
            return None, self._reported(started)
        return started, None

    def execute(self, context):
        started, ended = self._begin(context)
        if started is None:
            return ended
        try:
            report = started.wait(context, on_poll=lambda task: status.show(context, task))
        except AddonError as error:
            report = ('ERROR', str(error))
        status.clear(context)
        return self._reported(report)

    def invoke(self, context, _event):
        if context.window is None:
            return self.execute(context)
        started, ended = self._begin(context)
        if started is None:
            return ended
        self._task = started
        status.show(context, started)
        self._timer = context.window_manager.event_timer_add(POLL_SECONDS, window=context.window)
        context.window_manager.modal_handler_add(self)
        return {'RUNNING_MODAL'}

    def modal(self, context, event):
        if event.type != 'TIMER':
            return {'PASS_THROUGH'}
        if not self._task.poll():
            status.show(context, self._task)
            return {'PASS_THROUGH'}
        context.window_manager.event_timer_remove(self._timer)
        report = self._task.finish(context)
        status.clear(context)
        return self._reported(report)

    def cancel(self, context):
        """Blender ends the operator (a new file, quitting): stop the engine, keep its finished frames."""
        if self._timer is not None:
            context.window_manager.event_timer_remove(self._timer)
        if self._task is not None:
            self._task.abandon()
        status.clear(context)

    def _reported(self, report):
        level, message = report
        self.report({level}, message)
        return {'FINISHED'} if level == 'INFO' else {'CANCELLED'}

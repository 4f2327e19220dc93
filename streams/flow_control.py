"""A fix to Faust's flow control: a repeated resume must not drop fetched messages.

``FlowControlEvent.resume`` (mode) empties every agent's input queue. Faust
means that for the end of a rebalance, when the consumer has just been seeked
back to the committed offsets and will fetch those messages again. But when a
worker starts and no table needs restoring, Recovery resumes flow twice: once
when it finds nothing to restore (the fetcher starts), and again after seeking
the streams to their committed offsets. Messages fetched between the seek and
the second resume sit in the queues and are thrown away, while the consumer has
already read past them, so they are not fetched again: an agent never sees
them, never acks them, and the partition's committed offset stops there until
the next restart (seen with faust-streaming 0.15.3 after a ``kill -9``: payment
requests never charged). Emptying the queues only when flow really was
suspended keeps the rebalance behaviour and removes the loss; at worst a message
fetched before the seek is delivered twice, which at-least-once agents expect.
"""

from __future__ import annotations

from mode.utils.queues import FlowControlEvent


def _resume(self: FlowControlEvent) -> None:
    was_suspended = self._suspend.is_set()
    self._suspend.clear()
    self._resume.set()
    if was_suspended:
        self.clear()


def keep_queues_on_repeated_resume() -> None:
    """Patch ``FlowControlEvent.resume`` (idempotent; call before the worker starts)."""
    FlowControlEvent.resume = _resume  # type: ignore[method-assign]

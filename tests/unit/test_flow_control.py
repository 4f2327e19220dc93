"""Faust flow control keeps fetched messages when flow is resumed while already running."""

from __future__ import annotations

from mode.utils.queues import FlowControlEvent, FlowControlQueue

from streams.flow_control import keep_queues_on_repeated_resume


def _queue_with(flow: FlowControlEvent, *items: int) -> FlowControlQueue[int]:
    queue: FlowControlQueue[int] = FlowControlQueue(flow_control=flow, clear_on_resume=True)
    for item in items:
        queue.put_nowait(item)
    return queue


def test_a_repeated_resume_keeps_queued_messages() -> None:
    keep_queues_on_repeated_resume()
    flow = FlowControlEvent(initially_suspended=False)
    queue = _queue_with(flow, 1, 2)
    flow.resume()
    assert queue.qsize() == 2


def test_resuming_after_a_suspend_still_empties_the_queues() -> None:
    keep_queues_on_repeated_resume()
    flow = FlowControlEvent(initially_suspended=False)
    queue = _queue_with(flow, 1, 2)
    flow.suspend()
    flow.resume()
    assert queue.qsize() == 0
    assert flow.is_active()

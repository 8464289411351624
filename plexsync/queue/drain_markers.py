"""The drain's side of the drain markers (markers.py has the keys, the rules and the hook's
side): each method is one `JobQueue.update_meta` step, so it is atomic with the queue's state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from plexsync.queue import markers
from plexsync.queue.markers import DrainState

if TYPE_CHECKING:
    from plexsync.queue.job_queue import JobQueue


class DrainMarkers:
    def __init__(self, queue: JobQueue) -> None:
        self.queue = queue

    def begin(self, owner: str) -> None:
        """The drain started: heartbeat on, the pending request (if any) is fulfilled."""
        stamp = markers.stamp(self.queue.clock())
        self.queue.update_meta(lambda meta, due: {
            markers.HEARTBEAT_AT: stamp, markers.DRAIN_OWNER: owner,
            markers.SCHEDULED_AT: None,
        })

    def fulfil(self) -> None:
        """A Process Queue ran but stopped before draining (the breaker is open): the pending
        request is fulfilled all the same, so the timer or the next hook may ask again."""
        self.queue.update_meta(lambda meta, due: {markers.SCHEDULED_AT: None})

    def heartbeat(self, owner: str) -> None:
        stamp = markers.stamp(self.queue.clock())
        self.queue.update_meta(lambda meta, due: {
            markers.HEARTBEAT_AT: stamp, markers.DRAIN_OWNER: owner})

    def finish(self, owner: str) -> bool:
        """Clear the heartbeat iff no job is due, atomically; False means "keep draining"."""
        now = self.queue.clock()
        finished: list[bool] = []

        def fn(meta: dict[str, str], next_due: Callable[[], float | None]) -> dict[str, Any]:
            due = next_due()
            if due is not None and due <= now:
                finished.append(False)
                return {markers.HEARTBEAT_AT: markers.stamp(now), markers.DRAIN_OWNER: owner}
            finished.append(True)
            return {markers.HEARTBEAT_AT: None, markers.DRAIN_OWNER: None}

        self.queue.update_meta(fn)
        return finished[-1]

    def end(self, owner: str) -> None:
        """Clear our heartbeat on an early stop, so the next hook requests a new drain."""
        self.queue.update_meta(lambda meta, due: (
            {markers.HEARTBEAT_AT: None, markers.DRAIN_OWNER: None}
            if meta.get(markers.DRAIN_OWNER) in (owner, None) else {}))

    def state(self) -> DrainState:
        """RUNNING, SCHEDULED or IDLE (see markers.drain_state)."""
        return markers.drain_state(self.queue.read_meta(), self.queue.clock())

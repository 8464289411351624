"""Test-only: run one real `Drain` in its own process with a slow, scripted processor.

    python tests/e2e/drain_script.py <data_dir> <seconds_per_job> [batch_size]

Used by the reliability tests to kill a drain mid-batch (SIGKILL) and to start two drains at
once. Production code stays free of test hooks: this only uses Drain's dependency injection.
Prints the drain's summary as one JSON line on stdout.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from plexsync.queue.drain import LOCK_NAME, Drain
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import Batch, Outcome, OutcomeKind, Processor, SyncRecord


class SlowProcessor:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def process(self, batch: Batch) -> Iterator[Outcome]:
        for job in batch.jobs:
            time.sleep(self.seconds)
            now = time.time()
            record = SyncRecord(scene_id=job.scene_id, rating_key=5000 + job.scene_id,
                                section_id=1, stash_updated_at="", fetched_at=now,
                                values_hash="h", synced_at=now)
            yield Outcome(job, OutcomeKind.SYNCED, record=record, confidence="HIGH")


def main() -> None:
    data_dir, seconds = sys.argv[1], float(sys.argv[2])
    batch_size = int(sys.argv[3]) if len(sys.argv) > 3 else 25

    def factory() -> Processor:
        return SlowProcessor(seconds)

    queue = JobQueue.open(data_dir)
    try:
        out = Drain(queue, factory, lock_path=os.path.join(data_dir, LOCK_NAME),
                    batch_size=batch_size, progress=lambda p: None).run()
    finally:
        queue.close()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()

"""`TaskContext`: everything a task, and the sync engine under it, may use.

A plain value object so that the layers below `tasks/` (queue's drain, sync's processor) can take
it without importing the task router. Tests build one directly with fakes and a fake clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from plexsync.core.log import log
from plexsync.core.settings import Settings


@dataclass
class TaskContext:
    """Everything a task handler may use."""

    settings: Settings
    data_dir: str
    stash: Any                      # plexsync.stash.api.StashClient (or a test double)
    args: Mapping[str, Any] = field(default_factory=dict)
    server_connection: Mapping[str, Any] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    progress: Callable[[float], None] = log.progress
    # Started by Stash (plugin input on stdin), not from a shell or cron (`tasks/cli.py`): only
    # then is the parent process Stash, whose restart runs an automatic reconciliation.
    started_by_stash: bool = True

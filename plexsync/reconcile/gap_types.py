"""The kinds of gap a reconciliation finds (enum only, standard library only).

Separate from `gaps` so that readers of the run history (tasks/status.py, and through it the
PlexSync page's `page_status` operation) need not import the sync engine and plexapi.
"""

from __future__ import annotations

from enum import StrEnum


class GapType(StrEnum):
    STALE = "stale"
    EMPTY = "empty"
    MISSING = "missing"

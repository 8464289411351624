"""The sync processor's link to Plex, set up lazily: a batch that needs no Plex request makes none.

`plex()` connects and lists the configured sections on first use; `index()` builds (or loads)
the library index on first use. A `PlexServerDown` in either is a `SetupDown`: it concerns the
whole server, never one item, so the processor aborts the batch with it (processor.py). Other
set-up failures become `PlexSetupError` (every job stays queued); `PlexAuth` and `ConfigError`
pass through. A failed step is tried again on the next call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from plexsync.core.context import TaskContext
from plexsync.core.log import log
from plexsync.errors import ConfigError, PlexAuth, PlexServerDown, PlexSetupError, PlexSyncError
from plexsync.plex.client import PlexClient
from plexsync.plex.index import LibraryIndex
from plexsync.plex.model import Section
from plexsync.sync.ports import PlexPort

T = TypeVar("T")


class PlexLink:
    """Plex for one processor (one drain): the client, its sections and the library index."""

    def __init__(self, ctx: TaskContext, plex: PlexPort | None = None) -> None:
        self._ctx = ctx
        self._plex = plex
        self.sections: list[Section] | None = None
        self.built: LibraryIndex | None = None     # the index, once built in this drain

    def plex(self) -> PlexPort:
        if self._plex is None:
            self._plex = PlexClient(self._ctx.settings, self._ctx.data_dir)
        if self.sections is None:
            plex = self._plex

            def connect() -> list[Section]:
                plex.connect()
                return plex.configured_sections()

            self.sections = self._setup(connect)
        return self._plex

    def index(self) -> LibraryIndex:
        if self.built is None:
            plex = self.plex()
            assert self.sections is not None
            index = LibraryIndex(self._ctx.data_dir, plex, self.sections,
                                 clock=self._ctx.clock)
            self._setup(index.ensure_fresh)
            self.built = index   # only once built: a failed build is tried again
        return self.built

    def listed(self) -> LibraryIndex:
        """The index with every section's listing read in this drain (once per drain)."""
        index = self.index()
        if len(index.listed) < len(index.sections):
            self._setup(index.ensure_listed)
        return index

    def _setup(self, step: Callable[[], T]) -> T:
        """A set-up step (connect, sections, index). Its PlexServerDown concerns the whole
        server, never one item: it aborts the batch like an outage (see `process`)."""
        try:
            return step()
        except PlexServerDown as exc:
            raise SetupDown(str(exc)) from None
        except (PlexAuth, ConfigError):
            raise
        except PlexSyncError as exc:   # e.g. a proxy's 403 on GET /: no job's own failure
            raise PlexSetupError(f"PlexSync could not set up its connection to Plex: {exc} "
                                 "Every job stays queued; fix this and run Process Queue "
                                 "again.") from None
        except Exception as exc:   # e.g. unreadable local state: still not one scene's fault
            log.debug(f"Plex set-up failed: {type(exc).__name__}: {exc}")
            raise PlexSetupError(log.redact(
                f"PlexSync could not set up its connection to Plex ({type(exc).__name__}: "
                f"{exc}); every job stays queued. Run Process Queue again; if this repeats, "
                "report it with the debug log.")) from None

    def answers(self) -> bool:
        """The health probe after a PlexServerDown: does Plex itself answer `GET /identity`?"""
        if self._plex is None:
            return False
        try:
            self._plex.identity()
        except PlexSyncError as exc:
            log.debug(f"Plex health probe failed: {exc}")
            return False
        return True


class SetupDown(PlexServerDown):
    """PlexServerDown while connecting, listing sections or building the library index."""


def not_an_outage(exc: PlexServerDown) -> PlexServerDown:
    return PlexServerDown(f"{exc} Plex itself answers GET /identity, so this is not an outage: "
                          "retried a limited number of times.", outage=False,
                          transport=exc.transport)

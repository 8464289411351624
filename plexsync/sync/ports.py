"""`PlexPort`: everything the sync engine asks of Plex, as plain values (`plex.model`).

`plex.client.PlexClient` satisfies it against a real server (through plexapi); the tests'
`testkit.memory_plex.MemoryPlex` satisfies it in memory, so the processor, matcher, fields and
diff can be unit-tested without HTTP. Failures are `plexsync.errors` classes, never a foreign
exception: `PlexServerDown` (unreachable, 5xx, 429), `PlexAuth` (401), `PlexNotFound` (an item
or section gone), `PlexBadRequest` (rejected), `ConfigError` (plex_url / plex_library wrong).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from plexsync.plex.model import Page, PlexItem, Section


class PlexPort(Protocol):
    def connect(self) -> None:
        """Make sure the server answers as a Plex Media Server (idempotent; cheap once done)."""

    def identity(self, timeout: tuple[float, float] | None = None) -> dict[str, str]:
        """The health probe: one short request to `/identity`; raises when Plex is down."""

    def configured_sections(self) -> list[Section]:
        """The movie sections PlexSync syncs into (`plex_library`); ConfigError if none."""

    def section_page(self, section_id: int, start: int, size: int) -> Page:
        """One page of a section's listing, as index rows (the library index reads these)."""

    def fetch_item(self, rating_key: int) -> PlexItem:
        """An item's full current values and locks; PlexNotFound when it is gone."""

    def edit(self, section_id: int, rating_key: int, params: Mapping[str, str]) -> None:
        """Apply one edit (`sync.diff.Edit.params`) to one item; PlexNotFound when it is gone."""

    def upload_image(self, rating_key: int, kind: str, data: bytes) -> None:
        """Upload `data` as the item's "poster" or its background "art"."""

    def selected_poster(self, rating_key: int) -> str:
        """The ratingKey of the poster selected on the item ('' none: Plex's generated
        thumbnail); PlexNotFound when the item is gone."""

    def scan_folder(self, section_id: int, folder: str) -> None:
        """Ask Plex to scan one folder of a section for new files."""

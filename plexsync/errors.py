"""One exception hierarchy for everything that can go wrong while syncing.

Every failure the drain sees is a `PlexSyncError`; its `error_class` decides the retry policy
(see `backoff.POLICIES`) and its `retryable` flag separates transient trouble from failures that
no amount of retrying fixes. `outage` marks a failure that is part of a Plex outage: only those
are retried without limit (a `PlexServerDown` for one scene's request while Plex itself answers
its health probe is not, see sync/processor.py). Anything else that escapes a processor is
wrapped as `Internal`.
Messages must never contain the Plex token: build them with `log.redact` when they quote
foreign text (exception strings, URLs).
"""

from __future__ import annotations

from enum import StrEnum

# `typing` costs milliseconds at import and this module is on the hook path
# (docs/design.md#hook-budget);
# mypy treats any name TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import ClassVar


class ErrorClass(StrEnum):
    PLEX_SERVER_DOWN = "PlexServerDown"
    PLEX_NOT_FOUND = "PlexNotFound"
    LOW_CONFIDENCE = "LowConfidence"
    PLEX_AUTH = "PlexAuth"
    PLEX_BAD_REQUEST = "PlexBadRequest"
    STASH_ERROR = "StashError"
    INTERNAL = "Internal"
    CONFLICT = "Conflict"


class PlexSyncError(Exception):
    """Base class. `str(err)` is one sentence fit for the Stash log."""

    error_class: ClassVar[ErrorClass] = ErrorClass.INTERNAL
    retryable: ClassVar[bool] = False
    outage: bool = False


class ConfigError(PlexSyncError):
    """A setting is missing or invalid; the message names the setting and how to fix it."""


class PlexSetupError(ConfigError):
    """A failure that is not about any one scene: connecting to Plex, listing its libraries or
    building the library index failed (a proxy's 403 on `GET /`, a listing page that is not
    Plex XML, a redirect PlexSync refuses). Like PlexAuth, the drain stops with this one
    error and every job stays queued with its attempts unspent."""


class StashSetupError(ConfigError):
    """A failure of the link to Stash that no retry fixes and no scene caused: Stash's address
    answered with a redirect PlexSync refuses (docs/reliability.md). Like PlexSetupError, the
    drain stops with this one error and every job stays queued with its attempts unspent."""


class InputError(PlexSyncError):
    """Stash (or a user) handed the plugin input it cannot act on."""


class PlexServerDown(PlexSyncError):
    """Connection refused, timeout or 5xx: Plex is unreachable. Retried without limit.

    `outage=False`: only this request failed while Plex itself answers (a per-item timeout or
    5xx); the job then gets the ordinary, limited transient retries and, after them, the DLQ.
    """

    error_class = ErrorClass.PLEX_SERVER_DOWN
    retryable = True

    def __init__(self, message: str = "", *, outage: bool = True,
                 transport: bool = False) -> None:
        super().__init__(message)
        self.outage = outage
        self.transport = transport   # no HTTP answer at all: a timeout or connection failure


class PlexNotFound(PlexSyncError):
    """The scene's file lies under a configured section but Plex has no item for it yet."""

    error_class = ErrorClass.PLEX_NOT_FOUND
    retryable = True


class LowConfidence(PlexSyncError):
    """Only ambiguous candidates were found; `candidates` holds their Plex paths."""

    error_class = ErrorClass.LOW_CONFIDENCE

    def __init__(self, message: str, candidates: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.candidates = candidates


class Conflict(PlexSyncError):
    """Two scenes resolve to one Plex item: neither may write it (one item belongs to one
    scene, docs/design.md). The later one is dead-lettered at once, naming both scenes and the
    item; retrying cannot help until the user fixes the files, then Recover DLQ Jobs does."""

    error_class = ErrorClass.CONFLICT

    def __init__(self, message: str, *, scene_id: int = 0, other_scene_id: int = 0,
                 rating_key: int = 0) -> None:
        super().__init__(message)
        self.scene_id = scene_id
        self.other_scene_id = other_scene_id
        self.rating_key = rating_key


class PlexAuth(PlexSyncError):
    """Plex answered 401: the token is wrong or revoked. Draining stops at once."""

    error_class = ErrorClass.PLEX_AUTH


class PlexBadRequest(PlexSyncError):
    """Plex rejected a request (4xx other than 401). Retrying the same request cannot help."""

    error_class = ErrorClass.PLEX_BAD_REQUEST


class StashError(PlexSyncError):
    """Stash was unreachable or answered with an error while the drain needed it.

    `unreachable=True`: Stash itself is away (connection refused or reset, a timeout, a 5xx,
    or it refused the plugin's credentials): no job is at fault, so the drain stops and
    releases them uncharged, and the wake-up timer tries Stash again on a backoff."""

    error_class = ErrorClass.STASH_ERROR
    retryable = True

    def __init__(self, message: str = "", *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class Internal(PlexSyncError):
    """A bug in PlexSync. Dead-lettered with its message so it can be reported."""

    error_class = ErrorClass.INTERNAL

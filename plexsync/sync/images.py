"""Poster (and background art) from the scene's screenshot (docs/design.md#field-mapping).

Invariants:
- Stash's `paths.screenshot` URL carries `?t=<unix>`, so the URL is the cover's identity
  (`poster_key`): nothing is downloaded while it equals the last synced key and every wanted
  image has been uploaded before.
- A download happens at most once per sync (poster and art share it); an upload happens only
  when the image's sha256 differs from the hash last uploaded to that item for that target.
- Stash serves a placeholder SVG when a scene has no cover: only JPEG, PNG and WebP bytes are
  uploaded; anything else is skipped quietly and remembered by key (`NOT_AN_IMAGE` as the
  image's hash with that key): not fetched again, and no reconcile gap, until the key changes.
- Posters are owned by value (docs/design.md#ownership), as fields are: the poster Plex shows
  is PlexSync's only while it is the one PlexSync uploaded (`poster_id`: the ratingKey Plex
  gives that upload in the item's posters listing, read back once after each upload). Plex's
  generated thumbnail (no poster selected) is nobody's. Any other selected poster (chosen or
  uploaded in Plex, an agent's) is the user's: kept under `preserve_plex_edits`, replaced by a
  changed Stash cover otherwise. Whose it is is asked (one GET) only right before new cover
  bytes would replace it under `preserve_plex_edits`; a cover declined for the user's poster is
  remembered (`KEPT` + its hash) and not asked about again. A record from before migration V7
  (an upload, no `poster_id`) keeps the earlier rule, its upload is PlexSync's, until its next
  poster upload.
- With `preserve_plex_edits`, background art Plex already has (its own or an earlier upload
  by another tool) is never replaced; PlexSync's own upload is.
- The download (`StashClient.download`) sends Stash's API key and session cookie only to
  Stash's own origin; a `paths.screenshot` on another origin (Stash's external host setting, a
  proxy's Host header) is fetched without them. It stops past 50 MiB of decoded bytes.
- Failure is per field: a failed download or a rejected upload becomes a warning, the sync goes
  on, and the key is not advanced so the next sync of the scene tries again. Plex being down
  (`PlexServerDown`) or refusing the token (`PlexAuth`) is not per field: it propagates, and
  so does a `ConfigError` (the download redirected where PlexSync will not follow,
  stash/session.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace

from plexsync.errors import ConfigError, PlexAuth, PlexServerDown, PlexSyncError
from plexsync.sync.fields import Wanted

NOT_AN_IMAGE = "-"   # the hash recorded for a cover key whose answer was no image
# Prefix of the hash recorded for a cover NOT uploaded because the user's poster was kept
# (under "Preserve"): the same cover is not asked about again, wherever its key moves.
KEPT = "kept:"


@dataclass(frozen=True, slots=True)
class Previous:
    """What was pushed to this same Plex item before (all empty for a new item)."""

    key: str = ""
    poster_hash: str = ""
    art_hash: str = ""
    poster_id: str = ""     # Plex's ratingKey of the poster uploaded ('' unknown: before V7)


@dataclass(frozen=True, slots=True)
class ImageResult:
    key: str
    poster_hash: str
    art_hash: str
    uploaded: tuple[str, ...] = ()      # "poster", "art"
    warnings: tuple[str, ...] = ()
    note: str = ""
    poster_id: str = ""

    def managed(self) -> tuple[str, ...]:
        """Images that are PlexSync's on the item (to lock)."""
        return tuple(n for n, h in (("poster", self.poster_hash), ("art", self.art_hash))
                     if uploaded(h))


def image_type(data: bytes) -> str:
    """'jpeg' | 'png' | 'webp' | '' by magic bytes."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return ""


def uploaded(image_hash: str) -> bool:
    """Whether PlexSync uploaded an image to the item (not: found no image at the key, nor
    kept the user's poster instead)."""
    return bool(image_hash) and image_hash != NOT_AN_IMAGE and not image_hash.startswith(KEPT)


def users_poster(prev: Previous, has_poster: bool, selected: Callable[[], str]) -> str:
    """The identity of the poster Plex shows when it is someone else's; '' when it is
    PlexSync's own or nobody's (Plex's generated thumbnail, or no poster at all). `selected`
    reads the item's selected poster (one GET; '' while the generated thumbnail shows); it is
    not called for no poster or for a record from before V7 (its upload is PlexSync's)."""
    if not has_poster or (not prev.poster_id and uploaded(prev.poster_hash)):
        return ""
    chosen = selected()
    mine = prev.poster_id if uploaded(prev.poster_hash) else ""
    return chosen if chosen and chosen != mine else ""


def needs_download(wanted: Wanted, prev: Previous) -> bool:
    if not wanted.poster_url:
        return False
    changed = wanted.poster_url != prev.key
    return (wanted.poster and (changed or not prev.poster_hash)) or (
        wanted.art and (changed or not prev.art_hash))


def sync_images(
    wanted: Wanted,
    prev: Previous,
    rating_key: int,
    download: Callable[[str], bytes],
    upload: Callable[[int, str, bytes], None],
    plex_has: Collection[str] = (),
    read_back: Callable[[], str] = lambda: "",
    whose: Callable[[], str] = lambda: "",
) -> ImageResult:
    """Download once if needed, upload what changed; see the module invariants.

    `plex_has`: background "art" on the Plex item that is someone else's; with
    `preserve_plex_edits` it is left alone (neither uploaded nor locked). `whose`: under
    `preserve_plex_edits`, asked only right before a poster upload would replace what Plex
    shows (`users_poster`): a user's poster is kept, not locked, and remembered (`poster_id`,
    and `KEPT` + the cover's hash), so that cover is not asked about again.
    `read_back`: the item's selected poster after a poster upload (one GET); a failure leaves
    it unknown."""
    users = ""
    if (wanted.preserve and wanted.poster and prev.poster_hash.startswith(KEPT)
            and wanted.poster_url == prev.key):
        users = prev.poster_id   # the user's poster, kept before; the cover is the same
    if wanted.preserve and (plex_has or users):
        wanted = replace(wanted, poster=wanted.poster and not users,
                         art=wanted.art and "art" not in plex_has)
    mine = prev.poster_id if wanted.poster and prev.poster_hash else ""
    keep = ImageResult(prev.key, prev.poster_hash if wanted.poster or users else "",
                       prev.art_hash if wanted.art else "", poster_id=users or mine)
    if not needs_download(wanted, prev):
        return ImageResult(wanted.poster_url, keep.poster_hash, keep.art_hash,
                           poster_id=keep.poster_id)
    url = wanted.poster_url
    try:
        data = download(url)
    except ConfigError:   # a redirect refused on the way to Stash: stop, charge no job
        raise
    except PlexSyncError as exc:
        return ImageResult(prev.key, keep.poster_hash, keep.art_hash, poster_id=keep.poster_id,
                           warnings=(f"screenshot download failed: {exc}",))
    if not image_type(data):
        # remembered by key; an upload made under an earlier key stays PlexSync's
        marks = [keep.poster_hash if keep.poster_hash and url == prev.key else NOT_AN_IMAGE,
                 keep.art_hash if keep.art_hash and url == prev.key else NOT_AN_IMAGE]
        return ImageResult(url, marks[0] if wanted.poster else "",
                           marks[1] if wanted.art else "",
                           note="the scene has no cover image in Stash; poster left as it is",
                           poster_id=keep.poster_id
                           if not wanted.poster or marks[0] == keep.poster_hash else "")
    digest = hashlib.sha256(data).hexdigest()
    hashes = {"poster": keep.poster_hash, "art": keep.art_hash}
    done: list[str] = []
    warnings: list[str] = []
    poster_id = keep.poster_id
    for target, on in (("poster", wanted.poster), ("art", wanted.art)):
        if not on or hashes[target] == digest:
            continue
        if target == "poster" and wanted.preserve:
            if hashes["poster"] == KEPT + digest:   # this cover was declined for theirs
                continue
            users = whose()
            if users:   # someone else's poster: kept, no longer PlexSync's
                hashes["poster"], poster_id = KEPT + digest, users
                continue
        try:
            upload(rating_key, target, data)
        except (PlexServerDown, PlexAuth, ConfigError):   # not this image's fault
            raise
        except PlexSyncError as exc:
            warnings.append(f"{target} upload failed: {exc}")
            continue
        hashes[target] = digest
        done.append(target)
        if target == "poster":
            poster_id = _read_back(read_back)
    return ImageResult(prev.key if warnings else url, hashes["poster"], hashes["art"],
                       tuple(done), tuple(warnings), poster_id=poster_id)


def _read_back(read: Callable[[], str]) -> str:
    """The identity Plex gave the poster just uploaded; '' (PlexSync's by upload, the rule of
    records from before V7) when it cannot be read: the upload itself stands."""
    try:
        return read()
    except PlexSyncError:
        return ""

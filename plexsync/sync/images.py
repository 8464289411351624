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
  changed Stash cover otherwise. A record from before migration V7 (an upload, no `poster_id`)
  keeps the earlier rule, its upload is PlexSync's, until its next poster upload.
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
                     if h and h != NOT_AN_IMAGE)


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
    """Whether PlexSync uploaded an image to the item (not: found no image at the key)."""
    return bool(image_hash) and image_hash != NOT_AN_IMAGE


def poster_is_users(wanted: Wanted, prev: Previous, has_poster: bool,
                    selected: Callable[[], str]) -> bool:
    """Whether the poster Plex shows is someone else's, to be kept: asked only when it matters
    ("Preserve" on, a poster wanted and about to be downloaded, Plex showing one). `selected`
    reads the item's selected poster (one GET; '' when Plex shows its generated thumbnail)."""
    if not (wanted.preserve and wanted.poster and has_poster and wanted.poster_url):
        return False
    if wanted.poster_url == prev.key and prev.poster_hash:
        return False   # nothing to upload: the poster is not touched
    if not prev.poster_id and uploaded(prev.poster_hash):
        return False   # a record from before V7: PlexSync's by upload
    chosen = selected()
    return bool(chosen) and chosen != prev.poster_id


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
) -> ImageResult:
    """Download once if needed, upload what changed; see the module invariants.

    `plex_has`: the images ("poster", "art") on the Plex item that are someone else's; with
    `preserve_plex_edits` those are left alone (neither uploaded nor locked). `read_back`: the
    item's selected poster after a poster upload (one GET); a failure leaves it unknown."""
    if wanted.preserve and plex_has:
        wanted = replace(wanted, poster=wanted.poster and "poster" not in plex_has,
                         art=wanted.art and "art" not in plex_has)
    keep = ImageResult(prev.key, prev.poster_hash if wanted.poster else "",
                       prev.art_hash if wanted.art else "",
                       poster_id=prev.poster_id if wanted.poster and prev.poster_hash else "")
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
                           poster_id=keep.poster_id if marks[0] == keep.poster_hash else "")
    digest = hashlib.sha256(data).hexdigest()
    hashes = {"poster": keep.poster_hash, "art": keep.art_hash}
    done: list[str] = []
    warnings: list[str] = []
    poster_id = keep.poster_id
    for target, on in (("poster", wanted.poster), ("art", wanted.art)):
        if not on or hashes[target] == digest:
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

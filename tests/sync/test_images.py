"""Poster/art from the screenshot: download only when the key changed, upload only on new bytes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

import pytest

from plexsync.errors import PlexBadRequest, PlexServerDown, StashError
from plexsync.sync.fields import Wanted
from plexsync.sync.images import (
    KEPT,
    NOT_AN_IMAGE,
    Previous,
    image_type,
    sync_images,
    users_poster,
)

URL1 = "http://stash/scene/1/screenshot?t=1"
URL2 = "http://stash/scene/1/screenshot?t=2"
JPEG = b"\xff\xd8\xff\xe0" + b"jpeg-bytes"
JPEG_SHA = hashlib.sha256(JPEG).hexdigest()


class Recorder:
    def __init__(self, data: bytes = JPEG, fail_download: Exception | None = None,
                 fail_upload: Exception | None = None) -> None:
        self.data = data
        self.fail_download = fail_download
        self.fail_upload = fail_upload
        self.downloads: list[str] = []
        self.uploads: list[tuple[int, str]] = []

    def download(self, url: str) -> bytes:
        self.downloads.append(url)
        if self.fail_download:
            raise self.fail_download
        return self.data

    def upload(self, rk: int, kind: str, data: bytes) -> None:
        if self.fail_upload:
            raise self.fail_upload
        self.uploads.append((rk, kind))


def test_a_new_screenshot_is_downloaded_once_and_uploaded_as_poster() -> None:
    rec = Recorder()
    result = sync_images(Wanted(poster_url=URL1, poster=True), Previous(), 7, rec.download,
                         rec.upload)
    assert rec.downloads == [URL1] and rec.uploads == [(7, "poster")]
    assert (result.key, result.poster_hash, result.uploaded) == (URL1, JPEG_SHA, ("poster",))
    assert result.managed() == ("poster",)


def test_same_key_means_no_download_at_all() -> None:
    rec = Recorder()
    result = sync_images(Wanted(poster_url=URL1, poster=True), Previous(URL1, JPEG_SHA), 7,
                         rec.download, rec.upload)
    assert rec.downloads == [] and rec.uploads == []
    assert result.poster_hash == JPEG_SHA and result.key == URL1


def test_new_key_with_the_same_bytes_downloads_but_does_not_upload() -> None:
    rec = Recorder()
    result = sync_images(Wanted(poster_url=URL2, poster=True), Previous(URL1, JPEG_SHA), 7,
                         rec.download, rec.upload)
    assert rec.downloads == [URL2] and rec.uploads == []
    assert result.key == URL2 and not result.uploaded


def test_art_shares_the_download_and_is_uploaded_when_never_sent() -> None:
    rec = Recorder()
    result = sync_images(Wanted(poster_url=URL1, poster=True, art=True), Previous(URL1, JPEG_SHA),
                         7, rec.download, rec.upload)
    assert rec.downloads == [URL1] and rec.uploads == [(7, "art")]
    assert result.managed() == ("poster", "art")


def test_a_placeholder_svg_is_not_uploaded_and_not_fetched_again() -> None:
    rec = Recorder(data=b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    result = sync_images(Wanted(poster_url=URL1, poster=True), Previous(), 7, rec.download,
                         rec.upload)
    assert rec.uploads == [] and result.key == URL1 and result.note and not result.warnings
    assert result.poster_hash == NOT_AN_IMAGE and result.managed() == ()
    again = Recorder()
    sync_images(Wanted(poster_url=URL1, poster=True),
                Previous(result.key, result.poster_hash), 7, again.download, again.upload)
    assert again.downloads == [] and again.uploads == []
    sync_images(Wanted(poster_url=URL2, poster=True),
                Previous(result.key, result.poster_hash), 7, again.download, again.upload)
    assert again.downloads == [URL2] and again.uploads == [(7, "poster")]


def test_a_failed_download_is_a_warning_and_keeps_the_old_key() -> None:
    rec = Recorder(fail_download=StashError("Stash answered 500 for an image download."))
    result = sync_images(Wanted(poster_url=URL2, poster=True), Previous(URL1, "old"), 7,
                         rec.download, rec.upload)
    assert result.key == URL1 and result.poster_hash == "old"
    assert result.warnings and "500" in result.warnings[0]


def test_a_rejected_upload_is_a_warning_and_keeps_the_old_key() -> None:
    rec = Recorder(fail_upload=PlexBadRequest("Plex rejected POST (400)."))
    result = sync_images(Wanted(poster_url=URL2, poster=True), Previous(URL1, "old"), 7,
                         rec.download, rec.upload)
    assert result.key == URL1 and result.poster_hash == "old" and result.warnings


def test_plex_down_during_upload_is_not_a_warning_but_aborts() -> None:
    rec = Recorder(fail_upload=PlexServerDown("cannot connect to Plex"))
    with pytest.raises(PlexServerDown):
        sync_images(Wanted(poster_url=URL1, poster=True), Previous(), 7, rec.download,
                    rec.upload)


def test_nothing_wanted_means_no_request_and_an_empty_key() -> None:
    rec = Recorder()
    result = sync_images(Wanted(), Previous(URL1, JPEG_SHA), 7, rec.download, rec.upload)
    assert rec.downloads == [] and result.key == "" and result.managed() == ()


def test_image_types_are_recognised_by_magic_bytes() -> None:
    assert image_type(JPEG) == "jpeg"
    assert image_type(b"\x89PNG\r\n\x1a\nrest") == "png"
    assert image_type(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"
    assert image_type(b"<svg/>") == ""


PRESERVE = Wanted(poster_url=URL2, poster=True, preserve=True)
OURS = "upload://posters/ours"
THEIRS = "upload://posters/theirs"


def asked(answer: str) -> tuple[list[str], Callable[[], str]]:
    calls: list[str] = []

    def selected() -> str:
        calls.append("GET posters")
        return answer
    return calls, selected


def test_plex_s_generated_thumbnail_is_nobody_s_poster() -> None:
    calls, selected = asked("")
    assert users_poster(Previous(URL1), True, selected) == ""
    assert calls == ["GET posters"]


def test_the_poster_plexsync_uploaded_is_its_own_and_any_other_is_the_user_s() -> None:
    prev = Previous(URL1, JPEG_SHA, poster_id=OURS)
    assert users_poster(prev, True, asked(OURS)[1]) == ""
    assert users_poster(prev, True, asked(THEIRS)[1]) == THEIRS
    assert users_poster(Previous(URL1), True, asked(THEIRS)[1]) == THEIRS


def test_a_record_from_before_v7_keeps_its_upload_as_plexsync_s_without_asking() -> None:
    calls, selected = asked(THEIRS)
    assert users_poster(Previous(URL1, JPEG_SHA), True, selected) == ""
    assert users_poster(Previous(URL1), False, selected) == ""
    assert calls == []


def test_under_preserve_a_user_s_poster_is_kept_and_remembered() -> None:
    calls, selected = asked(THEIRS)
    rec = Recorder()
    prev = Previous(URL1, "other-sha", poster_id=OURS)
    result = sync_images(PRESERVE, prev, 7, rec.download, rec.upload, whose=selected)
    assert (rec.uploads, calls) == ([], ["GET posters"])
    assert (result.key, result.poster_hash, result.poster_id) == (URL2, KEPT + JPEG_SHA, THEIRS)
    assert result.managed() == ()                         # not locked either

    again = sync_images(replace(PRESERVE, poster_url="http://stash/s?t=3"),
                        Previous(URL2, result.poster_hash, poster_id=THEIRS), 7, rec.download,
                        rec.upload, whose=selected)       # a new key, the same cover
    assert (rec.uploads, calls, again.poster_id) == ([], ["GET posters"], THEIRS)


def test_whose_poster_is_asked_only_when_an_upload_would_replace_it() -> None:
    calls, selected = asked(THEIRS)
    rec = Recorder()
    same_bytes = Previous(URL1, JPEG_SHA, poster_id=OURS)      # a new key, the same cover
    sync_images(PRESERVE, same_bytes, 7, rec.download, rec.upload, whose=selected)
    sync_images(Wanted(poster_url=URL2, poster=True), Previous(URL1, "x", poster_id=OURS), 7,
                rec.download, rec.upload, whose=selected)   # Preserve off: replaced
    assert calls == [] and rec.uploads == [(7, "poster")]


def test_a_user_s_poster_kept_before_is_not_asked_about_while_the_cover_key_stays() -> None:
    calls, selected = asked(THEIRS)
    rec = Recorder()
    kept = Previous(URL2, KEPT + JPEG_SHA, poster_id=THEIRS)
    result = sync_images(PRESERVE, kept, 7, rec.download, rec.upload, whose=selected)
    assert (rec.downloads, calls) == ([], [])
    assert (result.poster_hash, result.poster_id) == (KEPT + JPEG_SHA, THEIRS)


def test_a_poster_upload_records_the_identity_plex_gave_it() -> None:
    rec = Recorder()
    result = sync_images(Wanted(poster_url=URL1, poster=True), Previous(), 7, rec.download,
                         rec.upload, read_back=lambda: "upload://posters/new")
    assert result.poster_id == "upload://posters/new"


def test_an_unreadable_identity_leaves_the_upload_standing_and_plexsync_s() -> None:
    def fails() -> str:
        raise PlexBadRequest("no listing")
    rec = Recorder()
    result = sync_images(Wanted(poster_url=URL1, poster=True), Previous(), 7, rec.download,
                         rec.upload, read_back=fails)
    assert (result.uploaded, result.poster_hash, result.poster_id) == (("poster",), JPEG_SHA, "")

"""The fake Plex's play state, read through the real plexapi client as a user's script would:
playback history per account, viewCount, viewOffset, lastViewedAt, userRating, lastRatedAt."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import pytest
import requests

from testkit.fake_plex import FakePlex
from testkit.plex_client import PlexClient, connect

T0 = 1_780_000_000


@pytest.fixture
def fake() -> Iterator[FakePlex]:
    with FakePlex() as server:
        server.add_section(1, "Movies", ["/m"])
        yield server


@pytest.fixture
def plex(fake: FakePlex) -> PlexClient:
    return connect(fake.url, fake.token)


def test_plexapi_reads_the_history_of_one_account_since_a_time(fake: FakePlex,
                                                                plex: PlexClient) -> None:
    a, b = fake.add_item(1, "/m/a.mp4"), fake.add_item(1, "/m/b.mp4")
    fake.play(a, at=T0)
    fake.play(b, at=T0 + 100)
    fake.play(a, at=T0 + 200, account_id=2)
    fake.play(a, at=T0 + 300)

    mine = plex.history(accountID=1, mindate=datetime.fromtimestamp(T0 + 50))

    assert [(int(h.ratingKey), int(h.viewedAt.timestamp())) for h in mine] == [
        (a, T0 + 300), (b, T0 + 100)]                    # plexapi sorts newest first
    assert {h.accountID for h in plex.history()} == {1, 2}


def test_the_owners_plays_set_view_count_and_last_viewed_and_finish_the_resume_point(
        fake: FakePlex, plex: PlexClient) -> None:
    rk = fake.add_item(1, "/m/a.mp4")
    fake.watch_partly(rk, 90_000, at=T0)
    item = plex.fetchItem(rk)
    assert item.viewOffset == 90_000 and item.viewCount == 0 and not item.isPlayed

    fake.play(rk, at=T0 + 60)
    fake.play(rk, at=T0 + 120, account_id=2)     # another account's play: not the owner's
    item = plex.fetchItem(rk)

    assert item.viewCount == 1 and item.viewOffset == 0 and item.isPlayed
    assert int(item.lastViewedAt.timestamp()) == T0 + 60


def test_a_rating_sets_last_rated_at_whether_a_person_or_an_edit_wrote_it(
        fake: FakePlex, plex: PlexClient) -> None:
    rk = fake.add_item(1, "/m/a.mp4")
    plex.fetchItem(rk).rate(7.0)                  # PUT /:/rate, as a Plex app does
    item = plex.fetchItem(rk)
    assert item.userRating == 7.0 and item.lastRatedAt is not None

    fake.rate_as_user(rk, 9.0, at=T0)
    assert fake.item(rk).last_rated_at == T0
    plex.fetchItem(rk).editUserRating(6.0)        # a field edit (what PlexSync sends)
    assert fake.item(rk).user_rating == 6.0 and fake.item(rk).last_rated_at != T0


def test_listings_filter_by_in_progress_and_by_last_rated(fake: FakePlex) -> None:
    a, b, c = (fake.add_item(1, f"/m/{n}.mp4") for n in "abc")
    fake.watch_partly(a, 10_000)
    fake.rate_as_user(b, 8.0, at=T0)
    fake.rate_as_user(c, 4.0, at=T0 - 10)
    headers = {"X-Plex-Token": fake.token}

    def keys(query: str) -> list[int]:
        body = requests.get(f"{fake.url}/library/sections/1/all?type=1&{query}",
                            headers=headers, timeout=5).text
        return sorted(int(k) for k in re.findall(r'ratingKey="(\d+)"', body))

    assert keys("inProgress=1") == [a]
    assert keys(f"lastRatedAt>>={T0}") == [b]
    assert keys(f"lastRatedAt>>={T0 - 10}") == [b, c]

import pytest

from plexsync.errors import ErrorClass
from plexsync.queue.backoff import MIN_DELAY, Backoff


def test_plex_server_down_is_retried_without_limit() -> None:
    backoff = Backoff(rng=lambda: 0.5)
    assert backoff.limit(ErrorClass.PLEX_SERVER_DOWN) is None
    assert backoff.retry_delay(ErrorClass.PLEX_SERVER_DOWN, 10_000) == pytest.approx(150.0)


def test_plex_server_down_starts_at_five_seconds_and_caps_at_five_minutes() -> None:
    backoff = Backoff(rng=lambda: 1.0)
    ceilings = [backoff.ceiling(ErrorClass.PLEX_SERVER_DOWN, n) for n in range(1, 9)]
    assert ceilings == [5, 10, 20, 40, 80, 160, 300, 300]


def test_plex_not_found_first_retry_comes_within_a_minute() -> None:
    delay = Backoff(rng=lambda: 0.999999).retry_delay(ErrorClass.PLEX_NOT_FOUND, 1)
    assert delay is not None and delay <= 60


def test_plex_not_found_gets_twelve_retries_over_about_two_hours() -> None:
    backoff = Backoff(rng=lambda: 0.5)
    assert backoff.retry_delay(ErrorClass.PLEX_NOT_FOUND, 12) is not None
    assert backoff.retry_delay(ErrorClass.PLEX_NOT_FOUND, 13) is None
    total = sum(backoff.retry_delay(ErrorClass.PLEX_NOT_FOUND, n) or 0 for n in range(1, 13))
    assert 1.5 * 3600 <= total <= 2.5 * 3600   # rng 0.5: each delay is its range's mean


def test_delay_is_full_jitter_between_the_floor_and_the_ceiling() -> None:
    assert Backoff(rng=lambda: 0.0).retry_delay(ErrorClass.STASH_ERROR, 3) == MIN_DELAY
    assert Backoff(rng=lambda: 1.0).retry_delay(ErrorClass.STASH_ERROR, 3) == 40.0
    assert Backoff(rng=lambda: 0.25).retry_delay(ErrorClass.STASH_ERROR, 3) == 10.0


def test_stash_errors_follow_the_max_retries_setting() -> None:
    backoff = Backoff(max_retries=2, rng=lambda: 0.5)
    assert backoff.retry_delay(ErrorClass.STASH_ERROR, 2) is not None
    assert backoff.retry_delay(ErrorClass.STASH_ERROR, 3) is None
    assert Backoff(max_retries=0).retry_delay(ErrorClass.STASH_ERROR, 1) is None


def test_stash_error_delays_cap_at_ten_minutes() -> None:
    backoff = Backoff(max_retries=50, rng=lambda: 1.0)
    assert backoff.retry_delay(ErrorClass.STASH_ERROR, 40) == 600.0


@pytest.mark.parametrize("error_class", [
    ErrorClass.LOW_CONFIDENCE, ErrorClass.PLEX_BAD_REQUEST, ErrorClass.PLEX_AUTH,
    ErrorClass.INTERNAL,
])
def test_permanent_error_classes_are_never_retried(error_class: ErrorClass) -> None:
    assert Backoff(rng=lambda: 0.5).retry_delay(error_class, 1) is None


def test_an_unknown_class_name_is_treated_as_ordinary_transient_trouble() -> None:
    backoff = Backoff(max_retries=3, rng=lambda: 1.0)
    assert backoff.retry_delay("SomethingNew", 1) == 10.0
    assert backoff.retry_delay("SomethingNew", 4) is None


def test_the_random_source_is_drawn_once_per_delay() -> None:
    draws: list[float] = []

    def rng() -> float:
        draws.append(0.5)
        return 0.5

    Backoff(rng=rng).retry_delay(ErrorClass.PLEX_NOT_FOUND, 2)
    assert draws == [0.5]


def test_plex_not_found_retries_within_a_minute_but_not_before_the_index_may_rebuild() -> None:
    from plexsync.plex.index import AFTER_SCAN_INTERVAL

    earliest = Backoff(rng=lambda: 0.0).retry_delay(ErrorClass.PLEX_NOT_FOUND, 1)
    latest = Backoff(rng=lambda: 1.0).retry_delay(ErrorClass.PLEX_NOT_FOUND, 1)
    assert earliest is not None and latest is not None
    assert AFTER_SCAN_INTERVAL < earliest <= latest <= 60.0

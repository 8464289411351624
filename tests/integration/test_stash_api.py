import pytest

from plexsync.errors import StashError
from plexsync.stash.api import StashClient
from testkit.fake_stash import FakeStash


def test_batch_with_a_deleted_scene_returns_the_rest_without_error_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with FakeStash() as stash:
        kept = stash.add_scene(title="kept")
        gone = stash.add_scene(title="gone")
        stash.delete_scene(gone)
        scenes = StashClient(stash.server_connection()).scenes_by_id([kept, gone])
    assert list(scenes) == [kept] and scenes[kept]["title"] == "kept"
    assert "\x01e\x02" not in capsys.readouterr().err


def test_session_cookie_is_never_logged_and_unreachable_stash_is_one_sentence(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with FakeStash() as stash:
        conn = stash.server_connection()
        stash.go_down()
        with pytest.raises(StashError, match="could not reach Stash") as info:
            StashClient(conn).plugin_settings()
    assert "\n" not in str(info.value)
    assert conn["SessionCookie"]["Value"] not in capsys.readouterr().err

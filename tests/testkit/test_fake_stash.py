"""The fake Stash, driven through the real clients: stashapp-tools and plain HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from stashapi.stashapp import StashInterface

from testkit.fake_stash import FakeStash
from testkit.stash_data import make_cover_jpeg

FRAGMENT = (
    "id title studio{name} performers{name} tags{name} files{path size duration} paths{screenshot}"
)


class Clock:
    """A settable clock for the fake."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 25, 7, 31, 0, tzinfo=UTC))


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeStash]:
    with FakeStash(api_key="secret-key", clock=clock) as server:
        yield server


def _stash(fake: FakeStash) -> StashInterface:
    return StashInterface(fake.server_connection())


def _post(
    fake: FakeStash, query: str, variables: dict[str, Any] | None = None, **kwargs: Any
) -> requests.Response:
    cookies = kwargs.pop("cookies", {"session": fake.session_cookie})
    return requests.post(
        f"{fake.url}/graphql",
        json={"query": query, "variables": variables or {}},
        cookies=cookies,
        timeout=5,
        **kwargs,
    )


def _seed(fake: FakeStash, n: int) -> list[int]:
    return [
        fake.add_scene(title=f"Scene {i}", files=[{"path": f"/data/s{i}.mp4", "size": i}])
        for i in range(1, n + 1)
    ]


# --------------------------------------------------------------------------- auth


def test_stashapi_connects_with_the_session_cookie_stash_writes_on_stdin(fake: FakeStash) -> None:
    conn = fake.server_connection()
    assert conn["SessionCookie"]["Name"] == "session"
    assert conn["SessionCookie"]["Expires"] == "0001-01-01T00:00:00Z"
    assert set(conn) == {"Scheme", "Host", "Port", "SessionCookie", "Dir", "PluginDir"}

    stash = StashInterface(conn)

    assert str(stash.version).startswith("v0.30.1")
    assert fake.requests and all(r.authenticated for r in fake.requests)
    assert fake.count("__schema") == 1  # stashapi introspects to build its fragments


def test_stashapi_connects_with_an_api_key_and_no_cookie(fake: FakeStash) -> None:
    stash = StashInterface(
        {"Scheme": "http", "Host": "127.0.0.1", "Port": fake.port, "ApiKey": "secret-key"}
    )

    assert stash.get_configuration()["general"]["apiKey"] == "secret-key"


def test_graphql_without_credentials_gets_401_formbased_and_stashapi_raises(
    fake: FakeStash,
) -> None:
    response = _post(fake, "{ version { version } }", cookies={})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "FormBased"
    assert response.content == b""
    with pytest.raises(Exception, match="401"):
        StashInterface({"Scheme": "http", "Host": "127.0.0.1", "Port": fake.port})
    assert [r.status for r in fake.requests] == [401, 401]


def test_a_wrong_api_key_is_refused_even_next_to_a_valid_cookie(fake: FakeStash) -> None:
    response = _post(fake, "{ version { version } }", headers={"ApiKey": "wrong"})

    assert response.status_code == 401


def test_a_stash_without_credentials_needs_none_and_sends_a_null_session_cookie() -> None:
    with FakeStash(api_key="", session_cookie="") as open_fake:
        assert open_fake.server_connection()["SessionCookie"] is None
        stash = StashInterface(open_fake.server_connection())
        assert stash.get_configuration()["general"]["apiKey"] == ""
        assert _post(open_fake, "{ version { hash } }", cookies={}).status_code == 200


# --------------------------------------------------------------------------- findScenes


def test_find_scenes_pages_explicitly_and_counts_before_paging(fake: FakeStash) -> None:
    ids = _seed(fake, 5)
    stash = _stash(fake)

    pages = [
        stash.find_scenes(
            {}, {"page": p, "per_page": 2, "sort": "id"}, get_count=True, fragment="id"
        )
        for p in (1, 2, 3, 4)
    ]

    assert [count for count, _ in pages] == [5, 5, 5, 5]
    assert [[int(s["id"]) for s in scenes] for _, scenes in pages] == [
        ids[0:2],
        ids[2:4],
        ids[4:5],
        [],
    ]


def test_find_scenes_returns_all_with_per_page_minus_one_and_25_by_default(
    fake: FakeStash,
) -> None:
    _seed(fake, 30)
    stash = _stash(fake)

    assert len(stash.find_scenes({}, {"per_page": -1}, fragment="id")) == 30
    assert len(stash.find_scenes({}, {}, fragment="id")) == 25
    count, scenes = stash.find_scenes({}, {"per_page": 0}, get_count=True, fragment="id")
    assert (count, scenes) == (30, [])


def test_find_scenes_filters_updated_at_greater_than_by_comparing_stash_timestamps(
    fake: FakeStash, clock: Clock
) -> None:
    old, edited, _untouched = _seed(fake, 3)
    cursor = fake.scene(old)["updated_at"]
    clock.advance(60)
    fake.update_scene(edited, title="Edited")
    stash = _stash(fake)

    changed = stash.find_scenes(
        {"updated_at": {"value": cursor, "modifier": "GREATER_THAN"}},
        {"per_page": 100, "sort": "updated_at", "direction": "ASC"},
        fragment="id title updated_at",
    )

    assert cursor == "2026-11-25T07:31:00Z"
    assert [(int(s["id"]), s["title"]) for s in changed] == [(edited, "Edited")]
    assert changed[0]["updated_at"] == "2026-11-25T07:32:00Z"


def test_timestamp_filters_support_stashs_modifiers(fake: FakeStash, clock: Clock) -> None:
    first = fake.add_scene(title="a")
    clock.advance(3600)
    second = fake.add_scene(title="b")
    t1, t2 = fake.scene(first)["created_at"], fake.scene(second)["created_at"]

    def ids(criterion: dict[str, Any]) -> list[int]:
        data = fake.execute(
            "query($f: SceneFilterType) { findScenes(scene_filter: $f) { scenes { id } } }",
            {"f": {"created_at": criterion}},
        )
        return [int(s["id"]) for s in data["findScenes"]["scenes"]]

    assert ids({"value": t1, "modifier": "EQUALS"}) == [first]
    assert ids({"value": t1, "modifier": "NOT_EQUALS"}) == [second]
    assert ids({"value": t2, "modifier": "LESS_THAN"}) == [first]
    assert ids({"value": t1, "value2": t1, "modifier": "BETWEEN"}) == [first]
    assert ids({"value": t2, "modifier": "BETWEEN"}) == [second]  # upper bound: now + 1 day
    assert ids({"value": t1, "value2": t1, "modifier": "NOT_BETWEEN"}) == [second]
    assert ids({"value": "", "modifier": "IS_NULL"}) == []
    assert ids({"value": "", "modifier": "NOT_NULL"}) == [first, second]


def test_timestamps_use_the_servers_utc_offset_like_go(clock: Clock) -> None:
    with FakeStash(utc_offset=timedelta(hours=1), clock=clock) as fake:
        scene_id = fake.add_scene(title="x")
        assert fake.scene(scene_id)["created_at"] == "2026-11-25T08:31:00+01:00"


def test_find_scenes_filters_by_id_title_path_and_combines_with_or(fake: FakeStash) -> None:
    a = fake.add_scene(title="Harbor Lights", files=[{"path": "/data/one/a.mp4"}])
    b = fake.add_scene(title="Quiet", files=[{"path": "/data/two/b.mp4"}])
    c = fake.add_scene(title="", files=[{"path": "/data/two/c.mp4"}])
    stash = _stash(fake)

    def ids(scene_filter: dict[str, Any]) -> list[int]:
        found = stash.find_scenes(scene_filter, {"per_page": -1}, fragment="id")
        return [int(s["id"]) for s in found]

    assert ids({"id": {"value": b, "modifier": "GREATER_THAN"}}) == [c]
    assert ids({"title": {"value": "harbor lights", "modifier": "EQUALS"}}) == [a]
    assert ids({"title": {"value": "harbor", "modifier": "INCLUDES"}}) == [a]
    assert ids({"title": {"value": "", "modifier": "IS_NULL"}}) == [c]
    assert ids({"path": {"value": "/data/two/", "modifier": "INCLUDES"}}) == [b, c]
    assert ids({"path": {"value": "/data/one/a.mp4", "modifier": "EQUALS"}}) == [a]
    assert ids(
        {
            "title": {"value": "Quiet", "modifier": "EQUALS"},
            "OR": {"path": {"value": "c.mp4", "modifier": "INCLUDES"}},
        }
    ) == [b, c]


def test_find_scenes_by_ids_ignores_paging_and_an_unknown_id_is_an_error(
    fake: FakeStash,
) -> None:
    ids = _seed(fake, 3)

    data = fake.execute(
        "query($ids: [ID!]) { findScenes(ids: $ids, filter: {per_page: 1}) "
        "{ count scenes { id } } }",
        {"ids": [str(ids[2]), str(ids[0])]},
    )
    response = _post(fake, 'query { findScenes(ids: ["99"]) { count } }')

    assert data["findScenes"] == {"count": 2, "scenes": [{"id": str(ids[2])}, {"id": str(ids[0])}]}
    assert response.status_code == 200
    assert response.json()["data"] is None
    assert "not found" in response.json()["errors"][0]["message"]


def test_find_scenes_sorts_descending_with_ties_by_id(fake: FakeStash, clock: Clock) -> None:
    first, second, third = _seed(fake, 3)
    clock.advance(10)
    fake.update_scene(first, title="newest")

    data = fake.execute(
        'query { findScenes(filter: {sort: "updated_at", direction: DESC, per_page: -1}) '
        "{ scenes { id } } }"
    )

    assert [int(s["id"]) for s in data["findScenes"]["scenes"]] == [first, second, third]


# --------------------------------------------------------------------------- findScene


def test_find_scene_with_a_fragment_returns_names_files_and_the_screenshot_url(
    fake: FakeStash,
) -> None:
    studio = fake.add_studio("Northlight")
    performer = fake.add_performer("Ada Lovelace")
    tag = fake.add_tag("Drama")
    scene_id = fake.add_scene(
        title="Harbor",
        studio_id=studio,
        performer_ids=[performer],
        tag_ids=[tag],
        files=[{"path": "/data/videos/harbor.mp4", "size": 5_000_000_000, "duration": 61.5}],
    )

    scene = _stash(fake).find_scene(scene_id, fragment=FRAGMENT)

    updated = datetime.fromisoformat(fake.scene(scene_id)["updated_at"])
    assert scene == {
        "id": str(scene_id),
        "title": "Harbor",
        "studio": {"name": "Northlight"},
        "performers": [{"name": "Ada Lovelace"}],
        "tags": [{"name": "Drama"}],
        "files": [{"path": "/data/videos/harbor.mp4", "size": 5_000_000_000, "duration": 61.5}],
        "paths": {
            "screenshot": f"{fake.url}/scene/{scene_id}/screenshot?t={int(updated.timestamp())}"
        },
    }


def test_stashapis_default_fragment_gives_only_ids_for_studio_and_performers(
    fake: FakeStash,
) -> None:
    studio = fake.add_studio("Northlight")
    scene_id = fake.add_scene(title="x", studio_id=studio, files=[{"path": "/data/x.mp4"}])

    scene = _stash(fake).find_scene(scene_id)

    assert scene["studio"] == {"id": str(studio)}
    assert scene["files"][0]["basename"] == "x.mp4"
    assert scene["files"][0]["parent_folder"] == {"id": "1"}
    assert _stash(fake).find_scene(999) is None


def test_update_scene_moves_updated_at_strictly_forward_and_changes_the_screenshot_t(
    fake: FakeStash,
) -> None:
    scene_id = fake.add_scene(title="x")
    before = fake.scene(scene_id)

    fake.update_scene(scene_id, title="y")  # same clock second
    after = fake.scene(scene_id)

    assert after["title"] == "y"
    assert after["updated_at"] > before["updated_at"]
    assert after["paths"]["screenshot"] != before["paths"]["screenshot"]
    with pytest.raises(TypeError):
        fake.update_scene(scene_id, no_such_field=1)


def test_scene_update_mutation_applies_only_the_given_fields(fake: FakeStash) -> None:
    tag = fake.add_tag("Drama")
    scene_id = fake.add_scene(title="x", details="keep me")

    _stash(fake).update_scene({"id": scene_id, "title": "New", "tag_ids": [tag]})

    scene = fake.scene(scene_id)
    assert (scene["title"], scene["details"], scene["tags"]) == (
        "New",
        "keep me",
        [{"id": str(tag), "name": "Drama"}],
    )


def test_deleted_scenes_are_gone(fake: FakeStash) -> None:
    scene_id = fake.add_scene(title="x")

    fake.delete_scene(scene_id)

    assert _stash(fake).find_scene(scene_id) is None
    with pytest.raises(KeyError):
        fake.scene(scene_id)


# --------------------------------------------------------------------------- plugins


def test_plugin_config_reads_through_find_plugin_config_and_get_configuration(
    fake: FakeStash,
) -> None:
    fake.plugin_config["PlexSync"] = {"plex_url": "http://plex:32400", "max_retries": 3}
    fake.plugin_config["Other"] = {}
    stash = _stash(fake)

    assert stash.find_plugin_config("PlexSync") == {
        "plex_url": "http://plex:32400",
        "max_retries": 3,
    }
    assert stash.find_plugin_config("Other") == {}  # include leaves out empty configs
    assert set(stash.get_configuration()["plugins"]) == {"PlexSync", "Other"}


def test_configure_plugin_replaces_the_whole_map_as_stash_does(fake: FakeStash) -> None:
    fake.plugin_config["PlexSync"] = {"plex_url": "http://a", "enabled": False}
    mutation = "mutation($p: ID!, $i: Map!) { configurePlugin(plugin_id: $p, input: $i) }"

    raw = _post(fake, mutation, {"p": "PlexSync", "i": {"plex_token": "t"}}).json()

    assert raw == {"data": {"configurePlugin": {"plex_token": "t"}}}
    assert fake.plugin_config["PlexSync"] == {"plex_token": "t"}
    # stashapi merges client-side before sending the whole map
    result = _stash(fake).configure_plugin("PlexSync", {"enabled": True})
    assert result == fake.plugin_config["PlexSync"] == {"plex_token": "t", "enabled": True}


def test_run_plugin_task_is_recorded_with_its_args_as_a_map_and_returns_a_job_id(
    fake: FakeStash,
) -> None:
    seen: list[dict[str, Any]] = []
    fake.on_task_run = seen.append
    stash = _stash(fake)

    job = stash.run_plugin_task("PlexSync", "Process Queue", args={"mode": "process_queue"})
    raw = _post(
        fake,
        'mutation($m: Map) { runPluginTask(plugin_id: "PlexSync", task_name: "Process Queue",'
        ' description: "drain", args_map: $m) }',
        {"m": {"mode": "process_queue", "n": 2}},
    ).json()

    assert (job, raw["data"]["runPluginTask"]) == ("1", "2")
    assert [
        (r["plugin_id"], r["task_name"], r["args_map"], r["description"], r["job_id"])
        for r in fake.task_runs
    ] == [
        ("PlexSync", "Process Queue", {"mode": "process_queue"}, None, "1"),
        ("PlexSync", "Process Queue", {"mode": "process_queue", "n": 2}, "drain", "2"),
    ]
    assert seen == fake.task_runs
    assert fake.count("runPluginTask") == 2


def test_stdin_documents_have_stashs_shape(fake: FakeStash) -> None:
    hook = fake.hook_input(7)
    task = fake.task_input({"mode": "process_queue"})

    assert hook["args"]["hookContext"] == {
        "id": 7,
        "type": "Scene.Update.Post",
        "input": None,
        "inputFields": None,
    }
    assert task["args"] == {"mode": "process_queue"}
    assert hook["server_connection"]["Port"] == fake.port


# --------------------------------------------------------------------------- screenshots


def test_screenshot_downloads_with_the_cookie_or_api_key_and_is_refused_without(
    fake: FakeStash,
) -> None:
    scene_id = fake.add_scene(title="x")
    url = fake.scene(scene_id)["paths"]["screenshot"]

    with_cookie = requests.get(url, cookies={"session": fake.session_cookie}, timeout=5)
    with_key = requests.get(url, headers={"ApiKey": "secret-key"}, timeout=5)
    without = requests.get(url, timeout=5)
    unknown = requests.get(
        f"{fake.url}/scene/999/screenshot", headers={"ApiKey": "secret-key"}, timeout=5
    )

    assert with_cookie.status_code == 200
    assert with_cookie.headers["Content-Type"] == "image/jpeg"
    assert with_cookie.content == with_key.content == make_cover_jpeg(scene_id, 0)
    assert without.status_code == 401
    assert unknown.status_code == 404


def test_set_screenshot_changes_the_bytes_and_the_url_and_etag_gives_304(
    fake: FakeStash,
) -> None:
    scene_id = fake.add_scene(title="x")
    auth = {"ApiKey": "secret-key"}
    old_url = fake.scene(scene_id)["paths"]["screenshot"]
    etag = requests.get(old_url, headers=auth, timeout=5).headers["ETag"]

    fake.set_screenshot(scene_id, b"\x89PNG\r\n\x1a\nnew cover")
    new_url = fake.scene(scene_id)["paths"]["screenshot"]
    fresh = requests.get(new_url, headers={**auth, "If-None-Match": etag}, timeout=5)
    again = requests.get(
        new_url, headers={**auth, "If-None-Match": fresh.headers["ETag"]}, timeout=5
    )

    assert new_url != old_url
    assert (fresh.status_code, fresh.content) == (200, b"\x89PNG\r\n\x1a\nnew cover")
    assert fresh.headers["Content-Type"] == "image/png"
    assert again.status_code == 304


def test_a_scene_without_cover_serves_stashs_placeholder_svg(fake: FakeStash) -> None:
    scene_id = fake.add_scene(title="x")
    fake.remove_screenshot(scene_id)

    response = requests.get(
        f"{fake.url}/scene/{scene_id}/screenshot", headers={"ApiKey": "secret-key"}, timeout=5
    )

    assert response.headers["Content-Type"] == "image/svg+xml"


def test_login_redirect_mode_sends_media_to_the_login_page_but_graphql_still_gets_401(
    clock: Clock,
) -> None:
    with FakeStash(login_redirect=True, clock=clock) as fake:
        scene_id = fake.add_scene(title="x")
        media = requests.get(f"{fake.url}/scene/{scene_id}/screenshot", timeout=5)
        graphql = _post(fake, "{ version { hash } }", cookies={})

    assert media.status_code == 200  # requests followed the 302
    assert media.history[0].status_code == 302
    assert media.headers["Content-Type"] == "text/html"
    assert graphql.status_code == 401


# --------------------------------------------------------------------------- protocol


def test_invalid_documents_get_422_and_resolver_errors_get_200_like_gqlgen(
    fake: FakeStash,
) -> None:
    parse_error = _post(fake, "query {")
    unknown_field = _post(fake, "{ findScene(id: 1) { no_such_field } }")
    bad_variable = _post(
        fake,
        "query($f: FindFilterType) { findScenes(filter: $f) { count } }",
        {"f": {"per_page": "many"}},
    )
    bad_id = _post(fake, '{ findScene(id: "abc") { id } }')

    assert [r.status_code for r in (parse_error, unknown_field, bad_variable)] == [422] * 3
    assert unknown_field.json()["data"] is None
    assert unknown_field.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert bad_id.status_code == 200
    assert bad_id.json()["data"] == {"findScene": None}
    assert "strconv.Atoi" in bad_id.json()["errors"][0]["message"]


def test_every_request_is_logged_with_query_variables_and_status(fake: FakeStash) -> None:
    _post(fake, "query Q($id: ID) { findScene(id: $id) { id } }", {"id": "1"})

    (record,) = fake.requests
    assert (record.name, record.variables, record.status, record.authenticated) == (
        "Q",
        {"id": "1"},
        200,
        True,
    )
    assert fake.count("findScene") == 1 and fake.count("nothing") == 0
    fake.clear_requests()
    assert fake.requests == [] and fake.count() == 0


def test_go_down_refuses_connections_and_come_up_listens_on_the_same_port(
    fake: FakeStash,
) -> None:
    stash = _stash(fake)
    port = fake.port

    fake.go_down()
    with pytest.raises(requests.ConnectionError):
        stash.find_scene(1)
    fake.come_up()

    assert fake.port == port
    assert stash.find_scene(1) is None


def test_fail_next_fails_exactly_n_requests_with_the_status(fake: FakeStash) -> None:
    fake.fail_next(2, status=503)

    statuses = [_post(fake, "{ version { hash } }").status_code for _ in range(3)]

    assert statuses == [503, 503, 200]
    assert [r.status for r in fake.requests] == [503, 503, 200]
    fake.fail_next(1, path_prefix="/scene/")
    assert _post(fake, "{ version { hash } }").status_code == 200


def test_plugin_jobs_run_requested_tasks_one_at_a_time_in_order(tmp_path: Path) -> None:
    from plexsync.stash.post import post_graphql
    from testkit.stash_jobs import PluginJobs

    with FakeStash(plugin_dir=str(tmp_path / "plugin")) as fake, \
            PluginJobs(fake, tmp_path / "data") as jobs:
        for mode in ("queue_status", "clear_queue"):
            post_graphql(fake.server_connection(), (
                "mutation($m: Map) { runPluginTask(plugin_id: \"PlexSync\", "
                "task_name: \"T\", args_map: $m) }"), {"m": {"mode": mode}}, 5.0)
        assert jobs.wait_idle(60)
    first, second = jobs.runs
    assert (first.mode, second.mode) == ("queue_status", "clear_queue")
    assert first.returncode == 0 and first.answer["error"] is None, first.stderr
    assert first.answer["output"]["pending"] == 0 and second.returncode == 0
    assert second.started_at >= first.ended_at   # never two at once, as Stash's job manager

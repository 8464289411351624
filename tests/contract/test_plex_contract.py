"""Contract with the published Plex Media Server API spec (``docs/plex-api.md``).

The spec is the community OpenAPI description of PMS in ``../shared/plex-spec/`` (beside the
repository; CI provides it, the project never copies it). ``testkit.plex_contract`` holds the
checks. Two mechanisms, both needed:

(a) Session-wide: ``tests/contract/plex_guard.py`` checks every request every test sends to a
    fake Plex, and every answer, while the integration, scenario and e2e suites run (the fake
    runs in the pytest process even when ``plexsync.py`` is a subprocess). It proves what the
    suites exercise; it cannot prove coverage.
(b) Here: one representative session that sends every kind of request ``PlexClient`` has
    (``test_plex_client_sends_only_documented_requests_...`` fails when a new request method
    appears and is not added to it), with every edit-key form PlexSync writes. It also pins
    the fake's answers that matter (401, 404, 400, paging headers), ``tagtype[].tag``, and
    shows that breaking the fake or a request makes the checker fail.

Tests that need the spec skip, saying why, when it is absent.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from plexsync.core.settings import Settings
from plexsync.core.vocab import FIELD_WIRE, IMAGE_WIRE, TAG_KINDS
from plexsync.errors import PlexBadRequest, PlexNotFound
from plexsync.plex.client import PlexClient
from testkit import fake_plex
from testkit.fake_plex import FakePlex, RequestRecord
from testkit.plex_contract import DISAGREEMENTS, PlexSpec, spec_dir
from testkit.plex_http import Response
from tests.contract.plex_guard import checking_observer

REPO = Path(__file__).resolve().parents[2]
TOKEN = "contract-token"
MOVIES = "/media/movies"

#: Every PlexClient method that sends a request, each called once by the session below.
REQUEST_METHODS = frozenset({"identity", "connect", "sections", "section_page", "listing_page",
                             "fetch_item", "edit", "upload_image", "selected_poster",
                             "scan_folder",
                             "history_page", "play_state_page"})
#: PlexClient's other public members (no request of their own).
NO_REQUEST = frozenset({"configured_sections", "connected"})


@pytest.fixture(scope="module")
def spec() -> PlexSpec:
    try:
        return PlexSpec.load()
    except FileNotFoundError:
        pytest.skip(
            f"The Plex Media Server API spec is not at {spec_dir()} (looked for "
            "../shared/plex-spec/plex-api-spec.yaml beside the repository). CI provides that "
            "folder and the project does not copy the spec into its own tree, so the Plex "
            "contract can only be checked where it exists.")


@pytest.fixture
def fake() -> Iterator[FakePlex]:
    with FakePlex(token=TOKEN) as server:
        server.add_section(1, "Movies", [MOVIES])
        server.add_section(2, "Shows", ["/media/shows"], type="show")
        yield server


@pytest.fixture
def recorded() -> Iterator[list[tuple[RequestRecord, list[tuple[str, str]], Response]]]:
    """Every request a fake serves during the test, with its query pairs and answer."""
    seen: list[tuple[RequestRecord, list[tuple[str, str]], Response]] = []

    def keep(record: RequestRecord, pairs: list[tuple[str, str]], response: Response) -> None:
        seen.append((record, pairs, response))

    fake_plex.OBSERVERS.append(keep)
    yield seen
    fake_plex.OBSERVERS.remove(keep)


def client(fake: FakePlex, tmp_path: Path) -> PlexClient:
    settings = Settings.from_mapping({"plex_url": fake.url, "plex_token": TOKEN})
    return PlexClient(settings, str(tmp_path))


def rich_item(fake: FakePlex) -> int:
    return fake.add_item(
        1, f"{MOVIES}/a.mp4", size=1234, duration_ms=60_000, title="A", title_sort="a",
        summary="S", studio="Studio", originally_available_at="2021-02-03", user_rating=7.0,
        tags={"genre": ["G1", "G2"], "actor": ["Ann", "Bob"], "collection": ["C"],
              "label": ["L"], "director": ["D"], "producer": ["P"], "writer": ["W"],
              "country": ["X"]},
        roles={"Ann": "Hero"}, locked={"title", "genre", "thumb"})


def every_edit_key_form() -> dict[str, str]:
    """One edit holding every key form PlexSync writes: values (and clears), locks of fields,
    tag kinds and images, full tag lists with removals, and a whole-kind clear."""
    params: dict[str, str] = {f"{wire}.value": "" for wire in FIELD_WIRE.values()}
    params.update({"title.value": "New title", "userRating.value": "7.5",
                   "originallyAvailableAt.value": "2020-01-02", "year.value": "2020"})
    for name in (*FIELD_WIRE.values(), *TAG_KINDS, *IMAGE_WIRE.values(), "year"):
        params[f"{name}.locked"] = "1"
    for kind in TAG_KINDS:
        params[f"{kind}[0].tag.tag"] = f"{kind} one"
        params[f"{kind}[1].tag.tag"] = f"{kind} two, with comma"
        params[f"{kind}[].tag.tag-"] = ",".join(quote(t) for t in ("old", "older one"))
    params["writer[].tag"] = ""
    return params


# ----------------------------------------------------------------------------- (b) session
def test_plex_client_sends_only_documented_requests_and_the_fake_answers_on_spec(
    spec: PlexSpec, fake: FakePlex, tmp_path: Path,
    recorded: list[tuple[RequestRecord, list[tuple[str, str]], Response]],
) -> None:
    public = {n for n in vars(PlexClient) if not n.startswith("_")}
    assert public - NO_REQUEST == REQUEST_METHODS, (
        "a PlexClient method was added or removed: call it in this session and list it")
    rk = rich_item(fake)
    fake.stage_item(1, f"{MOVIES}/new/b.mp4")
    plex = client(fake, tmp_path)

    plex.identity()
    plex.connect()
    plex.sections()
    plex.section_page(1, 0, 50)
    plex.listing_page(1, 0, 50)
    plex.fetch_item(rk)
    plex.edit(1, rk, every_edit_key_form())
    plex.upload_image(rk, "poster", b"\xff\xd8poster")
    plex.upload_image(rk, "art", b"\xff\xd8art")
    assert plex.selected_poster(rk).startswith("upload://posters/")
    plex.scan_folder(1, f"{MOVIES}/new")
    plex.fetch_item(rk)   # after the edit: locks, images, every tag kind
    fake.play(rk, at=1_700_000_000)
    fake.play(rk, at=1_700_000_100, account_id=2)
    fake.watch_partly(rk, 5_000)
    fake.rate_as_user(rk, 8.0)
    history = plex.history_page(1_700_000_000, 1, 0, 50)
    in_progress = plex.play_state_page(1, "inProgress=1", 0, 50)
    rated = plex.play_state_page(1, "lastRatedAt>>=1700000000", 0, 50)

    assert all(r.status == 200 for r, _, _ in recorded), [(r.path, r.status) for r, _, _ in
                                                           recorded]
    problems = [p for record, pairs, response in recorded for p in (
        *spec.check_request(record.method, record.path, pairs),
        *spec.check_response(record.method, record.path, response.status, response.headers,
                             response.body))]
    assert problems == []
    kinds = {(r.method, r.path.rstrip("0123456789")) for r, _, _ in recorded}
    assert kinds == {
        ("GET", "/identity"), ("GET", "/"), ("GET", "/library/sections"),
        ("GET", "/library/sections/1/all"), ("GET", "/library/metadata/"),
        ("PUT", "/library/sections/1/all"), ("POST", "/library/metadata/1/posters"),
        ("POST", "/library/metadata/1/arts"), ("GET", "/library/metadata/1/posters"),
        ("GET", "/library/sections/1/refresh"),
        ("GET", "/status/sessions/history/all")}
    assert [(p.rating_key, p.viewed_at) for p in history.plays] == [(rk, 1_700_000_000)]
    assert [(i.rating_key, i.view_offset_ms) for i in in_progress.items] == [(rk, 5_000)]
    assert [(i.rating_key, i.rating) for i in rated.items] == [(rk, 8.0)]


def test_the_fake_s_listing_and_item_xml_use_the_spec_s_names_and_case(
    spec: PlexSpec, fake: FakePlex,
) -> None:
    rk = rich_item(fake)
    headers = {"X-Plex-Token": TOKEN}
    listing = requests.get(f"{fake.url}/library/sections/1/all?type=1", headers=headers,
                           timeout=5)
    item = requests.get(f"{fake.url}/library/metadata/{rk}", headers=headers, timeout=5)

    for path, answer in (("/library/sections/1/all", listing), (f"/library/metadata/{rk}", item)):
        assert spec.check_response("GET", path, 200, answer.headers, answer.content) == []
    video = ET.fromstring(item.content).find("Video")
    assert video is not None
    metadata = spec.properties(spec.schema("Metadata"))
    documented = {"librarySectionID", "librarySectionTitle", "librarySectionKey"}
    assert set(video.attrib) <= set(metadata) | documented
    assert {"ratingKey", "originallyAvailableAt", "userRating", "titleSort"} <= set(video.attrib)
    assert {c.tag for c in video} == {"Media", "Genre", "Role", "Director", "Writer", "Country",
                                      "Collection", "Label", "Producer", "Field"}


# ----------------------------------------------------------------------------- real answers
def test_without_a_token_the_fake_answers_401(fake: FakePlex) -> None:
    answer = requests.get(f"{fake.url}/library/sections", timeout=5)
    assert answer.status_code == 401


def test_an_unknown_item_is_404_for_reads_edits_and_uploads(fake: FakePlex, tmp_path: Path) -> None:
    plex = client(fake, tmp_path)
    with pytest.raises(PlexNotFound):
        plex.fetch_item(999)
    with pytest.raises(PlexNotFound):
        plex.edit(1, 999, {"title.value": "x"})
    with pytest.raises(PlexNotFound):
        plex.upload_image(999, "poster", b"x")
    assert [r.status for r in fake.requests[-3:]] == [404, 404, 404]


@pytest.mark.parametrize("query", [
    "type=2&id={rk}&title.value=x",                    # type does not match the section
    "type=1&title.value=x",                            # no id
    "type=1&id={rk}&genre[0].tag.tag-=x",              # removal with an index
    "type=1&id={rk}&actor[0].tagging.text=Hero",       # a role without its actor
    "type=1&id={rk}&title.locked=2",                   # a lock that is not a BoolInt
    "type=1&id={rk}&bogus[].tag=",                     # clearing an unknown tag type
])
def test_an_inconsistent_edit_is_400_and_changes_nothing(fake: FakePlex, query: str) -> None:
    rk = rich_item(fake)
    before = fake.item(rk)
    url = f"{fake.url}/library/sections/1/all?{query.format(rk=rk)}"
    answer = requests.put(url, headers={"X-Plex-Token": TOKEN}, timeout=5)
    assert answer.status_code == 400
    assert fake.item(rk) == before


def test_listings_carry_the_paging_headers(fake: FakePlex) -> None:
    for i in range(5):
        fake.add_item(1, f"{MOVIES}/m{i}.mp4")
    answer = requests.get(f"{fake.url}/library/sections/1/all", timeout=5, headers={
        "X-Plex-Token": TOKEN, "X-Plex-Container-Start": "2", "X-Plex-Container-Size": "2"})
    assert answer.headers["X-Plex-Container-Start"] == "2"
    assert answer.headers["X-Plex-Container-Total-Size"] == "5"
    assert ET.fromstring(answer.content).get("size") == "2"


def test_clearing_a_tag_type_removes_every_association_of_that_type_only(
    fake: FakePlex, tmp_path: Path,
) -> None:
    rk = rich_item(fake)
    client(fake, tmp_path).edit(1, rk, {"actor[].tag": "", "genre[].tag": ""})
    item = fake.item(rk)
    assert item.tags["actor"] == [] and item.roles == {} and item.tags["genre"] == []
    assert item.tags["label"] == ["L"] and item.tags["collection"] == ["C"]
    with pytest.raises(PlexBadRequest):
        client(fake, tmp_path).edit(1, rk, {"nosuchkind[].tag": ""})


def test_a_clear_applies_before_the_new_list_in_the_same_edit(fake: FakePlex, tmp_path: Path,
                                                              ) -> None:
    rk = rich_item(fake)
    client(fake, tmp_path).edit(1, rk, {"genre[].tag": "", "genre[0].tag.tag": "Fresh"})
    assert fake.item(rk).tags["genre"] == ["Fresh"]


# ----------------------------------------------------------------------------- breaking it
@pytest.mark.parametrize(("method", "path", "pairs", "expected"), [
    ("GET", "/library/bogus", [], "no documented path template"),
    ("DELETE", "/library/sections/1/all", [], "documents no DELETE"),
    ("POST", "/library/metadata/1/posterz", [], "path parameter element"),
    ("GET", "/library/sections/1/all", [("includeEverything", "1")], "not a documented param"),
    ("PUT", "/library/sections/1/all", [("type", "1"), ("id", "1"), ("bogus.value", "x")],
     "'bogus' is not a documented Metadata field"),
    ("PUT", "/library/sections/1/all", [("type", "1"), ("id", "1"), ("title.locked", "yes")],
     "is not an integer"),
    ("PUT", "/library/sections/1/all", [("type", "1"), ("id", "1"), ("mood[0].tag.tag", "x")],
     "'mood' is not a documented tag type"),
])
def test_an_undocumented_request_fails_the_check(
    spec: PlexSpec, method: str, path: str, pairs: list[tuple[str, str]], expected: str,
) -> None:
    problems = spec.check_request(method, path, pairs)
    assert problems and expected in " ".join(problems)


def test_the_documented_edit_patterns_pass_the_check(spec: PlexSpec) -> None:
    pairs = [("type", "1"), ("id", "1,2"), ("title.value", "x"), ("title.locked", "1"),
             ("genre[0].tag.tag", "a"), ("genre[].tag.tag-", "b"), ("genre[].tag", ""),
             ("actor[0].tagging.text", "Hero")]
    assert spec.check_request("PUT", "/library/sections/1/all", pairs) == []


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda c, v: v.set("bogusAttr", "1"), "attribute 'bogusAttr' is not a documented"),
    (lambda c, v: v.set("librarySectionId", "1"), "spells it 'librarySectionID'"),
    (lambda c, v: v.set("year", "nineteen"), "is not an integer"),
    (lambda c, v: v.set("userRating", "11"), "above the maximum"),
    (lambda c, v: v.set("originallyAvailableAt", "03/02/2021"), "not a YYYY-MM-DD date"),
    (lambda c, v: ET.SubElement(v, "Bogus"), "child <Bogus> is not a documented"),
    (lambda c, v: ET.SubElement(v, "genre", {"tag": "x"}), "spells it 'Genre'"),
    (lambda c, v: c.set("totally", "1"), "attribute 'totally' is not a documented"),
])
def test_a_mutated_fake_answer_fails_the_check(
    spec: PlexSpec, fake: FakePlex, mutate: Callable[[ET.Element, ET.Element], object],
    expected: str,
) -> None:
    rk = rich_item(fake)
    answer = requests.get(f"{fake.url}/library/metadata/{rk}", headers={"X-Plex-Token": TOKEN},
                          timeout=5)
    root = ET.fromstring(answer.content)
    video = root.find("Video")
    assert video is not None
    mutate(root, video)
    body = ET.tostring(root)
    problems = spec.check_response("GET", f"/library/metadata/{rk}", 200, answer.headers, body)
    assert problems and expected in " ".join(problems)


def test_an_answer_without_the_paging_headers_fails_the_check(spec: PlexSpec,
                                                              fake: FakePlex) -> None:
    answer = requests.get(f"{fake.url}/library/sections/1/all", headers={"X-Plex-Token": TOKEN},
                          timeout=5)
    problems = spec.check_response("GET", "/library/sections/1/all", 200, {}, answer.content)
    assert any("no X-Plex-Container-Total-Size header" in p for p in problems)


def test_the_session_guard_reports_an_off_spec_request_and_answer(spec: PlexSpec) -> None:
    problems: list[str] = []
    observe = checking_observer(problems, lambda: spec)
    record = RequestRecord("GET", "/library/bogus", {}, {"X-Plex-Token": "t"}, 0, 200)
    observe(record, [], Response(200, b"<MediaContainer size='0'/>"))
    bad_item = (b"<MediaContainer size='1'><Video ratingKey='1' bogus='1'/></MediaContainer>")
    record = RequestRecord("GET", "/library/metadata/1", {}, {}, 0, 200)
    observe(record, [], Response(200, bad_item, headers={"X-Plex-Container-Start": "0",
                                                         "X-Plex-Container-Total-Size": "1"}))
    assert any("no documented path template" in p for p in problems)
    assert any("'bogus' is not a documented field of Metadata" in p for p in problems)
    user = RequestRecord("GET", "/library", {}, {"X-Testkit-Client": "user-script"}, 0, 200)
    before = len(problems)
    observe(user, [], Response(200, b"<MediaContainer size='0'/>"))
    assert len(problems) == before   # a user's own plexapi script is not PlexSync


def test_every_tolerated_disagreement_is_explained_in_the_docs() -> None:
    doc = (REPO / "docs" / "plex-api.md").read_text(encoding="utf-8")
    missing = [d.what for d in DISAGREEMENTS if d.what not in doc]
    assert missing == []

"""XML rendering for the fake Plex Media Server (see ``testkit.fake_plex``).

Shapes follow real PMS captures (home-assistant/core ``tests/components/plex/fixtures``) and
what plexapi reads (docs/plex-api.md): a ``<MediaContainer>`` root, ``<Video>`` items with
``<Media><Part/></Media>`` nested, one element per tag (``<Genre tag=…/>``,
``<Role tag=… role=…/>``) and ``<Field name=… locked="1"/>`` per locked field on the detail
view only.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING
from urllib.parse import quote_plus

from testkit.plex_state import selected_poster, shows_poster

if TYPE_CHECKING:
    from testkit.plex_state import HistoryEntry, ItemState, SectionState

MACHINE_IDENTIFIER = "fa4e0f1c0ffee0ddba11ad5eedfeed5eed000001"
VERSION = "1.40.0.7998-c29d4c0c8"
FRIENDLY_NAME = "FakePlex"
LIBRARY_IDENTIFIER = "com.plexapp.plugins.library"

#: Edit-key tag kind → XML element name (real PMS spells actors ``Role``).
TAG_ELEMENTS: dict[str, str] = {
    "genre": "Genre",
    "country": "Country",
    "director": "Director",
    "writer": "Writer",
    "producer": "Producer",
    "collection": "Collection",
    "label": "Label",
    "actor": "Role",
}

UNAUTHORIZED_HTML = (
    "<html><head><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>"
)

_REASONS = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable"}


def error_html(status: int, detail: str = "") -> bytes:
    """A small HTML error page like PMS sends; ``detail`` (fake-only) helps debugging tests."""
    reason = _REASONS.get(status, "Error")
    extra = f"<p>{_escape_text(detail)}</p>" if detail else ""
    page = (f"<html><head><title>{reason}</title></head>"
            f"<body><h1>{status} {reason}</h1>{extra}</body></html>")
    return page.encode("utf-8")


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def paging_headers(root: ET.Element) -> dict[str, str]:
    """The headers PMS sends with every MediaContainer: where this page starts and the total."""
    start = root.get("offset", "0")
    total = root.get("totalSize", root.get("size", "0"))
    return {"X-Plex-Container-Start": start, "X-Plex-Container-Total-Size": total}


def to_bytes(root: ET.Element) -> bytes:
    """Serialise a container with the XML declaration PMS sends."""
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


def container(**attrs: object) -> ET.Element:
    """A ``<MediaContainer>`` with the given attributes (``None`` values are left out)."""
    elem = ET.Element("MediaContainer")
    _set(elem, attrs)
    return elem


def _set(elem: ET.Element, attrs: dict[str, object]) -> None:
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, float) and value.is_integer():
            value = f"{value:.1f}"
        elem.set(key, str(value))


def server_root(updated_at: int) -> ET.Element:
    """``GET /``: the server's root container (attributes of a real 1.40 server)."""
    root = container(
        size=3, allowCameraUpload=0, allowChannelAccess=1, allowMediaDeletion=1, allowSharing=1,
        allowSync=1, allowTuners=0, backgroundProcessing=1, certificate=0, companionProxy=1,
        countryCode="usa", diagnostics="logs,databases,streaminglogs", eventStream=1,
        friendlyName=FRIENDLY_NAME, hubSearch=1, itemClusters=1, livetv=7,
        machineIdentifier=MACHINE_IDENTIFIER, mediaProviders=1, multiuser=1, myPlex=0,
        myPlexMappingState="unknown", myPlexSigninState="none", myPlexSubscription=0,
        offlineTranscode=1, platform="Linux", platformVersion="6.1", pluginHost=1,
        pushNotifications=0, readOnlyLibraries=0, streamingBrainABRVersion=3,
        streamingBrainVersion=2, sync=1, transcoderActiveVideoSessions=0, transcoderAudio=1,
        transcoderLyrics=1, transcoderPhoto=1, transcoderSubtitles=1, transcoderVideo=1,
        updatedAt=updated_at, updater=1, version=VERSION, voiceSearch=1,
    )
    for key in ("library", "identity", "hubs"):
        ET.SubElement(root, "Directory", count="1", key=key, title=key)
    return root


def identity() -> ET.Element:
    return container(size=0, claimed=1, machineIdentifier=MACHINE_IDENTIFIER, version=VERSION)


def library_root() -> ET.Element:
    root = container(size=2, allowSync=0, art="/:/resources/library-art.jpg",
                     content="1", identifier=LIBRARY_IDENTIFIER,
                     mediaTagPrefix="/system/bundle/media/flags/", mediaTagVersion=1700000000,
                     title1="Plex Library", title2="")
    ET.SubElement(root, "Directory", key="sections", title="Library Sections")
    ET.SubElement(root, "Directory", key="recentlyAdded", title="Recently Added Content")
    return root


def sections(all_sections: Iterable[SectionState]) -> ET.Element:
    """``GET /library/sections``: one ``<Directory>`` with ``<Location>`` children per section."""
    items = list(all_sections)
    root = container(size=len(items), allowSync=0, identifier=LIBRARY_IDENTIFIER,
                     title1="Plex Library")
    for sec in items:
        directory = ET.SubElement(root, "Directory")
        _set(directory, {
            "allowSync": 1, "art": f"/:/resources/{sec.type}-fanart.jpg",
            "composite": f"/library/sections/{sec.section_id}/composite/{sec.updated_at}",
            "filters": 1, "refreshing": 0, "thumb": f"/:/resources/{sec.type}.png",
            "key": sec.section_id, "type": sec.type, "title": sec.title,
            "agent": sec.agent, "scanner": sec.scanner, "language": "xn",
            "uuid": sec.uuid, "updatedAt": sec.updated_at, "createdAt": sec.created_at,
            "scannedAt": sec.updated_at, "content": 1, "directory": 1,
            "contentChangedAt": sec.updated_at, "hidden": 0,
        })
        for loc_id, path in enumerate(sec.locations, start=1):
            ET.SubElement(directory, "Location", id=str(sec.section_id * 100 + loc_id), path=path)
    return root


def video(item: ItemState, section: SectionState, *, tag_limit: int | None,
          detail: bool, tag_id: Callable[[str, str], int]) -> ET.Element:
    """One ``<Video type="movie">``.

    ``tag_limit`` truncates every tag list (list views, python-plexapi issue #713); ``detail``
    adds the ``<Field locked>`` children that only ``/library/metadata/{rk}`` carries.
    """
    rk = item.rating_key
    elem = ET.Element("Video")
    duration = item.files[0][2] if item.files else None
    _set(elem, {
        "ratingKey": rk, "key": f"/library/metadata/{rk}", "guid": f"local://{rk}",
        "studio": item.studio, "type": "movie",
        "title": item.title, "titleSort": item.title_sort,
        "librarySectionTitle": section.title, "librarySectionID": section.section_id,
        "librarySectionKey": f"/library/sections/{section.section_id}",
        "originalTitle": item.original_title, "contentRating": item.content_rating,
        "summary": item.summary if item.summary is not None else "",
        "rating": item.critic_rating, "audienceRating": item.audience_rating,
        "userRating": item.user_rating, "year": item.year, "tagline": item.tagline,
        "thumb": f"/library/metadata/{rk}/thumb/{item.updated_at}"
        if shows_poster(item) else None,
        "art": f"/library/metadata/{rk}/art/{item.updated_at}"
        if item.art is not None or item.art_url else None,
        "duration": duration, "originallyAvailableAt": item.originally_available_at,
        "addedAt": item.added_at, "updatedAt": item.updated_at,
        "viewCount": item.view_count or None, "viewOffset": item.view_offset or None,
        "lastViewedAt": item.last_viewed_at, "lastRatedAt": item.last_rated_at,
    })
    for index, (path, size, dur) in enumerate(item.files):
        ext = posixpath.splitext(path)[1].lstrip(".").lower() or None
        media_id = rk * 1000 + index
        media = ET.SubElement(elem, "Media")
        _set(media, {"id": media_id, "duration": dur, "container": ext})
        part = ET.SubElement(media, "Part")
        _set(part, {"id": media_id, "key": f"/library/parts/{media_id}/{item.added_at}/file.{ext}",
                    "duration": dur, "file": path, "size": size, "container": ext})
    for kind, element_name in TAG_ELEMENTS.items():
        values = item.tags.get(kind, [])
        if tag_limit is not None:
            values = values[:tag_limit]
        for value in values:
            tid = tag_id(kind, value)
            tag = ET.SubElement(elem, element_name)
            _set(tag, {"id": tid, "filter": f"{kind}={tid}", "tag": value})
            if kind == "actor":
                _set(tag, {"role": item.roles.get(value)})
    if detail:
        for name in sorted(item.locked):
            ET.SubElement(elem, "Field", locked="1", name=name)
    return elem


def history_entry(entry: HistoryEntry) -> ET.Element:
    """One ``<Video>`` of ``/status/sessions/history/all``: the spec's fields, no media."""
    elem = ET.Element("Video")
    _set(elem, {
        "historyKey": f"/status/sessions/history/{entry.history_key}",
        "key": f"/library/metadata/{entry.rating_key}", "ratingKey": entry.rating_key,
        "librarySectionID": entry.section_id, "title": entry.title, "type": "movie",
        "thumb": f"/library/metadata/{entry.rating_key}/thumb/{entry.viewed_at}",
        "viewedAt": entry.viewed_at, "accountID": entry.account_id, "deviceID": entry.device_id,
    })
    return elem


def images(item: ItemState, kind: str) -> ET.Element:
    """``GET /library/metadata/{rk}/posters|arts``: the item's posters (uploads, an agent's),
    the selected one ``selected="1"``; its art, if any, as selected. Plex's generated thumbnail
    is not listed: with none selected, the item's ``thumb`` shows it."""
    root = container(size=0, identifier=LIBRARY_IDENTIFIER)
    rk = item.rating_key
    if kind == "posters":
        chosen = selected_poster(item)
        entries = {ident: url for ident, (_, url) in item.posters.items()}
        if chosen and chosen not in entries:   # an agent's poster
            entries[chosen] = None
        for n, (ident, url) in enumerate(entries.items()):
            key = f"/library/metadata/{rk}/file?url={quote_plus(ident)}&n={n}"
            ET.SubElement(root, "Photo", key=key, ratingKey=ident,
                          selected="1" if ident == chosen else "0", thumb=key,
                          provider="url" if url else "local")
        root.set("size", str(len(entries)))
        return root
    if item.art is None and not item.art_url:
        return root
    root.set("size", "1")
    rating_key = item.art_url or f"upload://arts/{rk}-{item.updated_at}"
    key = f"/library/metadata/{rk}/art/{item.updated_at}"
    ET.SubElement(root, "Photo", key=key, ratingKey=rating_key, selected="1", thumb=key,
                  provider="local" if item.art is not None else "url")
    return root

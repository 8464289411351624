"""The floor of a Reconcile All: what any reconciler must spend to read both sides once.

Run in its own fresh child process (spawned, as PlexSync's reconcile is), against the same two
fakes: the same Plex listing pages (`GET /library/sections/{id}/all?type=1`, the index's page
size, one keep-alive connection, parsed with ElementTree), then the same Stash pages (the same
GraphQL document with the same variables as `StashClient.reconcile_page`, the engine's page
size, bare keep-alive `http.client` POSTs, `json.loads`). Kept: what comparison needs, the
Plex side's values by file path (title, summary, studio, date, rating, tag names); each Stash
page is held only while its scenes are looked up by mapped path. No sync record, no queue, no
gap rules: the figure above this floor is PlexSync's own work. Reported like the reconcile
child: wall and CPU seconds of the pass, and the process's peak RSS (`peak_rss_mib`). The
product's constants (page sizes, the document, the movie type) are imported by the parent
(`plan`) so that this child loads nothing of PlexSync's.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from typing import Any

PlexValues = tuple[str, ...]


def plan(url: str, token: str, connection: dict[str, Any], path_map: str) -> dict[str, Any]:
    """What the floor child needs, with the product's own constants (imported here)."""
    from benchmarks.sync_requests import _auth_headers
    from plexsync.plex.client import MOVIE_TYPE
    from plexsync.plex.index import DEFAULT_PAGE_SIZE
    from plexsync.reconcile.engine import PER_PAGE
    from plexsync.stash.documents import RECONCILE_SCENE_PAGE

    host = str(connection.get("Host") or "127.0.0.1")
    stash_prefix, plex_prefix = path_map.split("=", 1)
    return {"plex_url": url, "token": token, "section": 1, "plex_page": DEFAULT_PAGE_SIZE,
            "movie_type": MOVIE_TYPE, "stash_host": "127.0.0.1" if host == "0.0.0.0" else host,
            "stash_port": int(connection.get("Port") or 9999),
            "headers": _auth_headers(connection), "document": RECONCILE_SCENE_PAGE,
            "stash_page": PER_PAGE, "stash_prefix": stash_prefix, "plex_prefix": plex_prefix}


def _plex_listing(url: str, token: str, section_id: int, page: int,
                  movie_type: int) -> dict[str, PlexValues]:
    """Every item's comparable values by file path, from one pass over the paged listing."""
    import xml.etree.ElementTree as ET

    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
    by_path: dict[str, PlexValues] = {}
    start = 0
    while True:
        conn.request("GET", f"/library/sections/{section_id}/all?type={movie_type}",
                     headers={"X-Plex-Token": token, "X-Plex-Container-Start": str(start),
                              "X-Plex-Container-Size": str(page)})
        root = ET.fromstring(conn.getresponse().read())
        videos = root.findall("Video")
        for video in videos:
            values = (video.get("ratingKey") or "", video.get("title") or "",
                      video.get("summary") or "", video.get("studio") or "",
                      video.get("originallyAvailableAt") or "", video.get("userRating") or "",
                      *sorted(f"{t.tag}:{t.get('tag')}" for t in video
                              if t.tag in ("Genre", "Role", "Collection", "Label",
                                           "Director")))
            for part in video.iter("Part"):
                by_path[part.get("file") or ""] = values
        start += len(videos)
        total = int(root.get("totalSize") or root.get("size") or 0)
        if not videos or start >= total:
            break
    conn.close()
    return by_path


def _stash_pages(p: dict[str, Any], found: dict[str, PlexValues]) -> tuple[int, int]:
    """(scenes read, scenes whose file the listing holds), page by page as the engine asks."""
    conn = http.client.HTTPConnection(p["stash_host"], p["stash_port"])
    per_page, stash_prefix, plex_prefix = p["stash_page"], p["stash_prefix"], p["plex_prefix"]
    scanned = matched = after = 0
    while True:
        variables = {"scene_filter": {"id": {"value": after, "modifier": "GREATER_THAN"}},
                     "filter": {"page": 1, "per_page": per_page, "sort": "id",
                                "direction": "ASC"}}
        conn.request("POST", "/graphql",
                     json.dumps({"query": p["document"], "variables": variables}),
                     headers=p["headers"])
        body = json.loads(conn.getresponse().read())
        page = body["data"]["findScenes"]
        scenes = page["scenes"]
        for scene in scenes:
            scanned += 1
            matched += any(found.get(plex_prefix + f["path"][len(stash_prefix):]) is not None
                           for f in scene["files"] if f["path"].startswith(stash_prefix))
        if not scenes or len(scenes) < per_page or int(page["count"]) <= len(scenes):
            break
        after = int(scenes[-1]["id"])
    conn.close()
    return scanned, matched


def run_floor(conn: Any, p: dict[str, Any]) -> None:
    """The child's body: one floor pass over `plan(...)`; sends {"wall", "cpu", "rss_mib",
    "scanned", "matched"} down `conn`."""
    from benchmarks.common import peak_rss_mib

    wall, cpu = time.perf_counter(), time.process_time()
    listing = _plex_listing(p["plex_url"], p["token"], p["section"], p["plex_page"],
                            p["movie_type"])
    scanned, matched = _stash_pages(p, listing)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    conn.send({"wall": wall, "cpu": cpu, "scanned": scanned, "matched": matched,
               "rss_mib": peak_rss_mib()})

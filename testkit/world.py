"""A generated Stash + Plex world for tests, benchmarks and the demo.

`generate(n)` makes `n` scenes with studios, performers, tags, groups, dates, ratings and files
under a Stash root, and the same files as Plex sees them under another root (so `path_map`
matters). It deliberately includes the awkward cases the matcher must handle:

- `absent`: files Plex has not got (some under the Plex section, so PlexNotFound; one outside
  every section, so out of scope);
- `moved`: a file Stash keeps where `path_map` does not reach (`/data/incoming`, outside every
  Plex library once mapped) and Plex has in a folder of its own, with a unique basename and the
  same size (a HIGH match by basename + size: the rescue of an incomplete path_map);
- `ambiguous`: a file in `/data/incoming` whose basename appears twice in Plex in other folders
  with sizes that do not decide it (a LOW match);
- `shared basename`: different scenes in different folders whose files share a name (exact paths
  still match HIGH);
- `multi-file`: scenes with two files (primary first).

`populate(world, stash, plex)` loads it into the fakes. Plex items start as a Plex agent would
leave them: the file stem as title and no metadata, which is the "before" of the demo.
Deterministic for a given seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from testkit.fake_plex import FakePlex
    from testkit.fake_stash import FakeStash

STUDIOS = ("Northlight", "Harbor Films", "Studio Ümlaut", "Quiet Hours", "Vermilion", "Atlas")
PERFORMERS = ("Ada Lovelace", "Grace Hopper", "Zoë Saldaña", "Alan Turing", "Hedy Lamarr",
              "Katherine Johnson", "Chloé Zhao", "Nikola Tesla", "Émilie du Châtelet", "Yoko Ono")
TAGS = ("Drama", "Comedy", "Outdoor", "Behind the Scenes", "4K", "Interview", "Night",
        "Travel", "Music", "Documentary", "Classic", "Short")
GROUPS = ("Series One", "Summer Collection", "Director's Cut")
WORDS = ("amber", "harbor", "silent", "river", "north", "velvet", "morning", "echo", "lantern",
         "meadow", "glass", "copper", "tide", "ember", "quartz")


@dataclass(frozen=True)
class WorldFile:
    stash_path: str
    plex_path: str | None          # where Plex has it; None when Plex has not got it
    size: int
    duration_s: float


@dataclass(frozen=True)
class WorldScene:
    key: int                       # 1-based position, also the expected Stash id in a fresh fake
    title: str
    details: str
    date: str | None
    rating100: int | None
    studio: str | None
    performers: tuple[str, ...]
    tags: tuple[str, ...]
    groups: tuple[str, ...]
    director: str
    files: tuple[WorldFile, ...]
    kind: str = "plain"            # plain, absent, outside, moved, ambiguous, shared, multi


@dataclass
class World:
    scenes: list[WorldScene]
    stash_root: str
    plex_root: str
    decoys: list[WorldFile] = field(default_factory=list)   # Plex-only files (ambiguity)
    section_title: str = "Movies"

    @property
    def path_map(self) -> str:
        return f"{self.stash_root}={self.plex_root}"

    def of_kind(self, kind: str) -> list[WorldScene]:
        return [s for s in self.scenes if s.kind == kind]


def generate(n: int, *, seed: int = 7, stash_root: str = "/data/videos",
             plex_root: str = "/media/videos") -> World:
    """Make `n` scenes; the special cases appear once `n` reaches about 20."""
    rng = random.Random(seed)
    scenes: list[WorldScene] = []
    decoys: list[WorldFile] = []
    specials = ["absent", "outside", "moved", "ambiguous", "shared", "shared", "multi"]
    kinds = {i: k for i, k in zip(range(3, 3 + 3 * len(specials), 3), specials, strict=True)}

    for key in range(1, n + 1):
        kind = kinds.get(key, "plain") if n >= 20 else "plain"
        studio = rng.choice(STUDIOS) if rng.random() < 0.9 else None
        folder = (studio or "unsorted").lower().replace(" ", "-")
        stem = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{key:05d}"
        if kind == "shared":
            stem = "scene"
            folder = f"{folder}/shared-{key}"
        size = rng.randrange(50_000_000, 4_000_000_000)
        duration = round(rng.uniform(60.0, 3600.0), 3)
        rel = f"{folder}/{stem}.mp4"
        plex_path: str | None = f"{plex_root}/{rel}"
        stash_path = f"{stash_root}/{rel}"
        if kind == "absent":
            plex_path = None
        elif kind == "outside":
            stash_path, plex_path = f"/data/elsewhere/{stem}.mp4", None
        elif kind == "moved":
            stash_path, plex_path = f"/data/incoming/{stem}.mp4", f"{plex_root}/sorted/{stem}.mp4"
        elif kind == "ambiguous":
            stash_path, plex_path = f"/data/incoming/{stem}.mp4", None
            for i, other in enumerate(("copy-a", "copy-b")):
                decoys.append(WorldFile(f"/unused/{i}", f"{plex_root}/{other}/{stem}.mp4",
                                        size + 1000 * (i + 1), duration))
        files = [WorldFile(stash_path, plex_path, size, duration)]
        if kind == "multi":
            files.append(WorldFile(f"{stash_root}/{folder}/{stem}-part2.mp4",
                                   f"{plex_root}/{folder}/{stem}-part2.mp4",
                                   size // 2, duration / 2))
        scenes.append(WorldScene(
            key=key,
            title=f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} #{key}",
            details=f"A scene about the {rng.choice(WORDS)} and the {rng.choice(WORDS)}.\n"
                    f"Second line — with “typography”.",
            date=f"20{rng.randrange(10, 26):02d}-{rng.randrange(1, 13):02d}-"
                 f"{rng.randrange(1, 29):02d}" if rng.random() < 0.9 else None,
            rating100=rng.choice((None, 20, 40, 60, 80, 100, 73)),
            studio=studio,
            performers=tuple(rng.sample(PERFORMERS, rng.randrange(0, 4))),
            tags=tuple(rng.sample(TAGS, rng.randrange(1, 6))),
            groups=tuple(rng.sample(GROUPS, 1)) if rng.random() < 0.3 else (),
            director=rng.choice(("", "", "Agnès Varda", "Wim Wenders")),
            files=tuple(files),
            kind=kind,
        ))
    return World(scenes=scenes, stash_root=stash_root, plex_root=plex_root, decoys=decoys)


def populate(world: World, stash: FakeStash, plex: FakePlex, *, section_id: int = 1,
             stage_absent: bool = True) -> dict[int, int]:
    """Load `world` into both fakes; returns scene key → Stash scene id.

    Plex gets one movie section whose Location is the Plex root. Files Plex lacks under that
    root are staged (they appear when PlexSync asks Plex to scan their folder) when
    `stage_absent` is true, as on a real disk where Plex has simply not scanned yet.
    """
    plex.add_section(section_id, world.section_title, [world.plex_root])
    studio_ids = {name: stash.add_studio(name) for name in STUDIOS}
    performer_ids = {name: stash.add_performer(name) for name in PERFORMERS}
    tag_ids = {name: stash.add_tag(name) for name in TAGS}
    group_ids = {name: stash.add_group(name) for name in GROUPS}
    ids: dict[int, int] = {}
    for scene in world.scenes:
        ids[scene.key] = stash.add_scene(
            title=scene.title,
            details=scene.details,
            date=scene.date,
            rating100=scene.rating100,
            studio_id=studio_ids[scene.studio] if scene.studio else None,
            performer_ids=[performer_ids[p] for p in scene.performers],
            tag_ids=[tag_ids[t] for t in scene.tags],
            group_ids=[group_ids[g] for g in scene.groups],
            director=scene.director,
            files=[{"path": f.stash_path, "size": f.size, "duration": f.duration_s}
                   for f in scene.files],
        )
        for f in scene.files:
            if f.plex_path:
                plex.add_item(section_id, f.plex_path, size=f.size,
                              duration_ms=int(f.duration_s * 1000))
            elif scene.kind == "absent" and stage_absent:
                plex.stage_item(section_id, world.plex_root + f.stash_path[len(world.stash_root):],
                                size=f.size, duration_ms=int(f.duration_s * 1000))
    for decoy in world.decoys:
        assert decoy.plex_path is not None
        plex.add_item(section_id, decoy.plex_path, size=decoy.size,
                      duration_ms=int(decoy.duration_s * 1000))
    return ids


# --------------------------------------------------------------------------- ownership worlds
@dataclass(frozen=True)
class FileSpec:
    """One scene of an ownership world: its file `<folder>/<name>`, its size, and whether Plex
    has it."""

    folder: str
    name: str
    size: int
    in_plex: bool = True


def ownership_world(specs: list[FileSpec], *, seed: int = 8, stash_root: str = "/data/videos",
                    plex_root: str = "/media/videos") -> World:
    """A world of one-file scenes laid out exactly as `specs` say (repeated names, equal sizes,
    files Plex lacks), for the one-item-one-scene tests. Titles are unique per scene."""
    rng = random.Random(seed)
    scenes: list[WorldScene] = []
    for key, spec in enumerate(specs, start=1):
        rel = f"{spec.folder}/{spec.name}"
        studio = rng.choice(STUDIOS)
        scenes.append(WorldScene(
            key=key, title=f"{rng.choice(WORDS).title()} scene #{key}",
            details=f"Scene {key}, the {rng.choice(WORDS)}.", date=f"2021-03-{key % 28 + 1:02d}",
            rating100=rng.choice((None, 40, 80)), studio=studio,
            performers=tuple(rng.sample(PERFORMERS, rng.randrange(1, 3))),
            tags=tuple(rng.sample(TAGS, rng.randrange(1, 4))), groups=(), director="",
            files=(WorldFile(f"{stash_root}/{rel}",
                             f"{plex_root}/{rel}" if spec.in_plex else None,
                             spec.size, 60.0 + key),),
            kind="plain" if spec.in_plex else "absent",
        ))
    return World(scenes=scenes, stash_root=stash_root, plex_root=plex_root)


def issue_world(n: int = 40) -> World:
    """The world of the one-item-one-scene defect: `n` scenes in studio folders; three file names
    repeat across studios with the same size (re-releases), and 4 files are not in Plex, three
    of them the second copy of a repeated name."""
    rng = random.Random(40)
    specs: list[FileSpec] = []
    studios = ("Studio A", "Studio B", "Studio C", "Studio D")
    for key in range(1, n + 1):
        specs.append(FileSpec(studios[key % 4], f"{rng.choice(WORDS).title()}.{key:03d}.mp4",
                              rng.randrange(50_000_000, 900_000_000)))
    # (in Plex, its namesake in another studio's folder, same size): the first three namesakes
    # are missing from Plex, the last pair is in Plex twice; scene 36 is missing too.
    for original, copy in ((2, 9), (5, 14), (11, 22), (17, 30)):
        first = specs[original - 1]
        specs[copy - 1] = FileSpec(studios[(studios.index(first.folder) + 1) % 4], first.name,
                                   first.size, in_plex=copy not in ISSUE_MISSING)
    for key in ISSUE_MISSING:
        s = specs[key - 1]
        specs[key - 1] = FileSpec(s.folder, s.name, s.size, in_plex=False)
    return ownership_world(specs)


ISSUE_MISSING = (9, 14, 22, 36)


def scene_of_item(world: World, plex: FakePlex, rating_key: int) -> WorldScene | None:
    """The world scene whose own file the Plex item holds (None: a file of no scene)."""
    files = {f[0] for f in plex.item(rating_key).files}
    return next((s for s in world.scenes for f in s.files if f.plex_path in files), None)


def edited_titles(plex: FakePlex) -> dict[int, list[str]]:
    """ratingKey → every title PlexSync's edit PUTs sent to it, oldest first."""
    out: dict[int, list[str]] = {}
    for r in plex.requests:
        if r.method == "PUT" and r.path.endswith("/all") and "title.value" in r.query:
            out.setdefault(int(r.query["id"]), []).append(r.query["title.value"])
    return out


def ownership_violations(world: World, plex: FakePlex) -> list[str]:
    """Edits that broke "one item belongs to one scene": an item edited with two scenes'
    titles, or with a title of a scene other than the one whose file it holds."""
    by_title = {s.title: s for s in world.scenes}
    problems: list[str] = []
    for rk, titles in edited_titles(plex).items():
        writers = {by_title[t].key for t in titles if t in by_title}
        if len(writers) > 1:
            problems.append(f"item {rk} received the edits of scenes {sorted(writers)}")
        owner = scene_of_item(world, plex, rk)
        if owner is not None and writers - {owner.key}:
            problems.append(f"item {rk} holds scene {owner.key}'s file but received the edits "
                            f"of scene(s) {sorted(writers - {owner.key})}")
    return problems

"""Edits of performers, tags, studios, groups and scene deletion in the fake Stash, and the
plugin hooks they fire (see ``testkit.fake_stash``).

Faithful to Stash (about v0.30.1, ``internal/api/resolver_mutation_*.go``,
``pkg/plugin/common/msg.go``):
- ``performerUpdate``/``tagUpdate``/``studioUpdate``/``groupUpdate`` fire
  ``<Kind>.Update.Post`` with ``id``, ``input`` and ``inputFields`` (the keys the request's
  input object named, ``id`` included); ``*Destroy`` fire ``<Kind>.Destroy.Post`` with the
  input and no ``inputFields``; ``tagsMerge`` fires ``Tag.Merge.Post`` with the destination's id
  and the ``TagsMergeInput``, and nothing for the merged (deleted) tags; ``sceneDestroy``
  fires ``Scene.Destroy.Post`` with Stash's ``plugin.SceneDestroyInput`` (the input plus
  ``checksum``, ``oshash``, ``path``). ``groupUpdate``/``groupDestroy`` also fire the
  deprecated ``Movie.*`` twins, as Stash does.
- ``input`` is the JSON of Stash's Go input struct: inputs Stash declares in ``pkg/models``
  (PerformerUpdateInput, StudioUpdateInput, SceneDestroyInput) carry every field, null when
  not sent; gqlgen-generated ones (Tag*, Group*, *DestroyInput, TagsMergeInput) omit the null
  ones (``omitempty``). ``id`` is left out of the context when it is 0.
- Hooks run synchronously after the edit is committed and before the mutation answers
  (``on_hook``, outside the store's lock: a hook may call back, e.g. ``runPluginTask``).
  ``sceneUpdate`` (stash_graphql.py) fires ``Scene.Update.Post`` through the same ``fire``.
- Renames, merges and deletions leave the scenes' ``updated_at`` alone (Stash edits only the
  join tables), which is why no scene hook fires for them. A deleted studio leaves its scenes
  with no studio; a merge moves the source tags' scenes to the destination.
- Names of tags, studios and performers (with disambiguation) must stay unique, as Stash
  validates; groups may share names.
Simplified: only the inputs' fields listed in stash_subset.graphql; no images, no hierarchy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from graphql import GraphQLResolveInfo

from testkit import stash_data as sd

# pkg/models input structs (json tags without omitempty): every field is in the hook's input.
PERFORMER_UPDATE_FIELDS = (
    "id", "name", "disambiguation", "url", "urls", "gender", "birthdate", "ethnicity", "country",
    "eye_color", "height_cm", "measurements", "fake_tits", "penis_length", "circumcised",
    "career_length", "tattoos", "piercings", "alias_list", "twitter", "instagram", "favorite",
    "tag_ids", "image", "stash_ids", "rating100", "details", "death_date", "hair_color",
    "weight", "ignore_auto_tag", "custom_fields",
)
STUDIO_UPDATE_FIELDS = (
    "id", "name", "url", "urls", "parent_id", "image", "stash_ids", "rating100", "favorite",
    "details", "aliases", "tag_ids", "ignore_auto_tag",
)
HookContext = dict[str, Any]
Info = GraphQLResolveInfo[Any]   # context: stash_graphql.RequestContext


class StashEdits(sd.StashStore):
    """The mutation resolvers of this module; ``on_hook`` receives the stdin ``args`` of every
    hook fired (``{"hookContext": ...}``), ``fired_hooks`` keeps each context."""

    on_hook: Callable[[dict[str, Any]], None] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fired_hooks: list[HookContext] = []

    def edit_resolvers(self) -> dict[str, Any]:
        return {
            "performerUpdate": self._performer_update, "performerDestroy": self._destroyer(
                "Performer", self._performers),
            "tagUpdate": self._tag_update, "tagDestroy": self._destroyer("Tag", self._tags),
            "tagsMerge": self._tags_merge,
            "studioUpdate": self._studio_update, "studioDestroy": self._destroyer(
                "Studio", self._studios),
            "groupUpdate": self._group_update, "groupDestroy": self._destroyer(
                "Group", self._groups),
            "sceneDestroy": self._scene_destroy,
        }

    # ------------------------------------------------------------------ hooks
    def fire(self, info: Info, hook_type: str, object_id: int, payload: Any,
             input_fields: list[str] | None = None) -> None:
        """Queue the hook to run once the lock is released, before the answer goes out."""
        context: HookContext = {"id": object_id} if object_id else {}
        context.update(type=hook_type, input=payload)
        if input_fields:
            context["inputFields"] = list(input_fields)
        self.fired_hooks.append(context)
        callback = self.on_hook
        if callback is not None:
            info.context.after.append(lambda: callback({"hookContext": dict(context)}))

    # ------------------------------------------------------------------ updates
    def _performer_update(self, info: Info, input: dict[str, Any]) -> Any:
        row = self._row(self._performers, input["id"], "performer")
        name = input.get("name", row.name)
        disambiguation = input.get("disambiguation", row.disambiguation) or ""
        if any(p.name == name and p.disambiguation == disambiguation and p.id != row.id
               for p in self._performers.values()):
            raise ValueError(f"performer with name '{name}' already exists")
        if input.get("name") is not None:
            row.name = str(input["name"]).strip()
        if "disambiguation" in input:
            row.disambiguation = disambiguation
        if input.get("alias_list") is not None:
            row.alias_list = list(input["alias_list"])
        if input.get("favorite") is not None:
            row.favorite = bool(input["favorite"])
        row.updated_at = self.now_text()
        self.fire(info, "Performer.Update.Post", row.id,
                  {k: input.get(k) for k in PERFORMER_UPDATE_FIELDS}, list(input))
        return {**vars(row), "image_path": f"{info.context.base_url}/performer/{row.id}/image"}

    def _tag_update(self, info: Info, input: dict[str, Any]) -> Any:
        row = self._row(self._tags, input["id"], "tag")
        if input.get("name") is not None:
            self._unique_name(self._tags, row.id, str(input["name"]), "tag")
            row.name = str(input["name"]).strip()
        for key in ("sort_name", "description"):
            if key in input:
                setattr(row, key, input[key] or "")
        if input.get("aliases") is not None:
            row.aliases = list(input["aliases"])
        row.updated_at = self.now_text()
        self.fire(info, "Tag.Update.Post", row.id, _omitempty(input), list(input))
        return {**vars(row), "image_path": f"{info.context.base_url}/tag/{row.id}/image"}

    def _studio_update(self, info: Info, input: dict[str, Any]) -> Any:
        row = self._row(self._studios, input["id"], "studio")
        if input.get("name") is not None:
            self._unique_name(self._studios, row.id, str(input["name"]), "studio")
            row.name = str(input["name"]).strip()
        if "parent_id" in input:
            row.parent_id = self._row(self._studios, input["parent_id"], "studio").id \
                if input["parent_id"] else None
        for key in ("urls", "aliases"):
            if input.get(key) is not None:
                setattr(row, key, list(input[key]))
        if "details" in input:
            row.details = input["details"] or ""
        row.updated_at = self.now_text()
        self.fire(info, "Studio.Update.Post", row.id,
                  {k: input.get(k) for k in STUDIO_UPDATE_FIELDS}, list(input))
        return self._studio_obj(row, info.context.base_url)

    def _group_update(self, info: Info, input: dict[str, Any]) -> Any:
        row = self._row(self._groups, input["id"], "group")
        if input.get("name") is not None:
            row.name = str(input["name"]).strip()
        for key in ("aliases", "director", "synopsis"):
            if key in input:
                setattr(row, key, input[key] or "")
        if "date" in input:
            row.date = input["date"] or None
        if input.get("urls") is not None:
            row.urls = list(input["urls"])
        row.updated_at = self.now_text()
        for hook_type in ("Group.Update.Post", "Movie.Update.Post"):
            self.fire(info, hook_type, row.id, _omitempty(input), list(input))
        return self._group_obj(row, info.context.base_url)

    # ------------------------------------------------------------------ deletions, merge
    def _destroyer(self, kind: str, table: dict[int, Any]) -> Callable[..., bool]:
        def destroy(info: Info, input: dict[str, Any]) -> bool:
            row_id = self._row(table, input["id"], kind.lower()).id
            del table[row_id]
            for scene in self._scenes.values():
                scene.performer_ids = [p for p in scene.performer_ids
                                       if kind != "Performer" or p != row_id]
                scene.tag_ids = [t for t in scene.tag_ids if kind != "Tag" or t != row_id]
                scene.groups = [g for g in scene.groups if kind != "Group" or g[0] != row_id]
                if kind == "Studio" and scene.studio_id == row_id:
                    scene.studio_id = None
            twins = ("Group", "Movie") if kind == "Group" else (kind,)
            for name in twins:
                self.fire(info, f"{name}.Destroy.Post", row_id, _omitempty(input))
            return True

        return destroy

    def _tags_merge(self, info: Info, input: dict[str, Any]) -> Any:
        sources = [sd.to_int(s) for s in input["source"]]
        if not sources:
            return None
        destination = self._row(self._tags, input["destination"], "tag")
        for source in sources:
            if source != destination.id:
                self._row(self._tags, source, "tag")
        for scene in self._scenes.values():
            if set(scene.tag_ids) & set(sources):
                kept = [t for t in scene.tag_ids if t not in sources or t == destination.id]
                scene.tag_ids = kept if destination.id in kept else [*kept, destination.id]
        for source in sources:
            if source != destination.id:
                del self._tags[source]
        self.fire(info, "Tag.Merge.Post", destination.id, _omitempty(input))
        base = info.context.base_url
        return {**vars(destination), "image_path": f"{base}/tag/{destination.id}/image"}

    def _scene_destroy(self, info: Info, input: dict[str, Any]) -> bool:
        scene = self._scenes.get(sd.to_int(input["id"]))
        if scene is None:
            raise ValueError(f"scene with id {input['id']} not found")
        del self._scenes[scene.id]
        primary = scene.primary_file
        payload = {"id": input["id"], "delete_file": input.get("delete_file"),
                   "delete_generated": input.get("delete_generated"), "checksum": "",
                   "oshash": primary.oshash if primary else "",
                   "path": primary.path if primary else ""}
        self.fire(info, "Scene.Destroy.Post", scene.id, payload)
        return True

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _row(table: Mapping[int, Any], value: Any, kind: str) -> Any:
        row = table.get(sd.to_int(value))
        if row is None:
            raise ValueError(f"{kind} with id {value} not found")
        return row

    @staticmethod
    def _unique_name(table: Mapping[int, Any], row_id: int, name: str, kind: str) -> None:
        wanted = name.strip().casefold()
        if any(r.name.casefold() == wanted and r.id != row_id for r in table.values()):
            raise ValueError(f"{kind} with name '{name.strip()}' already exists")


def _omitempty(value: Mapping[str, Any]) -> dict[str, Any]:
    """A gqlgen-generated input struct as JSON: nullable fields left out when null or empty."""
    return {k: v for k, v in value.items() if v is not None and v != []}

"""The GraphQL side of the fake Stash (see ``testkit.fake_stash``): schema, executor, resolvers.

graphql-core executes documents over ``testkit/stash_subset.graphql``, a hand-written subset of
Stash's schema with the same names (tests/contract checks it against the real schema).
``StashGraphQL`` adds to ``StashStore`` what the resolvers read and write: configuration,
plugin settings and task runs. It parses, validates and coerces variables like gqlgen (422
with ``data: null`` on failure); resolver errors come back as 200 with ``errors`` beside
``data``. Resolvers run under the store's lock, one request at a time. Nothing here does HTTP.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLFieldResolver,
    GraphQLResolveInfo,
    GraphQLSchema,
    build_schema,
    execute_sync,
    get_operation_ast,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values

from testkit import stash_data as sd
from testkit.stash_objects import StashEdits

SCHEMA_PATH = Path(__file__).with_name("stash_subset.graphql")
STASH_VERSION = {"version": "v0.30.1", "hash": "cf3489efd", "build_time": "2026-01-11 10:00:00"}

_schema: GraphQLSchema | None = None


def load_schema() -> GraphQLSchema:
    """The subset schema, built once per process."""
    global _schema
    if _schema is None:
        _schema = build_schema(SCHEMA_PATH.read_text(encoding="utf-8"))
    return _schema


@dataclass
class RequestContext:
    """graphql-core context_value: the URL base for paths, and work to run after the lock."""

    base_url: str
    after: list[Callable[[], None]] = field(default_factory=list)


Info = GraphQLResolveInfo[RequestContext]


class StashGraphQL(StashEdits):
    """The store plus the state GraphQL exposes; ``_graphql`` runs one request's payload.
    Public attributes may be changed by tests."""

    def __init__(
        self,
        utc_offset: timedelta,
        clock: Callable[[], datetime] | None,
        *,
        api_key: str,
        session_cookie: str,
        plugin_dir: str,
    ) -> None:
        super().__init__(utc_offset, clock)
        self.api_key = api_key
        self.session_cookie = session_cookie
        self.plugin_dir = plugin_dir
        self.config_dir = "/root/.stash"
        self.library_paths: list[str] = ["/data"]
        self.plugin_config: dict[str, dict[str, Any]] = {}
        self.task_runs: list[dict[str, Any]] = []
        self.on_task_run: Callable[[dict[str, Any]], None] | None = None
        # Set: configurePlugin fails with this message, as Stash's does when it cannot write
        # its config.yml ("open …/config.yml: permission denied"); nothing is saved.
        self.configure_plugin_error: str | None = None
        # Called with a hook's stdin ``args`` ({"hookContext": ...}) for every hook Stash fires
        # (``StashEdits.fire``): Scene.Update.Post after sceneUpdate, and those of
        # testkit/stash_objects.py, before the mutation answers (Stash runs post hooks
        # synchronously). sceneAddPlay and sceneSaveActivity fire none, as in Stash's
        # resolvers (they call no hook executor).
        self.on_hook: Callable[[dict[str, Any]], None] | None = None
        self.schema = load_schema()
        self.version = dict(STASH_VERSION)   # what `version` answers
        # graphql-core's default when None; the UI server answers unset fields with zero values
        self.field_resolver: GraphQLFieldResolver | None = None

    def _graphql(self, payload: Mapping[str, Any], base_url: str) -> tuple[int, dict[str, Any]]:
        """Parse, validate, coerce variables (422 on failure, as gqlgen), then execute."""
        query, variables = payload.get("query"), payload.get("variables") or {}
        op_name = payload.get("operationName") or None
        if not isinstance(query, str) or not query or not isinstance(variables, dict):
            return 422, error_body("no operation provided", "GRAPHQL_VALIDATION_FAILED")
        try:
            document, errors = _checked_document(self.schema, query)
        except GraphQLError as err:
            return 422, error_body(err.message, "GRAPHQL_PARSE_FAILED")
        operation = get_operation_ast(document, op_name)
        if not errors and operation is None:
            errors = [GraphQLError(f"operation {op_name or '(unnamed)'} not found")]
        if not errors and operation is not None:
            coerced = get_variable_values(
                self.schema, operation.variable_definitions or (), variables
            )
            errors = coerced if isinstance(coerced, list) else []
        if errors:
            found = [_formatted(e, "GRAPHQL_VALIDATION_FAILED") for e in errors]
            return 422, {"errors": found, "data": None}
        context = RequestContext(base_url)
        with self._lock:
            result = execute_sync(
                self.schema,
                document,
                root_value=self._root(),
                context_value=context,
                variable_values=variables,
                operation_name=op_name,
                field_resolver=self.field_resolver,
            )
        for action in context.after:
            action()
        if result.errors:
            return 200, {"errors": [_formatted(e) for e in result.errors], "data": result.data}
        return 200, {"data": result.data}

    def _root(self) -> dict[str, Any]:
        return {
            "findScene": self._find_scene,
            "findScenes": self._find_scenes,
            "configuration": self._configuration,
            "systemStatus": self._system_status,
            "version": lambda _info: dict(self.version),
            "sceneUpdate": self._scene_update,
            "sceneAddPlay": self._scene_add_play,
            "sceneSaveActivity": self._scene_save_activity,
            "configurePlugin": self._configure_plugin,
            "runPluginTask": self._run_plugin_task,
            **self.edit_resolvers(),
        }

    def _find_scene(
        self, info: Info, id: str | None = None, checksum: str | None = None
    ) -> dict[str, Any] | None:
        if id is not None:
            scene = self._scenes.get(sd.to_int(id))
        elif checksum is not None:
            hits = (s for s in self._scenes.values() if checksum in (f.oshash for f in s.files))
            scene = next(hits, None)
        else:
            return None
        return self.scene_obj(scene, info.context.base_url) if scene else None

    def _find_scenes(
        self,
        info: Info,
        scene_filter: dict[str, Any] | None = None,
        scene_ids: list[int] | None = None,
        ids: list[str] | None = None,
        filter: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        id_list = [sd.to_int(i) for i in ids] if ids else scene_ids
        upper = sd.go_rfc3339(self.clock() + timedelta(days=1), self.utc_offset)
        try:
            found = sd.query_scenes(self._scenes, scene_filter, filter, id_list, upper)
        except re.error as err:
            raise sd.FilterError(f"invalid regex: {err}") from err
        base = info.context.base_url
        return {
            "count": found.count,
            "duration": found.duration,
            "filesize": found.filesize,
            "scenes": [self.scene_obj(s, base) for s in found.scenes],
        }

    def _configuration(self, _info: Info) -> dict[str, Any]:
        general = {
            "stashes": [
                {"path": p, "excludeVideo": False, "excludeImage": False}
                for p in self.library_paths
            ],
            "databasePath": f"{self.config_dir}/stash-go.sqlite",
            "generatedPath": f"{self.config_dir}/generated",
            "configFilePath": f"{self.config_dir}/config.yml",
            "pluginsPath": str(Path(self.plugin_dir).parent),
            "apiKey": self.api_key,
            "username": "stash" if self.session_cookie or self.api_key else "",
            "logLevel": "Info",
            "pythonPath": "",
        }
        return {"general": general, "ui": {}, "plugins": self._plugins}

    def _plugins(self, _info: Info, include: list[str] | None = None) -> Any:
        if not include:
            return copy.deepcopy(self.plugin_config)
        return {
            pid: copy.deepcopy(self.plugin_config[pid])
            for pid in include
            if self.plugin_config.get(pid)
        }

    def _system_status(self, _info: Info) -> dict[str, Any]:
        return {
            "databaseSchema": 75, "databasePath": f"{self.config_dir}/stash-go.sqlite",
            "configPath": f"{self.config_dir}/config.yml", "appSchema": 75, "status": "OK",
            "os": "linux", "workingDir": "/", "homeDir": "/root",
        }  # fmt: skip

    def _configure_plugin(self, _info: Info, plugin_id: str, input: dict[str, Any]) -> Any:
        if self.configure_plugin_error:
            raise ValueError(self.configure_plugin_error)
        self.plugin_config[plugin_id] = copy.deepcopy(input)
        return copy.deepcopy(input)

    def _run_plugin_task(
        self,
        info: Info,
        plugin_id: str,
        task_name: str | None = None,
        description: str | None = None,
        args: list[dict[str, Any]] | None = None,
        args_map: dict[str, Any] | None = None,
    ) -> str:
        job_id = str(self._new_id("job"))
        run = {
            "plugin_id": plugin_id, "task_name": task_name, "description": description,
            "args_map": args_map if args_map is not None else sd.plugin_args_to_map(args or []),
            "args": args, "job_id": job_id,
        }  # fmt: skip
        self.task_runs.append(run)
        callback = self.on_task_run
        if callback is not None:
            info.context.after.append(lambda: callback(copy.deepcopy(run)))
        return job_id

    def _scene_update(self, info: Info, input: dict[str, Any]) -> dict[str, Any]:
        scene = self._scenes.get(sd.to_int(input["id"]))
        if scene is None:
            raise ValueError(f"scene with id {input['id']} not found")
        changes = {k: v for k, v in input.items() if k not in ("id", "clientMutationId")}
        cover = changes.pop("cover_image", None)
        for key in ("performer_ids", "tag_ids", "groups", "urls"):
            if key in changes and changes[key] is None:
                changes[key] = []
        self._apply(scene, changes)
        if cover:
            scene.cover, scene.cover_version = sd.decode_data_url(cover), scene.cover_version + 1
        self._touch(scene)
        self.fire(info, "Scene.Update.Post", scene.id, copy.deepcopy(input), list(input))
        return self.scene_obj(scene, info.context.base_url)

    def _scene_add_play(self, info: Info, id: str, times: list[str] | None = None
                        ) -> dict[str, Any]:
        """Stash's AddViews: one row per time (now when none), no de-duplication."""
        scene = self._scenes.get(sd.to_int(id))
        if scene is None:
            raise ValueError(f"scene with id {id} not found")
        moments = [_timestamp(t, self.clock()) for t in times] if times else [self.clock()]
        scene.play_history.extend(sd.go_rfc3339(m, self.utc_offset) for m in moments)
        history = sorted(scene.play_history, key=sd.unix_seconds, reverse=True)
        return {"count": len(history), "history": history}

    def _scene_save_activity(self, info: Info, id: str, resume_time: float | None = None,
                             playDuration: float | None = None) -> bool:  # noqa: N803
        """Stash's SaveActivity: sets resume_time when given, adds a positive duration."""
        scene = self._scenes.get(sd.to_int(id))
        if scene is None:
            raise ValueError(f"scene with id {id} not found")
        if resume_time is not None:
            scene.resume_time = float(resume_time)
        if playDuration is not None and playDuration > 0:
            scene.play_duration += float(playDuration)
        return True


def _timestamp(text: str, now: datetime) -> datetime:
    """Stash's Timestamp input: RFC3339, or "<4h" (4 hours ago) / ">5m" (5 minutes ahead)."""
    relative = re.fullmatch(r"([<>])(\d+)([smhd])", text.strip())
    if relative:
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[relative[3]]
        delta = timedelta(seconds=int(relative[2]) * unit)
        return now - delta if relative[1] == "<" else now + delta
    parsed = sd.parse_time(text)
    if parsed is None:
        raise ValueError(f"invalid timestamp {text!r}")
    return parsed


_documents: dict[str, tuple[DocumentNode, list[GraphQLError]]] = {}


def _checked_document(schema: GraphQLSchema, query: str) -> tuple[DocumentNode, list[GraphQLError]]:
    """Parse and validate, memoised: validation costs ~2.5 ms and clients repeat documents."""
    if schema is not load_schema():
        return (document := parse(query)), list(validate(schema, document))
    if query not in _documents:
        if len(_documents) > 1000:
            _documents.clear()
        document = parse(query)
        _documents[query] = document, list(validate(schema, document))
    return _documents[query]


def _formatted(error: GraphQLError, code: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = dict(error.formatted)
    if code:
        out["extensions"] = {**(out.get("extensions") or {}), "code": code}
    return out


def error_body(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}], "data": None}

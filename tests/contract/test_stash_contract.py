"""Contract with Stash's real GraphQL schema (docs/design.md#test-doubles).

Checks three things against the schema in ``../shared/stash-schema/`` (schema.graphql +
types/*.graphql). CI provides that folder; it is never copied into this repository.

(a) ``testkit/stash_subset.graphql``, the schema the fake Stash serves, is a true subset
    of the real schema: the same types, fields, arguments, input fields and enum values,
    with the same type signatures and deprecations. The fake cannot drift from Stash.
(b) Every document stashapp-tools sends in a representative session against the fake
    validates against the real schema, with its variables.
(c) Every document the plugin sends (``plexsync.stash.documents.DOCUMENTS``) validates against the
    real schema and uses nothing deprecated. That includes the document the hook posts as
    raw HTTP.

Tests that need the real schema skip when the folder is absent.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    OperationDefinitionNode,
    build_schema,
    get_operation_ast,
    parse,
    print_ast,
    specified_rules,
    specified_scalar_types,
    validate,
)
from graphql.execution.values import get_variable_values
from graphql.validation import NoDeprecatedCustomRule
from stashapi.stashapp import StashInterface

from testkit.fake_stash import FakeStash, GqlRecord, load_schema

REPO = Path(__file__).resolve().parents[2]
STASH_SCHEMA_DIR = REPO / ".." / "shared" / "stash-schema"
SUBSET = load_schema()
SUBSET_TYPES = sorted(
    name
    for name in SUBSET.type_map
    if not name.startswith("__") and name not in specified_scalar_types
)


@pytest.fixture(scope="module")
def real_schema() -> GraphQLSchema:
    root = STASH_SCHEMA_DIR.resolve()
    if not (root / "schema.graphql").is_file():
        pytest.skip(
            f"Stash's real GraphQL schema is not at {root} (looked for ../shared/stash-schema/"
            "schema.graphql relative to the repository root). CI provides that folder and the "
            "project does not copy Stash's schema into its own tree, so the contract can only "
            "be checked where it exists."
        )
    parts = [root / "schema.graphql", *sorted((root / "types").glob("*.graphql"))]
    return build_schema("\n".join(p.read_text(encoding="utf-8") for p in parts))


# ----------------------------------------------------------------------------- (a) subset


_KINDS: tuple[type[GraphQLNamedType], ...] = (
    GraphQLObjectType,
    GraphQLInterfaceType,
    GraphQLInputObjectType,
    GraphQLEnumType,
    GraphQLUnionType,
    GraphQLScalarType,
)


def _kind(named: GraphQLNamedType) -> str:
    return next((k.__name__ for k in _KINDS if isinstance(named, k)), type(named).__name__)


def _required(member: GraphQLArgument | GraphQLInputField) -> bool:
    """Non-null with no default: a document that omits it is invalid."""
    return isinstance(member.type, GraphQLNonNull) and _default(member) is None


_Member = GraphQLField | GraphQLArgument | GraphQLInputField


def _default(member: _Member) -> str | None:
    """An argument's or input field's default as written in the SDL (None: no default).

    Read from the SDL node, not `default_value`: graphql-core 3.3 leaves `default_value`
    Undefined for schemas built from SDL, which would make every default compare equal.
    """
    node = None if isinstance(member, GraphQLField) else member.ast_node
    default = getattr(node, "default_value", None)
    return print_ast(default) if default is not None else None


def _diff_members(
    owner: str, kind: str, mine: Mapping[str, _Member], real: Mapping[str, _Member]
) -> Iterator[str]:
    """The fields, arguments or input fields (``kind``) of ``owner``, matched by name. Each of
    ours is in Stash with the same type, default value and deprecation, and each one Stash
    requires (a non-null argument or input field without a default) is ours too."""
    for member_name, m in mine.items():
        where = f"{owner}({member_name})" if kind == "argument" else f"{owner}.{member_name}"
        r = real.get(member_name)
        if r is None:
            yield f"{where}: no such {kind} in Stash"
            continue
        if str(m.type) != str(r.type):
            yield f"{where}: type {m.type} here, {r.type} in Stash"
        if _default(m) != _default(r):
            yield f"{where}: default value differs from Stash"
        if m.deprecation_reason != r.deprecation_reason:
            yield f"{where}: deprecation differs from Stash"
    for member_name, r in real.items():
        if not isinstance(r, GraphQLField) and _required(r) and member_name not in mine:
            yield f"{owner}: Stash requires {kind} {member_name}: {r.type}"


def _diff_type(name: str, mine: GraphQLNamedType, real: GraphQLNamedType) -> Iterator[str]:
    if _kind(mine) != _kind(real):
        yield f"{name}: is a {_kind(mine)} here but a {_kind(real)} in Stash"
        return
    if isinstance(mine, GraphQLObjectType | GraphQLInterfaceType):
        assert isinstance(real, GraphQLObjectType | GraphQLInterfaceType)
        real_ifaces = {i.name for i in real.interfaces}
        for iface in mine.interfaces:
            if iface.name not in real_ifaces:
                yield f"{name}: implements {iface.name}, which Stash's {name} does not"
        yield from _diff_members(name, "field", mine.fields, real.fields)
        for fname, f in mine.fields.items():
            if (rf := real.fields.get(fname)) is not None:
                yield from _diff_members(f"{name}.{fname}", "argument", f.args, rf.args)
    elif isinstance(mine, GraphQLInputObjectType):
        assert isinstance(real, GraphQLInputObjectType)
        yield from _diff_members(name, "input field", mine.fields, real.fields)
    elif isinstance(mine, GraphQLEnumType):
        assert isinstance(real, GraphQLEnumType)
        for vname, v in mine.values.items():
            rv = real.values.get(vname)
            if rv is None:
                yield f"{name}.{vname}: no such enum value in Stash"
            elif v.deprecation_reason != rv.deprecation_reason:
                yield f"{name}.{vname}: deprecation differs from Stash"
    elif isinstance(mine, GraphQLUnionType):
        assert isinstance(real, GraphQLUnionType)
        real_members = {t.name for t in real.types}
        for member in mine.types:
            if member.name not in real_members:
                yield f"{name}: member {member.name} is not in Stash's union"


@pytest.mark.parametrize("type_name", SUBSET_TYPES)
def test_subset_type_has_the_same_names_and_signatures_as_stash(
    real_schema: GraphQLSchema, type_name: str
) -> None:
    real = real_schema.type_map.get(type_name)
    assert real is not None, f"{type_name} is in stash_subset.graphql but not in Stash's schema"
    problems = list(_diff_type(type_name, SUBSET.type_map[type_name], real))
    assert not problems, "stash_subset.graphql drifted from Stash:\n" + "\n".join(problems)


def test_subset_root_types_are_stashs_root_types(real_schema: GraphQLSchema) -> None:
    assert SUBSET.query_type is not None and real_schema.query_type is not None
    assert SUBSET.mutation_type is not None and real_schema.mutation_type is not None
    assert SUBSET.query_type.name == real_schema.query_type.name
    assert SUBSET.mutation_type.name == real_schema.mutation_type.name


# ----------------------------------------------------------------------------- validation


def _validation_errors(
    schema: GraphQLSchema,
    document: str,
    variables: dict[str, Any] | None = None,
    *,
    no_deprecated: bool = False,
) -> list[str]:
    ast = parse(document)
    rules = [*specified_rules, NoDeprecatedCustomRule] if no_deprecated else None
    errors = [e.message for e in validate(schema, ast, rules)]
    if errors or variables is None:
        return errors
    operation = get_operation_ast(ast)
    assert isinstance(operation, OperationDefinitionNode)
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
    return [e.message for e in coerced] if isinstance(coerced, list) else []


# ----------------------------------------------------------------------------- (b) stashapi


@pytest.fixture(scope="module")
def stashapi_session() -> Iterator[list[GqlRecord]]:
    """A representative stashapp-tools session against the fake; the documents it sent."""
    with FakeStash() as fake:
        studio = fake.add_studio("Northlight")
        performer = fake.add_performer("Ada Lovelace")
        tag = fake.add_tag("Drama")
        group = fake.add_group("Series One")
        scene_id = fake.add_scene(
            title="One",
            studio_id=studio,
            performer_ids=[performer],
            tag_ids=[tag],
            group_ids=[group],
            files=[{"path": "/data/a/one.mp4", "size": 10, "duration": 5.0}],
        )
        fake.add_scene(title="Two", files=[{"path": "/data/b/two.mp4", "size": 20, "duration": 6}])
        stash = StashInterface(fake.server_connection())
        paging = {"page": 1, "per_page": 1, "sort": "id", "direction": "ASC"}
        stash.find_scenes({}, paging, get_count=True)
        stash.find_scenes(
            {"updated_at": {"value": "2000-01-01T00:00:00Z", "modifier": "GREATER_THAN"}},
            {"per_page": 50},
        )
        stash.find_scene(scene_id)
        stash.find_scene(
            scene_id,
            fragment="id title studio{name} performers{name} tags{name} "
            "files{path size duration} paths{screenshot}",
        )
        stash.get_configuration()
        stash.find_plugin_config("PlexSync")
        stash.find_plugin_config("PlexSync", defaults={"enabled": True})
        stash.configure_plugin("PlexSync", {"plex_url": "http://plex:32400"})
        stash.run_plugin_task("PlexSync", "Process Queue", args={"mode": "process_queue"})
        stash.update_scene({"id": scene_id, "title": "One (edited)"})
        yield fake.requests


def test_stashapi_session_reaches_every_operation_it_is_meant_to(
    stashapi_session: list[GqlRecord],
) -> None:
    names = {r.name for r in stashapi_session}
    expected = {
        "StashVersion",
        "getApiKey",
        "FindScenes",
        "FindScene",
        "Configuration",
        "FindPluginConfig",
        "ConfigurePlugin",
        "RunPluginTask",
        "sceneUpdate",
    }
    assert expected <= names
    assert any("__schema" in r.query for r in stashapi_session), "no introspection query"
    assert [r for r in stashapi_session if r.status != 200] == []


def test_every_document_stashapi_sends_validates_against_stashs_schema(
    real_schema: GraphQLSchema, stashapi_session: list[GqlRecord]
) -> None:
    problems = {
        r.name or r.query[:60]: errors
        for r in stashapi_session
        if (errors := _validation_errors(real_schema, r.query, r.variables))
    }
    assert problems == {}


# ----------------------------------------------------------------------------- (c) plugin


def _plugin_gql_module() -> ModuleType | None:
    try:
        return importlib.import_module("plexsync.stash.documents")
    except ModuleNotFoundError as err:
        if err.name in ("plexsync", "plexsync.stash.documents"):
            return None
        raise


def _plugin_documents() -> dict[str, str]:
    module = _plugin_gql_module()
    if module is None:
        pytest.skip(
            "plexsync/stash/documents.py does not exist yet: the plugin keeps every GraphQL "
            "document it sends in its DOCUMENTS, and this test validates them once it exists"
        )
    documents = getattr(module, "DOCUMENTS", None)
    assert isinstance(documents, dict), "stash/documents.py must define DOCUMENTS: dict[str, str]"
    assert documents, "stash/documents.py DOCUMENTS is empty: it must list every document sent"
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in documents.items())
    return documents


def _plugin_document_problems(
    schema: GraphQLSchema, *, no_deprecated: bool = False
) -> dict[str, list[str]]:
    """Each plugin document that does not validate against ``schema``, with its errors."""
    return {
        name: errors
        for name, document in _plugin_documents().items()
        if (errors := _validation_errors(schema, document, no_deprecated=no_deprecated))
    }


def test_every_plugin_document_validates_against_stashs_schema_without_deprecated_parts(
    real_schema: GraphQLSchema,
) -> None:
    assert _plugin_document_problems(real_schema, no_deprecated=True) == {}


def test_every_plugin_document_is_served_by_the_fake_stash() -> None:
    problems = _plugin_document_problems(SUBSET)
    assert problems == {}, "extend testkit/stash_subset.graphql (with Stash's exact names)"


def test_the_hooks_raw_run_plugin_task_document_is_among_the_plugin_documents(
    real_schema: GraphQLSchema,
) -> None:
    """The hook posts runPluginTask over raw HTTP; it is checked like every other document."""
    hook_documents = {
        name: document
        for name, document in _plugin_documents().items()
        if "runPluginTask" in document
    }
    assert hook_documents, "no runPluginTask document among the plugin documents"
    for name, document in hook_documents.items():
        operation = get_operation_ast(parse(document))
        assert operation is not None and operation.operation.value == "mutation", name
        assert _validation_errors(real_schema, document, no_deprecated=True) == [], name

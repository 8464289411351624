"""Find every warning and error message PlexSync's code can print, as patterns.

Collected (by reading the source with `ast`, never by running it):
- the first argument of `<...>log.warning(...)`, `log.warn(...)` and `log.error(...)`;
- the first argument (or `message=`) of every call to a class that derives from `PlexSyncError`
  (ConfigError, InputError, StashError, StoreError, ... anywhere in the code), raised or not, or
  to a parameter or field annotated `type[<such a class>]`;
- `respond(error=...)` (Stash logs a task's error at error level);
- per-job warnings: the strings in a `warnings=(...)` argument and in `warnings.append(...)`.
An argument is followed through f-strings, `str.format`, `%`, `+`, `a if c else b`,
`log.redact(...)`, local
variables assigned in the same function, and helper functions defined in the code (their
`return` expressions). Each f-string placeholder becomes a wildcard. An argument that stays
unresolved (`str(exc)`, a parameter) is a wildcard too; a message whose literal text is shorter
than `MIN_LITERAL` letters is a wrapper around a message found elsewhere and is not listed.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

WILD = None  # a placeholder segment
Segment = str | None
LOG_METHODS = {"warning", "warn", "error"}
LOGGER_NAMES = {"log", "logger", "_log"}
MIN_LITERAL = 8
_MAX_VARIANTS = 16


@dataclass(frozen=True)
class Message:
    where: str               # "path:line"
    source: str              # what carried it: log.warning, ConfigError, warnings, ...
    segments: tuple[Segment, ...]

    @property
    def text(self) -> str:
        """The message as docs quote it: each variable part written as `…`."""
        return "".join("…" if s is WILD else s for s in self.segments).strip()

    @property
    def literal_letters(self) -> int:
        return sum(len(re.sub(r"[^A-Za-z]", "", s)) for s in self.segments if s is not WILD)

    def regex(self) -> re.Pattern[str]:
        """Matches the message quoted on one line; `…` (or anything) may stand for a variable."""
        segments = list(self.segments)
        while segments and segments[0] is WILD:
            segments.pop(0)
        while segments and segments[-1] is WILD:
            segments.pop()
        if segments and isinstance(segments[-1], str):
            segments[-1] = segments[-1].rstrip().rstrip(".")
        parts = []
        for seg in segments:
            if seg is WILD:
                parts.append(".*?")
            else:
                words = normalise(seg).split()
                body = r"\s+".join(re.escape(w) for w in words)
                if seg[:1].isspace():
                    body = r"\s*" + body
                if seg[-1:].isspace():
                    body += r"\s*"
                parts.append(body)
        return re.compile("".join(parts))


def normalise(text: str) -> str:
    """Docs and code compared without backticks, with `...` spelled `…` and a table's `\\|`
    read as `|`."""
    return text.replace("`", "").replace("...", "…").replace("\\|", "|")


def source_files(root: Path) -> list[Path]:
    files = [root / "plexsync.py", *sorted((root / "plexsync").rglob("*.py"))]
    return [f for f in files if f.is_file() and "__pycache__" not in f.parts]


def _name_of(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


class _Index:
    """Error classes and helper functions across the whole code base."""

    def __init__(self, trees: dict[Path, ast.Module]) -> None:
        bases: dict[str, set[str]] = {}
        self.functions: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
        for tree in trees.values():
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef):
                    bases.setdefault(node.name, set()).update(
                        n for b in node.bases if (n := _name_of(b)))
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    self.functions.setdefault(node.name, []).append(node)
        self.errors = {"PlexSyncError"}
        grew = True
        while grew:
            grew = False
            for name, parents in bases.items():
                if name not in self.errors and parents & self.errors:
                    self.errors.add(name)
                    grew = True
        # Parameters and fields annotated `type[SomeError]` are called like the class itself
        # (`not_found(f"...")`): their calls carry messages too.
        self.factories: set[str] = set()
        for tree in trees.values():
            for node in ast.walk(tree):
                if isinstance(node, ast.arg) and node.annotation is not None:
                    name, annotation = node.arg, node.annotation
                elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                    name, annotation = node.target.id, node.annotation
                else:
                    continue
                if (isinstance(annotation, ast.Subscript) and _name_of(annotation.value) == "type"
                        and _name_of(annotation.slice) in self.errors):
                    self.factories.add(name)


class _Resolver:
    def __init__(self, index: _Index) -> None:
        self.index = index

    def resolve(self, node: ast.expr, scope: ast.AST | None, depth: int = 0
                ) -> list[tuple[Segment, ...]]:
        """Every shape `node` can take, as segment tuples (a wildcard when unknown)."""
        if depth > 6:
            return [(WILD,)]
        if isinstance(node, ast.Constant):
            return [(node.value,)] if isinstance(node.value, str) else [(WILD,)]
        if isinstance(node, ast.JoinedStr):
            variants: list[tuple[Segment, ...]] = [()]
            for value in node.values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    variants = [(*v, value.value) for v in variants]
                else:
                    variants = [(*v, WILD) for v in variants]
            return variants
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left = self.resolve(node.left, scope, depth + 1)
            right = self.resolve(node.right, scope, depth + 1)
            return [a + b for a in left for b in right][:_MAX_VARIANTS]
        if isinstance(node, ast.IfExp):
            return (self.resolve(node.body, scope, depth + 1)
                    + self.resolve(node.orelse, scope, depth + 1))[:_MAX_VARIANTS]
        if isinstance(node, ast.Name) and scope is not None:
            found = [self.resolve(value, scope, depth + 1)
                     for value in _assignments(scope, node.id)]
            if found:
                return [v for variants in found for v in variants][:_MAX_VARIANTS]
            return [(WILD,)]
        if (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod)
                and isinstance(node.left, ast.Constant) and isinstance(node.left.value, str)):
            return [_split(node.left.value, _PERCENT_FIELD)]
        if isinstance(node, ast.Call):
            if (isinstance(node.func, ast.Attribute) and node.func.attr == "format"
                    and isinstance(node.func.value, ast.Constant)
                    and isinstance(node.func.value.value, str)):
                return [_split(node.func.value.value, _FORMAT_FIELD)]
            name = _name_of(node.func)
            if name == "redact" and node.args:
                return self.resolve(node.args[0], scope, depth + 1)
            if name in self.index.functions and name not in self.index.errors:
                out: list[tuple[Segment, ...]] = []
                for fn in self.index.functions[name]:
                    for ret in ast.walk(fn):
                        if isinstance(ret, ast.Return) and ret.value is not None:
                            out += self.resolve(ret.value, fn, depth + 1)
                if out:
                    return out[:_MAX_VARIANTS]
        return [(WILD,)]


_FORMAT_FIELD = re.compile(r"\{[^{}]*\}")
_PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdrifgexXo]")


def _split(template: str, field: re.Pattern[str]) -> tuple[Segment, ...]:
    """A `str.format` or `%` template as segments, each replacement field a wildcard."""
    out: list[Segment] = []
    last = 0
    for match in field.finditer(template):
        out += [template[last:match.start()], WILD]
        last = match.end()
    out.append(template[last:])
    return tuple(out)


def _assignments(scope: ast.AST, name: str) -> list[ast.expr]:
    values: list[ast.expr] = []
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign):
            if any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                values.append(node.value)
        elif (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
              and node.target.id == name and node.value is not None):
            values.append(node.value)
    return values


def _message_args(node: ast.Call, index: _Index) -> list[tuple[str, ast.expr]]:
    """(source label, expression) for each message this call carries."""
    func = node.func
    found: list[tuple[str, ast.expr]] = []
    if (isinstance(func, ast.Attribute) and func.attr in LOG_METHODS
            and _name_of(func.value) in LOGGER_NAMES and node.args):
        found.append((f"log.{func.attr}", node.args[0]))
    name = _name_of(func)
    if name in index.errors or name in index.factories:
        if node.args:
            found.append((name, node.args[0]))
        found += [(name, kw.value) for kw in node.keywords if kw.arg == "message"]
    if name == "respond":
        found += [("respond(error=)", kw.value) for kw in node.keywords if kw.arg == "error"]
    for kw in node.keywords:
        if kw.arg == "warnings" and isinstance(kw.value, ast.Tuple | ast.List):
            found += [("job warning", elt) for elt in kw.value.elts]
    if (isinstance(func, ast.Attribute) and func.attr == "append"
            and _name_of(func.value) == "warnings" and node.args):
        found.append(("job warning", node.args[0]))
    return found


def extract(root: Path) -> list[Message]:
    """Every distinct message the code under `root` can print, sorted by where it is."""
    trees = {path: ast.parse(path.read_text(encoding="utf-8"), str(path))
             for path in source_files(root)}
    index = _Index(trees)
    resolver = _Resolver(index)
    messages: dict[tuple[Segment, ...], Message] = {}
    for path, tree in trees.items():
        rel = path.relative_to(root).as_posix()
        scopes: list[tuple[ast.AST, ast.AST]] = [(tree, tree)]
        while scopes:
            node, scope = scopes.pop()
            inner = node if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else scope
            for child in ast.iter_child_nodes(node):
                scopes.append((child, inner))
                if not isinstance(child, ast.Call):
                    continue
                for label, arg in _message_args(child, index):
                    for segments in resolver.resolve(arg, inner):
                        message = Message(f"{rel}:{child.lineno}", label, _merge(segments))
                        if message.literal_letters >= MIN_LITERAL:
                            messages.setdefault(message.segments, message)
    return sorted(messages.values(), key=lambda m: (m.where.split(":")[0],
                                                     int(m.where.split(":")[1])))


def _merge(segments: tuple[Segment, ...]) -> tuple[Segment, ...]:
    out: list[Segment] = []
    for seg in segments:
        if seg == "":
            continue
        if out and seg is WILD and out[-1] is WILD:
            continue
        if out and isinstance(seg, str) and isinstance(out[-1], str):
            out[-1] = out[-1] + seg
        else:
            out.append(seg)
    return tuple(out)


def undocumented(messages: list[Message], doc: str) -> list[Message]:
    """The messages no single line of `doc` quotes."""
    lines = [normalise(line) for line in doc.splitlines()]
    return [m for m in messages if not any(m.regex().search(line) for line in lines)]

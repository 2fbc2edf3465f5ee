"""Read a policy YAML file as plain JSON data plus the line of every node.

Parsing goes through ``yaml.compose`` so each node keeps its ``start_mark``;
a JSON Schema error path or a cross-check path is mapped back to the line a
policy author must look at. Dates stay strings (the document is hashed as
JSON for ``covenant_version`` and signatures), only ``true``/``false`` are
booleans (YAML 1.1's ``no``/``on`` would silently change a value), and
duplicate keys are errors, never a silent last-one-wins.

Anchors and aliases (``&a``/``*a``) are refused while composing: an alias is
one node the line map, the schema and the hash would each walk once per
reference, so a few lines of nested aliases (a "billion laughs") took seconds
and gigabytes, at start-up as on every reload. Nesting is bounded while
composing too: PyYAML composes recursively, and a few thousand ``[`` ran
into ``RecursionError``, which no caller expected. Covenants need neither.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gateway.policy.errors import Finding

JsonPath = tuple[str | int, ...]

MAX_DEPTH = 32
"""Deepest nesting of mappings and lists a policy file may have (the demo covenant has 6)."""


class Refused(yaml.MarkedYAMLError):
    """YAML that is well-formed but not allowed in a policy file (alias, anchor, depth)."""


class _JsonLikeLoader(yaml.SafeLoader):
    """SafeLoader without timestamp resolution, with YAML 1.2 booleans only, no aliases."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise Refused(
                problem="YAML anchors and aliases (&name, *name) are not allowed",
                problem_mark=event.start_mark,
            )
        if self._depth >= MAX_DEPTH:
            raise Refused(
                problem=f"nested more than {MAX_DEPTH} levels deep",
                problem_mark=event.start_mark,
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_JsonLikeLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_JsonLikeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


@dataclass(frozen=True)
class SourceDocument:
    """A parsed file: its data and where each part of it starts."""

    path: Path
    data: Any
    lines: dict[JsonPath, int] = field(default_factory=dict)

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        parts = tuple(path)
        while parts:
            line = self.lines.get(parts)
            if line is not None:
                return line
            parts = parts[:-1]
        return self.lines.get((), 1)

    def problem(self, path: Sequence[str | int], message: str, warning: bool = False) -> Finding:
        return Finding(self.path, self.line_of(path), message, "warning" if warning else "error")


def read_document(path: Path) -> tuple[SourceDocument | None, list[Finding]]:
    """Parse one file; on failure return no document and the problems, with lines."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return None, [Finding(path, None, f"cannot read the file: {error}")]
    return parse_document(path, text)


def parse_document(path: Path, text: str) -> tuple[SourceDocument | None, list[Finding]]:
    loader = _JsonLikeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, [Finding(path, 1, "the file is empty")]
        problems: list[Finding] = []
        lines: dict[JsonPath, int] = {(): node.start_mark.line + 1}
        _map_lines(path, node, (), lines, problems)
        data = loader.construct_document(node)
    except Refused as error:
        line = error.problem_mark.line + 1 if error.problem_mark is not None else None
        return None, [Finding(path, line, str(error.problem))]
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        return None, [Finding(path, line, f"not valid YAML: {error.problem or error}")]
    except yaml.YAMLError as error:
        return None, [Finding(path, None, f"not valid YAML: {error}")]
    finally:
        loader.dispose()
    if problems:
        return None, problems
    return SourceDocument(path, data, lines), []


def _map_lines(
    file: Path,
    node: yaml.Node,
    path: JsonPath,
    lines: dict[JsonPath, int],
    problems: list[Finding],
) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(Finding(file, key_node.start_mark.line + 1, "keys must be text"))
                continue
            key = str(key_node.value)
            if key == "<<":  # without aliases a merge key only hides where a key comes from
                problems.append(
                    Finding(file, key_node.start_mark.line + 1, "merge keys (<<) are not allowed")
                )
                continue
            if key in seen:
                problems.append(
                    Finding(file, key_node.start_mark.line + 1, f"duplicate key {key!r}")
                )
            seen.add(key)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _map_lines(file, value_node, (*path, key), lines, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _map_lines(file, item, (*path, index), lines, problems)


def to_json_data(value: Any) -> Any:
    """The document as JSON would hold it; the form hashed for ``covenant_version``."""
    if isinstance(value, dict):
        return {str(key): to_json_data(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_json_data(item) for item in value]
    return value

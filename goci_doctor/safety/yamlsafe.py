"""YAML from untrusted CI configs, composed with its nesting depth bounded and aliases checked.

A cycle, or an expansion beyond a node budget, is refused before anything is built from it
(billion laughs); the scanner's own quadratic cost on deep flow collections is cut short too.

Imports: the standard library and (lazily) PyYAML.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up (see model)
if TYPE_CHECKING:
    from typing import Any

MAX_YAML_DEPTH = 100
"""Nesting levels of one YAML document (real workflows use under 20)."""
MAX_YAML_NODES = 200_000
"""Nodes of a YAML document once aliases are expanded (billion laughs needs 10^9)."""


class YamlLimitError(Exception):
    """A YAML document beyond our bounds, with the 1-based line where it was noticed."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def compose_yaml(text: str) -> Any:
    """The node graph of one YAML document (``yaml.compose`` with SafeLoader), or None.

    Refuses (``YamlLimitError``) nesting deeper than ``MAX_YAML_DEPTH``, an alias that contains
    itself, and documents that would expand to more than ``MAX_YAML_NODES`` nodes. Invalid YAML
    raises ``yaml.YAMLError`` as ``yaml.compose`` does.
    """
    import yaml

    class _BoundedLoader(yaml.SafeLoader):
        depth = 0

        def fetch_flow_collection_start(self, token_class: Any) -> None:
            # The scanner rechecks every open flow level per token: 3,000 "[" would take seconds
            # (and 4 MB of them forever) before the composer ever saw the depth.
            if self.flow_level >= MAX_YAML_DEPTH:
                mark = self.get_mark()
                raise YamlLimitError(f"YAML nested more than {MAX_YAML_DEPTH} levels deep", mark.line + 1)
            super().fetch_flow_collection_start(token_class)

        def compose_node(self, parent: Any, index: Any) -> Any:
            self.depth += 1
            try:
                if self.depth > MAX_YAML_DEPTH:
                    mark = self.peek_event().start_mark
                    raise YamlLimitError(f"YAML nested more than {MAX_YAML_DEPTH} levels deep", mark.line + 1)
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    if node is not None:
        _check_expansion(node)
    return node


def _check_expansion(root: Any) -> None:
    """Walk the node graph once (iteratively), computing each node's expanded size and depth."""
    import yaml

    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]

    def children(node: Any) -> list[Any]:
        if isinstance(node, yaml.MappingNode):
            return [n for pair in node.value for n in pair]
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        return []

    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            kids = children(node)
            on_path.discard(key)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            if size[key] > MAX_YAML_NODES:
                raise YamlLimitError(
                    f"YAML aliases expand to more than {MAX_YAML_NODES:,} nodes (an alias bomb?)",
                    node.start_mark.line + 1,
                )
            if depth[key] > MAX_YAML_DEPTH:
                raise YamlLimitError(
                    f"YAML aliases nest more than {MAX_YAML_DEPTH} levels deep", node.start_mark.line + 1
                )
            continue
        if key in size:
            continue
        if key in on_path:
            raise YamlLimitError("a YAML alias that contains itself (recursive anchor)", node.start_mark.line + 1)
        on_path.add(key)
        stack.append((node, True))
        for kid in children(node):
            kid_key = id(kid)
            if kid_key in on_path:
                raise YamlLimitError("a YAML alias that contains itself (recursive anchor)", kid.start_mark.line + 1)
            if kid_key not in size:
                stack.append((kid, False))

"""YAML with line numbers: :class:`YMap`/:class:`YSeq` node trees, :func:`load_yaml`, scalar helpers.

Every YAML config (GitHub Actions, GitLab CI, goreleaser) is read here, so a finding can point at
the line of a key or a list item. :func:`load_yaml_file` turns an unreadable file or bad YAML into
a problem of the facts being collected instead of an exception.

Imports only goci_doctor.safety (bounded reads, bounded YAML composition) and PyYAML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from goci_doctor.safety import safeio, yamlsafe


class YMap(dict):  # type: ignore[type-arg]
    """A YAML mapping that remembers where its keys and values are (1-based lines)."""

    line: int = 0
    key_lines: dict[Any, int]
    value_lines: dict[Any, int]
    value_cols: dict[Any, int]


class YSeq(list):  # type: ignore[type-arg]
    """A YAML sequence that remembers the line of each item."""

    line: int = 0
    item_lines: list[int]
    item_cols: list[int]


def _content_line(node: Any) -> int:
    # A block scalar ("run: |") starts on the line after its indicator.
    extra = 1 if getattr(node, "style", None) in ("|", ">") else 0
    return int(node.start_mark.line) + 1 + extra


def _content_col(node: Any) -> int:
    if getattr(node, "style", None) in ("|", ">"):
        return 1
    return int(node.start_mark.column) + 1


def _convert(node: Any, constructor: Any) -> Any:
    import yaml

    if isinstance(node, yaml.MappingNode):
        out = YMap()
        out.line = node.start_mark.line + 1
        out.key_lines, out.value_lines, out.value_cols = {}, {}, {}
        merges: list[Any] = []
        for knode, vnode in node.value:
            if knode.tag == "tag:yaml.org,2002:merge":
                merges.append(vnode)
                continue
            key = _convert(knode, constructor)
            if isinstance(key, (dict, list)):
                key = str(key)
            out[key] = _convert(vnode, constructor)
            out.key_lines[key] = knode.start_mark.line + 1
            out.value_lines[key] = _content_line(vnode)
            out.value_cols[key] = _content_col(vnode)
        for m in merges:
            for src in m.value if isinstance(m, yaml.SequenceNode) else [m]:
                merged = _convert(src, constructor)
                if isinstance(merged, YMap):
                    for k, v in merged.items():
                        if k not in out:
                            out[k] = v
                            out.key_lines[k] = merged.key_lines[k]
                            out.value_lines[k] = merged.value_lines[k]
                            out.value_cols[k] = merged.value_cols[k]
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = YSeq(_convert(n, constructor) for n in node.value)
        seq.line = node.start_mark.line + 1
        seq.item_lines = [_content_line(n) for n in node.value]
        seq.item_cols = [_content_col(n) for n in node.value]
        return seq
    return constructor.construct_object(node, deep=True)


class YamlError(Exception):
    """Invalid YAML, with the 1-based line it was found at."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def load_yaml(text: str) -> Any:
    """Parse one YAML document into YMap/YSeq/scalars with line numbers; YamlError on bad YAML."""
    import yaml

    try:
        node = yamlsafe.compose_yaml(text)  # depth and alias expansion bounded
    except yamlsafe.YamlLimitError as exc:
        raise YamlError(f"refused YAML: {exc}", exc.line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlError(f"invalid YAML: {problem}", line) from exc
    if node is None:
        return None
    constructor = yaml.SafeLoader("")
    try:
        return _convert(node, constructor)
    except yaml.YAMLError as exc:
        raise YamlError(f"invalid YAML: {exc}", node.start_mark.line + 1) from exc


def scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else str(v)


def env_map(value: Any, expand: Any = None) -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, dict):  # GitLab's {value: ..., description: ...}
                v = v.get("value", "")
            s = scalar(v)
            out[str(k)] = expand(s) if expand else s
    return out


class ProblemSink(Protocol):
    """Where a reader records what it could not read: a file name and (line, message, fix) triples."""

    file: str
    problems: list[tuple[int, str, str]]


def load_yaml_file(path: Path, facts: ProblemSink) -> Any:
    """The parsed YAML document of ``path``; None (with a problem in ``facts``) when unreadable."""
    try:
        text = safeio.read_text(path)
    except safeio.UnsafeInput as exc:
        facts.problems.append((1, f"cannot read {facts.file}: {exc.reason}", "make the file readable UTF-8 text"))
        return None
    try:
        return load_yaml(text)
    except YamlError as exc:
        facts.problems.append((exc.line, f"{exc} (line {exc.line})", "fix the YAML syntax at this line"))
        return None

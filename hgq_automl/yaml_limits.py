"""PyYAML's safe loader with limits: every YAML the tool reads goes through `safe_load`.

A YAML of a few hundred bytes can expand, through nested aliases, to 10**9 nodes (the
"billion laughs"): PyYAML shares the aliased objects, but whatever walks the result
(validation, json, MLflow) pays for every copy. `safe_load` refuses, before building
anything, a text over `MAX_BYTES`, nesting deeper than `MAX_DEPTH`, more than `MAX_ALIASES`
aliases, a recursive alias, or a document that would expand to more than `MAX_NODES`
nodes. The refusal is a `yaml.YAMLError` (`YamlLimitError`), so callers' existing handling
of bad YAML reports it on one line.
"""

from __future__ import annotations

from typing import Any

import yaml

from .errors import first_line

MAX_BYTES = 1 << 20  # 1 MiB: a search space is a few kB
MAX_DEPTH = 32
MAX_ALIASES = 100
MAX_NODES = 100_000


class YamlLimitError(yaml.YAMLError):
    """A YAML refused for its size, nesting or alias expansion; `problem` says which."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = None


class _LimitedLoader(yaml.SafeLoader):
    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise YamlLimitError(f"more than {MAX_ALIASES} aliases (*name)")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YamlLimitError(f"nested deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_data(self):
        node = self.get_single_node()
        if node is None:
            return None
        _check_expansion(node)
        return self.construct_document(node)


def _check_expansion(root: yaml.Node) -> None:
    """Count the nodes `root` stands for once every alias is expanded (each shared node
    counted once per use), refusing past MAX_NODES or on a cycle."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in on_path:
            raise YamlLimitError("a recursive alias (a node that contains itself)")
        on_path.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        if total > MAX_NODES:
            raise YamlLimitError(f"expands to more than {MAX_NODES} nodes (aliases of aliases?)")
        on_path.discard(key)
        sizes[key] = total
        return total

    size(root)


def safe_load(text: str | bytes) -> Any:
    """`yaml.safe_load(text)` within the limits above (else `YamlLimitError`)."""
    size = len(text.encode("utf-8") if isinstance(text, str) else text)
    if size > MAX_BYTES:
        raise YamlLimitError(f"{size} bytes; a YAML file read here may hold at most {MAX_BYTES}")
    loader = _LimitedLoader(text)
    try:
        return loader.get_single_data()
    except RecursionError:
        raise YamlLimitError("nested too deeply through aliases") from None
    finally:
        loader.dispose()


def describe_error(exc: yaml.YAMLError) -> tuple[str, str]:
    """(where, problem) of a YAML error, for a one-line message: ("line N", "not valid YAML (...)")
    or ("YAML", "refused: ...") for a limit."""
    if isinstance(exc, YamlLimitError):
        return "YAML", f"refused: {exc.problem}"
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}" if mark is not None else "YAML"
    problem = getattr(exc, "problem", None) or first_line(exc)
    return where, f"not valid YAML ({problem})"

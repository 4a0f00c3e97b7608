"""YAML from an untrusted source: the safe loader, and a bound on what aliases expand to.

The safe loader builds no Python objects, but aliases are allowed (people use anchors in
dvc.yaml and MLflow writes none, yet a hostile file may): a few kilobytes of nested aliases
describe billions of values, which every later walk (flattening params, reading a pip list,
writing the record) would expand. So the size the document would have once every alias is
expanded is counted first, on the node graph, and a document over the bound is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.errors import IngestError

if TYPE_CHECKING:
    import yaml

MAX_EXPANDED_NODES = 1_000_000
MAX_DEPTH = 64


def load_yaml(data: bytes | str, label: str | Path) -> Any:
    """The one document in `data` (None when empty); any problem is an IngestError naming `label`."""
    import yaml

    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        loader = loader_class(data.decode("utf-8") if isinstance(data, bytes) else data)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            check_expansion(node, label)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except UnicodeDecodeError as exc:
        raise IngestError(label, None, f"not UTF-8 text (byte {exc.start})") from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}" if mark is not None else None
        raise IngestError(label, where, f"not valid YAML: {exc.problem or exc.context}") from exc
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        raise IngestError(label, None, f"not valid YAML: {' '.join(str(exc).split())[:200]}") from exc


def check_expansion(root: yaml.Node, label: str | Path) -> None:
    """Count the nodes the document expands to, each shared node once per reference (memoised); an
    IngestError naming `label` when that is over MAX_EXPANDED_NODES or nesting is over MAX_DEPTH."""
    import yaml

    if isinstance(root, yaml.MappingNode) and 2 * len(root.value) < MAX_EXPANDED_NODES:
        scalar = yaml.ScalarNode
        if all(type(k) is scalar and type(v) is scalar for k, v in root.value):
            return  # a flat mapping of scalars (every MLflow meta.yaml): 1 + 2n nodes, however aliased
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise IngestError(label, None, f"nested more than {MAX_DEPTH} levels deep")
        if id(node) in sizes:
            return sizes[id(node)]
        sizes[id(node)] = 1  # a recursive alias counts once instead of looping
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(item, depth + 1) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        sizes[id(node)] = min(total, MAX_EXPANDED_NODES + 1)
        return sizes[id(node)]

    if size(root, 0) > MAX_EXPANDED_NODES:
        raise IngestError(label, None, f"expands to more than {MAX_EXPANDED_NODES} values (nested YAML aliases)")

"""Reading YAML that users write (auditor.yaml, rule packs, waivers), safely and with
errors that name the file, the line and the key as the user wrote them.

Three steps: the event stream is checked first (no anchors or aliases, which can
expand a few lines into billions of nodes; no deep nesting), then the node tree
(line numbers, duplicate keys, plain-text keys), then plain data is built with
the safe loader. Every failure is a `YamlFileError` (exit 2), never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from auditor.errors import UsageError
from auditor.files import InputFileError, read_input_text

if TYPE_CHECKING:
    import yaml

MAX_DEPTH = 32
M = TypeVar("M", bound=BaseModel)


class YamlFileError(UsageError):
    """A user-written YAML file is malformed: one line naming file, line and key."""

    def __init__(self, path: Path | str, line: int | None, key: str | None, problem: str) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {key}: {problem}" if key else f"{where}: {problem}")


def load_yaml(text: str, path: Path | str, error: type[YamlFileError] = YamlFileError) -> tuple[Any, yaml.Node | None]:
    """The data and its node tree (for line numbers); `error` is the type raised."""
    import yaml  # here, not at the top: most runs read no YAML at all

    root = _compose(text, path, error)
    try:
        data = yaml.load(text, Loader=_loader()) if root is not None else None  # noqa: S506 - a SafeLoader
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:  # bad tags such as !!int "abc"
        mark = getattr(exc, "problem_mark", None)
        raise error(path, mark.line + 1 if mark else None, None, f"not valid YAML: {_short(exc)}") from exc
    return data, root


def load_model(
    text: str, path: Path | str, model: type[M], error: type[YamlFileError], expected: str
) -> tuple[M, yaml.Node | None]:
    """YAML text validated into `model`; `expected` says what the top level should be."""
    data, root = load_yaml(text, path, error)
    if not isinstance(data, dict):
        raise error(path, 1, None, f"expected a mapping with {expected}")
    try:
        return model.model_validate(data), root
    except ValidationError as exc:
        raise validation_error(exc, path, root, error) from exc


def read_text(path: Path, error: type[YamlFileError], what: str, max_bytes: int) -> str:
    """The text of a user's YAML file: a regular file (a link to one is fine) of at most max_bytes,
    so a FIFO or /dev/zero named as auditor.yaml or a pack is one line, not a hang."""
    try:
        return read_input_text(path, what, max_bytes)
    except InputFileError as exc:
        raise error(path, None, None, exc.problem) from exc


def _loader() -> type[yaml.SafeLoader]:
    """The safe loader, but dates stay text: a user's '2026-13-01' must reach validation as
    written (a waiver with an unreadable expiry counts as expired), not fail the whole file."""
    import yaml

    class TextDates(_safe_loader()):  # type: ignore[misc]
        pass

    TextDates.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return TextDates


def _safe_loader() -> type[yaml.SafeLoader]:
    """libyaml's safe loader when PyYAML was built with it (about ten times faster), else PyYAML's."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def validation_error(
    exc: ValidationError, path: Path | str, root: yaml.Node | None, error: type[YamlFileError] = YamlFileError
) -> YamlFileError:
    """The first pydantic error, as the user would find it in their file."""
    first = exc.errors()[0]
    loc = tuple(first["loc"])
    return error(path, line_of(root, loc), dotted(loc), _message(first))


def _compose(text: str, path: Path | str, error: type[YamlFileError]) -> yaml.Node | None:
    import yaml

    _reject_aliases_and_depth(text, path, error)
    try:
        root = yaml.compose(text, Loader=_safe_loader())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise error(path, line, None, f"not valid YAML: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise error(path, None, None, f"not valid YAML: {exc}") from exc
    if root is not None:
        _reject_duplicate_keys(root, path, (), error)
    return root


def _reject_aliases_and_depth(text: str, path: Path | str, error: type[YamlFileError]) -> None:
    """Refuse anchors and aliases (a few lines of them expand to billions of nodes) and deep
    nesting, from the event stream alone, before anything is built from the text."""
    import yaml

    depth = 0
    try:
        for event in yaml.parse(text, Loader=_safe_loader()):
            line = event.start_mark.line + 1 if event.start_mark is not None else None
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise error(path, line, None, "YAML anchors and aliases are not supported in auditor.yaml")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise error(path, line, None, f"nested more than {MAX_DEPTH} levels deep")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise error(
            path, mark.line + 1 if mark else None, None, f"not valid YAML: {exc.problem or exc.context}"
        ) from exc
    except yaml.YAMLError as exc:
        raise error(path, None, None, f"not valid YAML: {_short(exc)}") from exc


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200]


def _reject_duplicate_keys(node: yaml.Node, path: Path | str, loc: tuple[Any, ...], error: type[YamlFileError]) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise error(path, key.start_mark.line + 1, dotted(loc) or None, "keys must be plain text")
            name = str(key.value)
            if name in seen:
                raise error(path, key.start_mark.line + 1, dotted((*loc, name)), "duplicate key")
            seen.add(name)
            _reject_duplicate_keys(value, path, (*loc, name), error)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _reject_duplicate_keys(item, path, (*loc, index), error)


def line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The line of the deepest node on `loc` that exists (an unknown key's own line)."""
    import yaml

    node, line = root, (root.start_mark.line + 1 if root is not None else None)
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if str(k.value) == str(part)), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "missing":
        return "required key is missing"
    return str(error["msg"])

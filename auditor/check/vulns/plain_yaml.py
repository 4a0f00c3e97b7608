"""A plain YAML document read straight from libyaml's events: what `yaml.load` with the C safe loader
returns, in about 0.4 of its CPU time.

The safe loader builds a node for every value and then constructs each node in Python: for the 2,661
PyPA advisories, 1.2-1.5 s of CPU on one core here, most of `auditor check`'s time with an advisory
folder not yet indexed. Here the values are built as the events arrive, with no nodes: a plain scalar is
resolved as the safe loader resolves it (its own resolver and constructors: str, null, bool, int, float,
timestamp), with each text's resolution remembered; every other scalar is a str, as there.

Only what has exactly one reading is read here. Anything else, an anchor, an alias, an explicit tag, a
merge (`<<`) or value (`=`) key, a mapping or sequence as a key, more than one document, and any error,
leaves the whole text to the safe loader itself, which then reads it, or raises, exactly as it always
did (tests/check/vulns/test_plain_yaml.py holds the two to each other, on every PyPA advisory).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.events import (
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from yaml.nodes import ScalarNode

C_PARSER: Any
try:
    from yaml._yaml import CParser as C_PARSER
except ImportError:  # PyYAML without libyaml: the safe loader reads everything
    C_PARSER = None

C_LOADER: Any = getattr(yaml, "CSafeLoader", None)
STR_TAG = "tag:yaml.org,2002:str"
# The first letters the safe loader's implicit resolvers look at: a plain scalar starting otherwise is a str.
FIRST_LETTERS = frozenset(letter for letter in yaml.SafeLoader.yaml_implicit_resolvers if letter)
CONSTRUCTED = frozenset(
    {
        "tag:yaml.org,2002:null",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
        "tag:yaml.org,2002:timestamp",
    }
)
REMEMBERED_LENGTH = 64  # texts up to this long have their resolution remembered ...
REMEMBERED_COUNT = 65536  # ... this many of them at most


class _Other(Exception):
    """The text is not one this module reads: the safe loader reads it."""


class _Scalars(yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
    """The safe loader's resolver and scalar constructors, without its parser."""

    def __init__(self) -> None:
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)


_SCALARS: Any = _Scalars()  # typed Any: PyYAML's resolver and constructors are untyped
_RESOLVED: dict[str, str] = {}


def load(text: str, loader: Any) -> object:
    """`yaml.load(text, Loader=loader)`; read from events when `loader` is the C safe loader, as PyYAML
    ships it: one given constructors or resolvers of its own (`yaml.add_constructor(..., Loader=CSafeLoader)`
    gives it its own tables) reads everything itself."""
    if loader is not None and loader is C_LOADER and C_PARSER is not None and _as_shipped(loader):
        try:
            return _from_events(text)
        except Exception:  # noqa: S110 - the safe loader below reads it, or raises its own error
            pass
    return yaml.load(text, Loader=loader)  # noqa: S506 (a safe loader)


def _as_shipped(loader: Any) -> bool:
    """The loader resolves and constructs with the safe loader's own tables, the ones read here."""
    return (
        loader.yaml_constructors is yaml.constructor.SafeConstructor.yaml_constructors
        and loader.yaml_implicit_resolvers is yaml.resolver.Resolver.yaml_implicit_resolvers
    )


def _from_events(text: str) -> object:
    parser = C_PARSER(text)
    try:
        get = parser.get_event
        if type(get()) is not StreamStartEvent:
            raise _Other
        event = get()
        if type(event) is StreamEndEvent:
            return None
        if type(event) is not DocumentStartEvent:
            raise _Other
        document = _document(get)
        if type(get()) is not StreamEndEvent:
            raise _Other  # a second document: the safe loader's own error
        return document
    finally:
        parser.dispose()


_NO_KEY: Any = object()


def _document(get: Any) -> object:
    """The values of one document's events, to its end."""
    outer: list[tuple[Any, Any]] = []  # the enclosing containers, each with its pending key
    container: Any = None
    key: Any = _NO_KEY
    document: object = None
    while True:
        event = get()
        kind = type(event)
        if kind is ScalarEvent:
            if event.anchor is not None or event.tag is not None:
                raise _Other
            value: object = _scalar(event.value) if event.implicit[0] else event.value
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if event.anchor is not None or event.tag is not None:
                raise _Other
            outer.append((container, key))
            container = {} if kind is MappingStartEvent else []
            key = _NO_KEY
            continue
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            value = container
            container, key = outer.pop()
        elif kind is DocumentEndEvent:
            return document
        else:  # an alias
            raise _Other
        if container is None:
            document = value
        elif type(container) is list:
            container.append(value)
        elif key is _NO_KEY:
            key = value
        else:
            container[key] = value  # a mapping or sequence as a key: TypeError, and the safe loader's error
            key = _NO_KEY


def _scalar(text: str) -> object:
    """A plain scalar's value, as the safe loader resolves and constructs it."""
    if text and text[0] not in FIRST_LETTERS:
        return text
    tag = _RESOLVED.get(text)
    if tag is None:
        tag = _SCALARS.resolve(ScalarNode, text, (True, False))
        if len(text) <= REMEMBERED_LENGTH and len(_RESOLVED) < REMEMBERED_COUNT:
            _RESOLVED[text] = tag
    if tag == STR_TAG:
        return text
    if tag not in CONSTRUCTED:  # merge, value, or a resolver added to PyYAML's safe loader since
        raise _Other
    return _SCALARS.yaml_constructors[tag](_SCALARS, ScalarNode(tag, text))

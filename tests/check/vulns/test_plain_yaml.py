"""plain_yaml reads what libyaml's safe loader reads, to the type of every value, and leaves the rest to it:
every PyPA advisory of the snapshot, and documents made to find where the two could part."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from auditor.check.vulns import plain_yaml
from tests.conftest import ADVISORY_SNAPSHOT

C_LOADER: Any = yaml.CSafeLoader


def _outcome(read: Any, text: str) -> tuple[str, str]:
    """What reading `text` gives: the value's repr (types told apart: 1, 1.0 and True differ), or the error."""
    try:
        return "value", repr(read(text))
    except Exception as exc:  # YAML's errors, and the ValueError of a date such as 2001-13-14
        return type(exc).__name__, str(exc)


def _safe_loader(text: str) -> object:
    return yaml.load(text, Loader=C_LOADER)  # noqa: S506 (a safe loader)


def _plain(text: str) -> object:
    return plain_yaml.load(text, C_LOADER)


def _without_fallback(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts left to the safe loader from now on."""
    left: list[str] = []
    real = yaml.load

    def counted(text: str, Loader: Any) -> object:
        left.append(text)
        return real(text, Loader=Loader)

    monkeypatch.setattr(plain_yaml.yaml, "load", counted)
    return left


def test_every_pypa_advisory_reads_the_same_from_events(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [path.read_text(encoding="utf-8") for path in sorted(ADVISORY_SNAPSHOT.rglob("*.yaml"))]
    assert len(texts) == 2661
    expected = [_outcome(_safe_loader, text) for text in texts]
    left = _without_fallback(monkeypatch)
    assert [_outcome(_plain, text) for text in texts] == expected
    plain = [text for text in texts if "&" not in text]
    assert [text for text in left if text in plain] == []  # read from events, not by the safe loader


SCALARS = [
    *["~", "null", "Null", "NULL", "", "''", '""', "yes", "No", "ON", "off", "y", "n", "true", "False", "TRUE"],
    *["0", "-0", "+12", "0x1F", "0o17", "017", "0b101", "1_000", "190:20:30", "08", "0.5", "-.5", "1e3"],
    *["1.5e+3", "6.8523015e+5", "685.230_15e+03", "190:20:30.15", ".inf", "-.Inf", "+.INF", ".nan", ".NaN"],
    *["2001-12-14", "2002-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10", "2001-12-15T02:59:43.1Z"],
    *["2001-13-14", "20011214", "1.2.3", "v1.0", "=", "<<", "'yes'", '"1"', "'2001-12-14'", "-", "--", ".", "+"],
    *["é", "0.", "._", "1e", "0x", "nan", "inf", "~x", "tilde~", "yes please", "on-call", "NO!", "00:00"],
    *['"\\x41\\u00e9\\U0001F600"', "'it''s'", "|\n  block\n  text\n", ">\n  folded\n  text\n", "|-\n  x\n"],
]


@pytest.mark.parametrize("scalar", SCALARS)
def test_each_kind_of_scalar_reads_the_same(scalar: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Alone, as a mapping's value, as a key, and in a flow sequence (where a block scalar cannot go)."""
    texts = [scalar, f"key: {scalar}", f"{scalar}: value" if "\n" not in scalar else "x: 1"]
    if "\n" not in scalar:
        texts.append(f"[{scalar}, {scalar}]")
    for text in texts:
        assert _outcome(_plain, text) == _outcome(_safe_loader, text), text


DOCUMENTS = [
    "",
    "---\n",
    "--- \n...\n",
    "# only a comment\n",
    "a: 1\n---\nb: 2\n",  # two documents: the safe loader's error
    "---\na: 1\n...\n",
    "a: 1\na: 2\n",  # a key twice: the last value, as the safe loader keeps it
    "1: int\n1.0: float\ntrue: bool\n",  # keys that are equal in Python
    "? [a, b]\n: unhashable\n",
    "{a: 1}: mapping key\n",
    "? ~\n: null key\n",
    "<<: {a: 1}\nb: 2\n",  # a merge key with no anchor
    "=: value key\n",
    "a: !!str 1\n",
    "a: !!int '3'\n",
    "a: !custom x\n",
    "a: ! 12\n",
    "a: !!binary aGVsbG8=\n",
    "a: !!set {x, y}\n",
    "a: !!omap [{x: 1}]\n",
    "a: !!python/object:os.system x\n",
    "a: *undefined\n",
    "a: &anchor 1\nb: *anchor\n",
    "a: [\n",
    "a: b: c\n",
    "\ta: 1\n",
    "- a\n- [b, {c: d, e: [f, g]}]\n- {}\n- []\n",
    "a:\n  - b:\n      c: [1, 2.5, null, yes, 2001-12-14]\n",
    "[" * 500 + "]" * 500,
    "{a: " * 300 + "1" + "}" * 300,
    "[" * 1001 + "]" * 1001,  # past libyaml's nesting limit
    "key: 'unterminated\n",
    'key: "\\q"\n',
    "\ufeffa: 1\n",
    "a: 1 # comment\n# more\n",
]


@pytest.mark.parametrize("text", DOCUMENTS)
def test_each_kind_of_document_reads_or_fails_the_same(text: str) -> None:
    assert _outcome(_plain, text) == _outcome(_safe_loader, text)


def test_only_plain_documents_are_read_from_events(monkeypatch: pytest.MonkeyPatch) -> None:
    left = _without_fallback(monkeypatch)
    for text in ["a: 1\n", "- [x, 2001-12-14]\n", "", "? x\n: y\n"]:
        _plain(text)
    assert left == []
    others = ["a: 1\n---\nb: 2\n", "? [a]\n: b\n", "<<: {a: 1}\n", "a: !!str 1\n", "a: &x 1\nb: *x\n", "a: ["]
    for text in others:
        _outcome(_plain, text)
    assert left == others


def test_the_pure_python_loader_is_left_to_read_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without libyaml (or when asked for another loader) there are no events to read: the loader reads."""
    left = _without_fallback(monkeypatch)
    assert plain_yaml.load("a: [1, yes]\n", yaml.SafeLoader) == {"a": [1, True]}
    assert left == ["a: [1, yes]\n"]
    monkeypatch.setattr(plain_yaml, "C_PARSER", None)
    assert plain_yaml.load("a: 1\n", C_LOADER) == {"a": 1}
    assert left == ["a: [1, yes]\n", "a: 1\n"]


def test_a_c_loader_given_its_own_constructors_reads_everything_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables of its own (PyYAML copies them on a registration for that loader alone) may read a scalar
    otherwise: the loader reads, not the events."""
    constructors = {**C_LOADER.yaml_constructors, "tag:yaml.org,2002:timestamp": lambda _loader, node: node.value}
    monkeypatch.setattr(C_LOADER, "yaml_constructors", constructors)
    assert _plain("d: 2020-01-02\n") == {"d": "2020-01-02"} == _safe_loader("d: 2020-01-02\n")
    resolvers = {key: list(value) for key, value in C_LOADER.yaml_implicit_resolvers.items()}
    monkeypatch.setattr(C_LOADER, "yaml_constructors", yaml.constructor.SafeConstructor.yaml_constructors)
    monkeypatch.setattr(C_LOADER, "yaml_implicit_resolvers", resolvers)
    left = _without_fallback(monkeypatch)
    assert _plain("a: 1\n") == {"a": 1}
    assert left == ["a: 1\n"]

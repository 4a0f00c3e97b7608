"""safe_yaml reads with libyaml where PyYAML has it and with the pure-Python loader where not: the same
documents, the same refusals (alias bombs, depth) and one-line errors that name the file and the line,
whichever parser read them (libyaml words a few syntax errors its own way)."""

from __future__ import annotations

import pytest
import yaml

from auditor.errors import IngestError
from auditor.ingest.safe_yaml import load_yaml

VALID = [
    "",
    "a: 1\nb: [x, y]\nc: {d: 2.5, e: null, f: true}\n",
    "base: &b {lr: 0.1, seed: 7}\nrun: *b\nmerged: {<<: *b, seed: 8}\n",
    "when: 2024-05-01T10:00:00Z\nday: 2024-05-01\noct: 0o17\nhex: 0x1f\ninf: .inf\n",
    "- 'quoted: text'\n- \"\\u00e9\"\n- |\n  literal\n  block\n- >\n  folded\n  text\n",
    "a: 1\na: 2\n",  # the safe loader keeps the last value of a repeated key
]
BAD = [
    "a: [unclosed\n",
    "a: 1\n b: 2\n  c: 3\n",
    "a: !!python/object:os.system ls\n",
    "one: 1\n---\ntwo: 2\n",
    "x: *missing\n",
    "\tindented: with a tab\n",
    "a: !!int abc\n",
    "[" * 70 + "]" * 70,  # deeper than safe_yaml's bound
    "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)),  # 10^9 values
]


def _read(text: str) -> object:
    try:
        return ("ok", load_yaml(text.encode(), "params.yaml"))
    except IngestError as exc:
        return ("refused", str(exc))


@pytest.fixture
def both(monkeypatch: pytest.MonkeyPatch) -> list[list[object]]:
    """Every input read with the C loader, then with the pure-Python one (CSafeLoader gone, as in a
    PyYAML built without libyaml)."""
    assert hasattr(yaml, "CSafeLoader")  # this machine's PyYAML has libyaml
    with_c = [_read(text) for text in VALID + BAD]
    monkeypatch.delattr(yaml, "CSafeLoader")
    return [with_c, [_read(text) for text in VALID + BAD]]


def test_both_parsers_read_the_same_documents(both: list[list[object]]) -> None:
    with_c, pure = both
    assert with_c[: len(VALID)] == pure[: len(VALID)]
    assert all(outcome[0] == "ok" for outcome in with_c[: len(VALID)])  # type: ignore[index]


def test_both_parsers_refuse_the_same_inputs_in_one_line_naming_file_and_line(both: list[list[object]]) -> None:
    with_c, pure = both
    for c_outcome, py_outcome, text in zip(with_c[len(VALID) :], pure[len(VALID) :], BAD, strict=True):
        for outcome in (c_outcome, py_outcome):
            kind, message = outcome  # type: ignore[misc]
            assert kind == "refused" and str(message).startswith("params.yaml: "), (text, outcome)
            assert "\n" not in str(message)
        # libyaml words some syntax errors its own way ("did not find expected ',' or ']'" where PyYAML
        # says "expected ',' or ']', but got '<stream end>'"): the file and the line are the same
        c_where, py_where = (str(o[1]).partition(" not valid YAML: ")[0] for o in (c_outcome, py_outcome))  # type: ignore[index]
        assert c_where == py_where, text
        if BAD.index(text) < 6:  # a syntax error: its line is named
            assert c_where.startswith("params.yaml: line "), (text, c_where)
        if " not valid YAML: " not in str(c_outcome[1]):  # type: ignore[index]
            assert c_outcome == py_outcome, text  # safe_yaml's own refusals: word for word

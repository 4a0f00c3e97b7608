"""in-toto Statement v1: built canonically, parsed strictly."""

from __future__ import annotations

import json

import pytest

from auditor.errors import EvidenceError, UsageError
from auditor.sign.statement import PAYLOAD_TYPE, STATEMENT_TYPE, build_statement, parse_statement

A, B = "a" * 64, "b" * 64
PREDICATE = "https://auditor.dev/evidence-bundle/v1"


def test_build_and_parse_round_trip() -> None:
    raw = build_statement({"record.json": A, "dossier.pdf": B}, PREDICATE, {"run_id": "r1"})
    data = json.loads(raw)
    assert data["_type"] == STATEMENT_TYPE == "https://in-toto.io/Statement/v1"
    assert PAYLOAD_TYPE == "application/vnd.in-toto+json"
    assert [s["name"] for s in data["subject"]] == ["dossier.pdf", "record.json"]
    assert raw == json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    statement = parse_statement(raw, predicate_type=PREDICATE)
    assert dict(statement.subjects) == {"dossier.pdf": B, "record.json": A}
    assert statement.predicate == {"run_id": "r1"}


@pytest.mark.parametrize(
    ("subjects", "problem"),
    [({}, "at least one subject"), ({"x": "A" * 64}, "64 lowercase hex"), ({"bad\nname": A}, "printable name")],
)
def test_build_refuses_what_a_verifier_would(subjects: dict[str, str], problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        build_statement(subjects, PREDICATE, {})


def good() -> dict[str, object]:
    return json.loads(build_statement({"record.json": A}, PREDICATE, {}))


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.update(_type="https://in-toto.io/Statement/v0.1"), r"_type: .*expected"),
        (lambda d: d.update(extra=1), r"unexpected field 'extra'"),
        (lambda d: d.pop("predicate"), r"field 'predicate' is missing"),
        (lambda d: d.update(predicate=[]), r"predicate: expected a JSON object"),
        (lambda d: d.update(predicateType="https://example.org/other"), r"predicateType: .*expected"),
        (lambda d: d.update(subject=[]), r"subject: expected a non-empty list"),
        (
            lambda d: d["subject"][0]["digest"].update(sha512="c" * 128),
            r"subject\[0\]\.digest: unexpected field 'sha512'",
        ),
        (lambda d: d["subject"][0]["digest"].update(sha256="A" * 64), r"subject\[0\]\.digest\.sha256: expected 64"),
        (lambda d: d["subject"][0].update(name=""), r"subject\[0\]\.name"),
        (lambda d: d["subject"][0].update(uri="x"), r"subject\[0\]: unexpected field 'uri'"),
        (lambda d: d["subject"].append(dict(d["subject"][0])), r"subject\[1\]\.name: 'record\.json' named twice"),
    ],
)
def test_parse_refuses_naming_the_field(change: object, problem: str) -> None:
    data = good()
    change(data)  # type: ignore[operator]
    with pytest.raises(EvidenceError, match=r"^bundle: statement: " + problem):
        parse_statement(json.dumps(data).encode(), where="bundle: statement", predicate_type=PREDICATE)


def test_a_duplicate_key_is_refused() -> None:
    raw = build_statement({"record.json": A}, PREDICATE, {}).replace(b'"_type"', b'"predicate":{},"_type"', 1)
    with pytest.raises(EvidenceError, match="appears twice"):
        parse_statement(raw)

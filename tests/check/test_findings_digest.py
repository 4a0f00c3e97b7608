"""The findings digest is over each finding's model_dump(mode="json") less its location, made portable JSON
(a lone surrogate as U+FFFD), in canonical JSON, however it is made: the bytes `_canonical_findings` writes
must be exactly those, or a sign-off would cover other bytes than before."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from auditor.check.digest import (
    _canonical_findings,
    _digest,
    _findings_adapter,
    findings_digest,
    findings_digest_of_json,
)
from auditor.record.findings import Finding, FindingLocation
from auditor.render.json_report import render_json
from auditor.sign.canonical import canonical
from auditor.text import json_value
from tests.render.test_formats import make_report

ODD = ' \u00e9\u2028"\\\t\ud800\U0001f600<&>'
BMP = ODD.replace("\ud800", "").replace("\U0001f600", "")  # what the quick writer takes on


def _varied(odd: str = ODD) -> tuple[Finding, ...]:
    evidence: list[dict[str, str | int | float | bool | None]] = [
        {},
        {"float": 0.1, "big": 1e300, "tiny": 5e-324, "negative": -0.0, "int": 2**70, "bool": True, "none": None},
        {"z": "last", "a": "first", "odd": odd, "B": False},
    ]
    return tuple(
        Finding(
            rule_id=f"AUD-{i}" + odd,
            severity=("critical", "high", "medium", "low")[i % 4],
            subject=f"dataset:{i}" + odd,
            outcome="waived" if i % 5 == 0 else ("pass", "fail", "inconclusive", "could_not_evaluate")[i % 4],
            message="m" + odd * (i % 3),
            evidence=evidence[i % 3],
            waiver=f"W-{i}" if i % 5 == 0 else None,
            location=FindingLocation(path="a/b.yaml", line=i + 1) if i % 2 else None,
        )
        for i in range(40)
    )


def test_the_quick_bytes_are_canonical_json_of_model_dump_less_the_location() -> None:
    findings = _varied(BMP)
    quick = _canonical_findings(findings)
    assert quick is not None
    dumped = [f.model_dump(mode="json", exclude={"location"}) for f in findings]
    assert b"[" + quick + b"]" == canonical({"f": dumped})[len(b'{"f":') : -1]
    made = _findings_adapter(type(make_report())).dump_python(findings, mode="json", exclude={"__all__": {"location"}})
    assert made == dumped
    assert _canonical_findings(()) == b""


def test_the_digest_is_the_one_pydantic_serialised_and_verify_recomputes() -> None:
    for findings in ((), _varied(), _varied()[:1]):
        report = make_report(odd=ODD).model_copy(update={"findings": findings})
        made = _findings_adapter(type(report)).dump_python(findings, mode="json", exclude={"__all__": {"location"}})
        made = json_value(made)
        assert findings_digest(report) == _digest(report.run.record_sha256, report.with_waivers.verdict, made)
    for odd in (ODD, BMP, "\udfff", "\ud83d\ude00", "\U0001f600"):
        report = make_report(odd=odd).model_copy(update={"findings": _varied(odd)})
        assert findings_digest_of_json(json.loads(render_json(report))) == findings_digest(report)


def test_a_lone_surrogate_counts_as_the_replacement_character_and_a_pair_as_its_character() -> None:
    """A lone surrogate has no JSON form a strict parser takes: the report's JSON holds U+FFFD, and the
    digest counts that, so `verify` recomputes from the JSON what `approve` signed from the report. The
    quick writer leaves anything written as a surrogate escape (a lone one, or a character outside the
    BMP) to the path that makes the replacement."""
    lone, replaced, emoji = (
        (Finding(rule_id="R", severity="low", subject="run", outcome="pass", message=m),)
        for m in ("a\ud800", "a\ufffd", "a\U0001f600")
    )
    assert _canonical_findings(lone) is None and _canonical_findings(emoji) is None
    assert _canonical_findings(replaced) is not None
    digest = {
        name: findings_digest(make_report().model_copy(update={"findings": f}))
        for name, f in (("lone", lone), ("replaced", replaced), ("emoji", emoji))
    }
    assert digest["lone"] == digest["replaced"] != digest["emoji"]


def test_findings_of_another_type_go_through_their_own_serialiser() -> None:
    class Annotated(Finding):
        note: str = "kept"

    findings = (Annotated(rule_id="R", severity="low", subject="run", outcome="pass", message="ok"),)
    assert _canonical_findings(findings) is None


def test_a_key_that_is_not_ascii_goes_through_pydantic() -> None:
    """pydantic's JSON mode writes a lone surrogate in a key as U+FFFD; the digest keeps doing so."""
    findings = (Finding(rule_id="R", severity="low", subject="run", outcome="pass", message="ok", evidence={ODD: 1}),)
    assert _canonical_findings(findings) is None
    report = make_report().model_copy(update={"findings": findings})
    made = json_value([f.model_dump(mode="json", exclude={"location"}) for f in findings])
    assert findings_digest(report) == _digest(report.run.record_sha256, report.with_waivers.verdict, made)


def test_tallies_by_rule_count_as_tally_does_in_the_same_order() -> None:
    """The counts per rule, rules and outcomes in the order they first appear (as grouping then `tally`)."""
    from auditor.record.findings import tallies_by_rule, tally

    findings = _varied()
    grouped: dict[str, list[Finding]] = {}
    for f in findings:
        grouped.setdefault(f.rule_id, []).append(f)
    expected = {rule: tally(mine) for rule, mine in grouped.items()}
    got = tallies_by_rule(iter(findings))
    assert list(got) == list(expected)
    assert [list(t.counts.items()) for t in got.values()] == [list(t.counts.items()) for t in expected.values()]
    mixed = [f.model_copy(update={"rule_id": "R"}) for f in findings]
    (only,) = tallies_by_rule(mixed).values()
    assert list(only.counts.items()) == list(tally(mixed).counts.items())


def test_a_store_run_quotes_the_sha256_of_its_record_file(tmp_path: Path) -> None:
    """The store hands parse_record the digest it verified, so the bytes are hashed once: the same digest."""
    from auditor.record.io import record_digest
    from auditor.store.runs import RunStore
    from tests.factories import make_record

    store = RunStore.create(tmp_path / "store")
    record = make_record()
    store.commit(store.begin(record.identity.run_id), record)
    loaded = store.load(record.identity.run_id)
    on_disk = store.record_path(record.identity.run_id).read_bytes()
    assert record_digest(loaded) == hashlib.sha256(on_disk).hexdigest()

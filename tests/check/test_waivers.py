from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from auditor.check.waivers import WAIVER_RULE, WaiverError, apply_waivers, load_waivers
from auditor.record.findings import Finding

WAIVERS = """\
version: 1
waivers:
  - id: numpy-pin
    rule: AUD-ENV-001
    scope: package:numpy
    justification: numpy is rebuilt in-house with a security patch until 2.2
    owner: alice@example.invalid
    approver: bob@example.invalid
    expires: 2026-12-31
  - id: old
    rule: AUD-ENV-001
    scope: "*"
    justification: blanket exception from the pilot phase
    owner: alice@example.invalid
    approver: bob@example.invalid
    expires: 2026-01-31
  - id: typo-date
    rule: AUD-SRC-001
    justification: release branch built from a tarball
    owner: carol@example.invalid
    approver: bob@example.invalid
    expires: 2026-13-01
  - id: never-used
    rule: AUD-FAIR-001
    scope: attribute:age_group
    justification: age gap reviewed by the model risk committee
    owner: dave@example.invalid
    approver: erin@example.invalid
    expires: "2027-06-30"
"""


def _finding(rule: str, subject: str, outcome: str = "fail") -> Finding:
    return Finding(rule_id=rule, severity="high", subject=subject, outcome=outcome, message="m")  # type: ignore[arg-type]


def _apply(tmp_path: Path, today: date):  # type: ignore[no-untyped-def]
    path = tmp_path / "waivers.yaml"
    path.write_text(WAIVERS)
    findings = [
        _finding("AUD-ENV-001", "package:numpy"),
        _finding("AUD-ENV-001", "package:pandas"),
        _finding("AUD-SRC-001", "source"),
        _finding("AUD-ENV-001", "package:scipy", "pass"),
    ]
    return apply_waivers(findings, load_waivers(path), today)


def test_scope_expiry_and_reporting(tmp_path: Path) -> None:
    report = _apply(tmp_path, date(2026, 11, 26))
    outcomes = {(f.rule_id, f.subject): (f.outcome, f.waiver) for f in report.findings}
    assert outcomes[("AUD-ENV-001", "package:numpy")] == ("waived", "numpy-pin")
    assert outcomes[("AUD-ENV-001", "package:pandas")] == ("fail", None)  # the blanket waiver has expired
    assert outcomes[("AUD-SRC-001", "source")] == ("fail", None)  # an unreadable date counts as expired
    assert outcomes[("AUD-ENV-001", "package:scipy")] == ("pass", None)  # passes are never "waived"
    assert outcomes[(WAIVER_RULE, "waiver:old")][0] == "fail"
    assert outcomes[(WAIVER_RULE, "waiver:typo-date")][0] == "fail"
    expired = next(f for f in report.findings if f.subject == "waiver:old")
    assert expired.message == "waiver old for AUD-ENV-001 expired on 2026-01-31: renew it or fix the finding"
    assert (report.used, report.unused, report.expired) == (("numpy-pin",), ("never-used",), ("old", "typo-date"))


def test_the_expiry_day_is_inclusive(tmp_path: Path) -> None:
    assert _apply(tmp_path, date(2026, 12, 31)).used == ("numpy-pin",)
    assert "numpy-pin" in _apply(tmp_path, date(2027, 1, 1)).expired


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace(
                "    approver: bob@example.invalid\n    expires: 2026-12-31", "    expires: 2026-12-31"
            ),
            "waivers.yaml:3: waivers[0].approver: required key is missing",
        ),
        (
            lambda t: t.replace("scope: package:numpy", "scope: package:numpy\n    severity: low"),
            "waivers.yaml:6: waivers[0].severity: unknown key",
        ),
        (
            lambda t: t.replace("numpy is rebuilt in-house with a security patch until 2.2", "ok"),
            "waivers.yaml:6: waivers[0].justification: String should have at least 10 characters",
        ),
    ],
)
def test_misuse_is_one_line_naming_file_line_and_key(tmp_path: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "waivers.yaml"
    path.write_text(edit(WAIVERS))
    with pytest.raises(WaiverError) as info:
        load_waivers(path)
    assert info.value.message == f"{tmp_path}/{message}"

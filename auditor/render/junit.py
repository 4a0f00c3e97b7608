"""JUnit XML (the Ant/Jenkins shape) so CI systems that show test results show the checks.

One testsuite per rule pack, one testcase per finding: the rule is the class, the subject
the test. The document is built with ElementTree, which escapes markup; what it cannot
fix is text XML 1.0 forbids outright (most control characters, lone surrogates, U+FFFE
and U+FFFF), which no escape can carry, so `xml_safe` replaces each such character with
U+FFFD. CR in element text is written as LF, as every XML parser would read it back anyway.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC

from auditor.check.report import CheckReport
from auditor.record.findings import Finding
from auditor.text import plain_value

SUITES_NAME = "auditor check"
WAIVER_SUITE = "waivers"  # findings of rules that are not in a pack, e.g. AUD-WAIVER-EXPIRED
REPLACEMENT = "\ufffd"
_XML_ILLEGAL = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_COUNTED = {
    "fail": "failures",
    "inconclusive": "failures",
    "could_not_evaluate": "errors",
    "waived": "skipped",
    "not_applicable": "skipped",
}


def xml_safe(text: str) -> str:
    """The text with every character XML 1.0 cannot contain replaced by U+FFFD."""
    return _XML_ILLEGAL.sub(REPLACEMENT, text)


def _text(text: str) -> str:
    return xml_safe(text).replace("\r\n", "\n").replace("\r", "\n")


def render_junit(report: CheckReport) -> str:
    suites = _group(report)
    totals: Counter[str] = Counter()
    root = ET.Element("testsuites", name=SUITES_NAME)
    for name, findings in suites.items():
        counts = _counts(findings)
        totals.update(counts)
        root.append(_suite(report, name, findings, counts))
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(totals[key]))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _group(report: CheckReport) -> dict[str, list[Finding]]:
    """Findings by the pack of their rule, packs in the report's order, then the rest."""
    pack_of = {rule.id: rule.pack for rule in report.rules}
    order = [pack.name for pack in report.packs]
    groups: dict[str, list[Finding]] = {}
    for finding in report.findings:
        groups.setdefault(pack_of.get(finding.rule_id, WAIVER_SUITE), []).append(finding)

    def rank(name: str) -> tuple[int, int, str]:
        return (name == WAIVER_SUITE, order.index(name) if name in order else len(order), name)

    return {name: groups[name] for name in sorted(groups, key=rank)}


def _counts(findings: list[Finding]) -> Counter[str]:
    counts: Counter[str] = Counter(tests=len(findings))
    counts.update(_COUNTED[f.outcome] for f in findings if f.outcome in _COUNTED)
    return counts


def _suite(report: CheckReport, name: str, findings: list[Finding], counts: Counter[str]) -> ET.Element:
    suite = ET.Element("testsuite", name=xml_safe(name))
    for key in ("tests", "failures", "errors", "skipped"):
        suite.set(key, str(counts[key]))
    # Ant's schema wants a timestamp without a zone: the check's time, in UTC.
    suite.set("timestamp", report.checked_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    properties = ET.SubElement(suite, "properties")
    for key, value in (
        ("run_id", report.run.run_id),
        ("record_path", report.run.record_path),
        ("record_sha256", report.run.record_sha256),
        ("verdict", report.with_waivers.verdict),
        ("verdict_without_waivers", report.without_waivers.verdict),
        ("exit_code", str(report.with_waivers.exit_code)),
    ):
        ET.SubElement(properties, "property", name=key, value=xml_safe(value))
    for finding in findings:
        suite.append(_case(report, finding))
    return suite


def _case(report: CheckReport, finding: Finding) -> ET.Element:
    case = ET.Element("testcase", classname=xml_safe(finding.rule_id), name=xml_safe(finding.subject))
    message = xml_safe(finding.message)
    if finding.outcome == "fail":
        failure = ET.SubElement(case, "failure", type=finding.severity, message=message)
        failure.text = _text(_details(report, finding))
    elif finding.outcome == "inconclusive":  # not established: a failed test, never a pass or a skip
        failure = ET.SubElement(case, "failure", type="inconclusive", message=message)
        failure.text = _text(_details(report, finding))
    elif finding.outcome == "could_not_evaluate":
        error = ET.SubElement(case, "error", type="could_not_evaluate", message=message)
        error.text = _text(_details(report, finding))
    elif finding.outcome == "waived":
        ET.SubElement(case, "skipped", message=xml_safe(f"waived by {finding.waiver}: {finding.message}"))
    elif finding.outcome == "not_applicable":
        ET.SubElement(case, "skipped", message=xml_safe(f"not applicable: {finding.message}"))
    return case


def _details(report: CheckReport, finding: Finding) -> str:
    lines = [finding.message]
    rule = report.rule(finding.rule_id)
    if rule is not None:
        lines.append(f"remediation: {rule.remediation}")
    lines += [f"{key}: {plain_value(value)}" for key, value in sorted(finding.evidence.items())]
    return "\n".join(lines)

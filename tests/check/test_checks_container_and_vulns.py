"""The image-digest check and the vulnerability check on hand-built evidence."""

from __future__ import annotations

from datetime import date

from auditor.check.checks.interface import CheckContext
from auditor.check.checks.run import IMAGE_PINNED
from auditor.check.checks.vulnerabilities import NO_KNOWN_VULNERABILITIES, VulnParams
from auditor.check.evaluate import _result
from auditor.check.vulns.audit import SourceInfo, VulnAudit
from auditor.check.vulns.osv_local import Advisory, PackageAudit
from auditor.record import RunRecord
from auditor.record.findings import Finding
from auditor.record.models import Container, Distribution, Origin, Packages
from tests.factories import make_record

CTX = CheckContext(today=date(2026, 11, 27))


def _record_with_packages(*packages: tuple[str, str]) -> RunRecord:
    record = make_record()
    dists = tuple(
        Distribution(name=n, version=v, installer="pip", requested=True, install_kind="index", location="/venv")
        for n, v in packages
    )
    env = record.environment.model_copy(update={"packages": Packages(distributions=dists)})
    return record.model_copy(update={"environment": env})


DIGEST = "registry.example/train@sha256:" + "ab" * 32


def _image(record_update: dict[str, object]) -> tuple[str, str]:
    (verdict,) = IMAGE_PINNED.run(make_record().model_copy(update=record_update), IMAGE_PINNED.params(), CTX)
    return verdict.outcome, verdict.message


def test_image_pinned_by_digest_tag_or_not_a_container() -> None:
    assert _image({}) == ("not_applicable", "the run did not use a container")
    assert _image({"container": Container(image_ref=DIGEST, image_id="sha256:" + "cd" * 32)})[0] == "pass"
    outcome, message = _image(
        {
            "container": Container(
                image_ref="python:3.11", repo_digests=("docker.io/library/python@sha256:" + "ef" * 32,)
            )
        }
    )
    assert outcome == "fail" and "'python:3.11' is referenced by a tag" in message and "ef" * 32 in message
    assert _image({"origin": Origin(kind="executed", executor="container")})[0] == "could_not_evaluate"
    image_id = "sha256:" + "cd" * 32
    assert _image({"container": Container(image_ref=image_id, image_id=image_id)}) == ("pass", "image pinned by its id")
    assert _image({"container": Container(image_ref="cdcdcdcdcdcd", image_id=image_id)})[0] == "pass"
    assert _image({"container": Container(image_ref="cdcd", image_id=image_id)})[0] == "fail"  # too short to trust


def _advisory(advisory_id: str, severity: tuple[tuple[str, str], ...] = ()) -> Advisory:
    return Advisory(advisory_id, (), None, "d", ("2.0",), severity, None, None, ())


def _vulns(*audits: PackageAudit, error: str | None = None) -> CheckContext:
    return CheckContext(today=CTX.today, vulns=VulnAudit(SourceInfo(kind="osv-local"), audits, error))


def test_vulnerability_verdicts_and_their_severity() -> None:
    record = make_record()  # one package: numpy 2.1.0
    low = _advisory("PYSEC-LOW", (("CVSS_V3", "CVSS:3.1/AV:L/AC:L/PR:L/UI:R/S:U/C:L/I:N/A:N"),))
    unknown = _advisory("PYSEC-UNKNOWN")
    check = NO_KNOWN_VULNERABILITIES

    (v,) = check.run(record, VulnParams(), _vulns(PackageAudit("numpy", "2.1.0", "vulnerable", (low, unknown), None)))
    assert (v.outcome, v.severity) == ("fail", "high")  # the unknown-severity advisory counts as high
    assert "PYSEC-LOW (low, fixed in 2.0)" in v.message and "PYSEC-UNKNOWN (high" in v.message

    params = VulnParams(min_severity="medium")
    (v,) = check.run(record, params, _vulns(PackageAudit("numpy", "2.1.0", "vulnerable", (low,), None)))
    assert v.outcome == "pass" and "below medium: PYSEC-LOW" in v.message

    (v,) = check.run(record, VulnParams(), _vulns(PackageAudit("numpy", "2.1.0", "not_audited", (), "timeout")))
    assert (v.outcome, v.message) == ("could_not_evaluate", "numpy 2.1.0 was not audited: timeout")

    (v,) = check.run(record, VulnParams(), _vulns())  # the source never answered for numpy
    assert v.outcome == "could_not_evaluate" and "was not sent" in v.message

    (v,) = check.run(record, VulnParams(), CTX)  # no source configured at all
    assert v.outcome == "could_not_evaluate"


def _finding(outcome: str, severity: str) -> Finding:
    return Finding.model_validate(
        {"rule_id": "R-1", "severity": severity, "subject": "s", "outcome": outcome, "message": "m"}
    )


def test_the_exit_code_rule() -> None:
    assert _result([_finding("pass", "high")], "low").exit_code == 0
    assert _result([_finding("fail", "low"), _finding("could_not_evaluate", "high")], "low").exit_code == 1
    assert _result([_finding("fail", "low"), _finding("could_not_evaluate", "high")], "high").exit_code == 3
    assert _result([_finding("could_not_evaluate", "low")], "high").exit_code == 0  # below the bar: reported only


def test_a_source_that_failed_as_a_whole_is_one_finding_listing_its_packages() -> None:
    record = _record_with_packages(("numpy", "2.1.0"), ("pandas", "2.2.0"))
    audits = (
        PackageAudit("numpy", "2.1.0", "not_audited", (), "the OSV endpoint gave no usable answer"),
        PackageAudit("pandas", "2.2.0", "not_audited", (), "the OSV endpoint gave no usable answer"),
    )
    (v,) = NO_KNOWN_VULNERABILITIES.run(record, VulnParams(), _vulns(*audits))
    assert v.outcome == "could_not_evaluate" and v.subject.startswith("source:")
    assert v.message == "none of the 2 packages was audited: the OSV endpoint gave no usable answer"
    assert v.evidence["not_audited"] == "numpy 2.1.0, pandas 2.2.0" and "--advisory-db" in str(v.evidence["remedy"])


def test_packages_not_audited_for_different_reasons_stay_separate() -> None:
    record = _record_with_packages(("numpy", "2.1.0"), ("pandas", "2.2.0"))
    audits = (
        PackageAudit("numpy", "2.1.0", "not_audited", (), "timeout"),
        PackageAudit("pandas", "2.2.0", "not_audited", (), "HTTP 500"),
    )
    verdicts = NO_KNOWN_VULNERABILITIES.run(record, VulnParams(), _vulns(*audits))
    assert [(v.subject, v.message) for v in verdicts] == [
        ("package:numpy", "numpy 2.1.0 was not audited: timeout"),
        ("package:pandas", "pandas 2.2.0 was not audited: HTTP 500"),
    ]

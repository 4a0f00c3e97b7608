"""`auditor check` end to end through the installed CLI: exit codes, settings, waivers, sources."""

from __future__ import annotations

import json
import os
import shutil
import stat
import threading
from pathlib import Path

import pytest

from auditor.record import RunRecord
from auditor.record.io import dump_record
from auditor.record.models import Distribution, Packages
from auditor.store.runs import RunStore
from tests.check.vulns.osv_server import Mode
from tests.check.vulns.test_osv_local import SNAPSHOT
from tests.conftest import CliRunner, base_env
from tests.factories import make_record

PACK = """\
pack: mini
version: 3
description: a small pack for exit-code tests
rules:
  - id: T-RUN-1
    title: run ok
    severity: high
    rationale: r
    remediation: fix the run
    references: [x]
    check: {kind: run_succeeded}
  - id: T-SEED-1
    title: seeds
    severity: low
    rationale: r
    remediation: log a seed
    references: [x]
    check: {kind: seeds_recorded}
"""
VULN_PACK = """\
pack: vulns
version: 1
description: only the vulnerability rule
includes: [default-copy]
rules: []
"""


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (SNAPSHOT / "vulns").is_dir():
        pytest.fail(f"the PyPA advisory snapshot is missing at {SNAPSHOT}")
    return tmp_path_factory.mktemp("auditor-cache")


def _with_packages(record: RunRecord, *packages: tuple[str, str]) -> RunRecord:
    dists = tuple(
        Distribution(name=n, version=v, installer="pip", requested=True, install_kind="index", location="/venv")
        for n, v in packages
    )
    env = record.environment.model_copy(update={"packages": Packages(distributions=dists)})
    return record.model_copy(update={"environment": env})


def _store(tmp_path: Path, record: RunRecord) -> Path:
    store = RunStore.create(tmp_path / "store")
    store.commit(store.begin(record.identity.run_id), record)
    return store.root


def _check(cli: CliRunner, tmp_path: Path, cache: Path | None, *args: str) -> tuple[int, str, str]:
    env = base_env(AUDITOR_CACHE_DIR=str(cache or tmp_path / "cache"))
    done = cli("check", "latest", "--store", str(tmp_path / "store"), *args, cwd=tmp_path, env=env)
    return done.returncode, done.stdout, done.stderr


def test_exit_codes_follow_the_verdict_and_fail_on(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "mini.yaml").write_text(PACK)
    _store(tmp_path, make_record())  # succeeded, but no seed logged (a low-severity failure)
    code, out, err = _check(cli, tmp_path, None, "--policy", "mini.yaml")
    assert code == 1, err
    assert "VERDICT: VIOLATIONS (exit 1); failing: 1 low" in out
    assert ["T-SEED-1", "low", "FAIL", "1", "FAIL", "seeds"] in [line.split() for line in out.splitlines()]
    code, out, _ = _check(cli, tmp_path, None, "--policy", "mini.yaml", "--fail-on", "medium")
    assert code == 0 and "VERDICT: COMPLIANT (exit 0)" in out
    code, _, err = _check(cli, tmp_path, None, "--policy", "mini.yaml", "--fail-on", "severe")
    assert code == 2 and err.strip() == "auditor: error: --fail-on: 'severe' is not one of critical, high, medium, low"


def test_a_failed_run_is_a_violation(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "mini.yaml").write_text(PACK)
    _store(tmp_path, make_record(exit_code=2, status="failed"))
    code, out, _ = _check(cli, tmp_path, None, "--policy", "mini.yaml", "--fail-on", "high", "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["with_waivers"]["verdict"] == "violations"
    (run,) = [f for f in report["findings"] if f["rule_id"] == "T-RUN-1"]
    assert (run["outcome"], run["message"]) == ("fail", "the run failed with exit code 2")


def test_vulnerabilities_from_the_real_advisory_snapshot(cli: CliRunner, tmp_path: Path, cache: Path) -> None:
    record = _with_packages(make_record(), ("Jinja2", "2.10"), ("numpy", "2.1.0"), ("requests", "not-a-version"))
    _store(tmp_path, record)
    code, out, err = _check(cli, tmp_path, cache, "--advisory-db", str(SNAPSHOT), "--format", "json")
    report = json.loads(out)
    vulns = {f["subject"]: f for f in report["findings"] if f["rule_id"] == "AUD-VULN-001"}
    assert vulns["package:Jinja2"]["outcome"] == "fail"
    assert vulns["package:Jinja2"]["severity"] == "high"  # no CVSS vector in either advisory: unknown counts as high
    assert "PYSEC-2019-217" in vulns["package:Jinja2"]["message"]
    assert "PYSEC-2021-66" in vulns["package:Jinja2"]["message"]
    assert vulns["package:numpy"]["outcome"] == "pass"
    assert vulns["package:requests"]["outcome"] == "could_not_evaluate"  # never a pass
    summary = report["vulnerabilities"]
    assert (summary["source"], summary["commit"], summary["date"]) == (
        "osv-local",
        "3ccb612573e2511ab5cad7dafecd838605c80cda",
        "2024-10-10",
    )
    assert summary["stale"] is True and "days old" in err  # the snapshot is from 2024
    jinja = next(p for p in summary["packages"] if p["name"] == "Jinja2")
    assert {a["id"] for a in jinja["advisories"]} == {"PYSEC-2019-217", "PYSEC-2021-66"}
    assert code == 1


def test_an_unusable_source_is_could_not_evaluate_exit_3(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "vuln.yaml").write_text(
        PACK.split("  - id: T-RUN-1")[0]
        + "  - id: T-VULN-1\n    title: v\n    severity: high\n    rationale: r\n    remediation: m\n"
        "    references: [x]\n    check: {kind: no_known_vulnerabilities}\n"
    )
    _store(tmp_path, make_record())
    code, out, err = _check(cli, tmp_path, None, "--policy", "vuln.yaml", "--advisory-db", str(tmp_path / "nope"))
    assert code == 3, out
    assert "VERDICT: COULD NOT EVALUATE (exit 3)" in out
    assert "auditor: vulnerability source failed:" in err and "nope" in err
    closed = "http://127.0.0.1:9/v1/query"  # the discard port: nothing listens there
    code, out, err = _check(cli, tmp_path, None, "--policy", "vuln.yaml", "--vuln-source", "osv", "--osv-url", closed)
    assert code == 3, out
    assert "vulnerability source failed: the OSV endpoint http://127.0.0.1:9/v1/query failed the canary" in err


ONLY_VULNS = PACK.split("  - id: T-RUN-1")[0] + (
    "  - id: T-VULN-1\n    title: v\n    severity: high\n    rationale: r\n    remediation: m\n"
    "    references: [x]\n    check: {kind: no_known_vulnerabilities}\n"
)
CLEAN_PINS = (("Jinja2", "3.1.4"), ("numpy", "2.1.0"), ("auditor-no-such-package", "1.0"))  # clean in the snapshot


def _broken_snapshot(tmp_path: Path, how: str) -> Path:
    """A real database made partial or damaged the ways a copy goes wrong."""
    root = tmp_path / "db"
    if how == "one package only":
        shutil.copytree(SNAPSHOT / "vulns" / "jinja2", root / "vulns" / "jinja2")
        return root
    shutil.copytree(SNAPSHOT, root)
    numpy = sorted((root / "vulns" / "numpy").iterdir())[0]
    if how == "corrupt YAML":
        numpy.write_text("id: PYSEC-X\naffected: [unclosed\n")  # the count still matches
    else:
        numpy.unlink()  # "count mismatch"
    return root


@pytest.mark.parametrize(
    ("how", "warning", "reason"),
    [
        ("one package only", "declares no coverage", "declares no coverage"),
        ("corrupt YAML", None, "advisory file vulns/numpy/"),
        ("count mismatch", "does not match SNAPSHOT.txt", "does not match SNAPSHOT.txt"),
    ],
)
def test_a_partial_or_damaged_database_is_exit_3_never_0(
    cli: CliRunner, tmp_path: Path, how: str, warning: str | None, reason: str
) -> None:
    (tmp_path / "vuln.yaml").write_text(ONLY_VULNS)
    _store(tmp_path, _with_packages(make_record(), *CLEAN_PINS))
    code, out, err = _check(
        cli, tmp_path, None, "--policy", "vuln.yaml", "--advisory-db", str(_broken_snapshot(tmp_path, how))
    )
    assert code == 3, out
    assert "VERDICT: COULD NOT EVALUATE (exit 3)" in out
    # A database that fails every package for one cause gives one finding, the cause stated once.
    subject = "package:numpy" if how == "corrupt YAML" else "source:osv-local"
    numpy = next(line for line in out.splitlines() if subject in line)
    assert "COULD NOT EVALUATE" in numpy and reason in out, numpy
    if warning:  # the terminal sees it even though the report went to stdout
        assert f"auditor: warning: vulnerability source {tmp_path / 'db'}: the advisory database {warning}" in err
        assert f"vulns     incomplete: {warning}" in out
    code, out, _ = _check(
        cli, tmp_path, None, "--policy", "vuln.yaml", "--advisory-db", str(tmp_path / "db"), "--format", "json"
    )
    report = json.loads(out)
    assert code == 3
    numpy_result = next(p for p in report["vulnerabilities"]["packages"] if p["name"] == "numpy")
    assert numpy_result["status"] == "not_audited" and reason in numpy_result["reason"]


@pytest.mark.parametrize("mode", ["empty_object", "empty_list", "no_affected", "other_package"])
def test_a_lying_osv_endpoint_is_exit_3_never_0(cli: CliRunner, tmp_path: Path, cache: Path, mode: Mode) -> None:
    from tests.check.vulns.osv_server import serve_osv

    (tmp_path / "vuln.yaml").write_text(ONLY_VULNS)
    _store(tmp_path, _with_packages(make_record(), *CLEAN_PINS))
    with serve_osv(SNAPSHOT, cache) as server:
        server.mode = mode
        code, out, err = _check(
            cli, tmp_path, cache, "--policy", "vuln.yaml", "--vuln-source", "osv", "--osv-url", server.url
        )
    assert code == 3, out
    assert f"auditor: vulnerability source failed: the OSV endpoint {server.url} failed the canary" in err


def test_waivers_scope_expiry_and_both_verdicts(cli: CliRunner, tmp_path: Path, cache: Path) -> None:
    _store(tmp_path, _with_packages(make_record(), ("jinja2", "2.10")))
    (tmp_path / "only-vulns.yaml").write_text(
        "pack: only-vulns\nversion: 1\ndescription: d\nrules:\n  - id: T-VULN-1\n    title: v\n    severity: critical\n"
        "    rationale: r\n    remediation: m\n    references: [x]\n    check: {kind: no_known_vulnerabilities}\n"
    )
    waiver = (
        "  - id: {id}\n    rule: T-VULN-1\n    scope: '{scope}'\n    justification: sandbox not reachable in our use\n"
        "    owner: alice\n    approver: bob\n    expires: '{expires}'\n"
    )
    (tmp_path / "waivers.yaml").write_text(
        "version: 1\nwaivers:\n"
        + waiver.format(id="W-1", scope="package:jinja2", expires="2099-12-31")
        + waiver.format(id="W-2", scope="package:numpy", expires="2099-12-31")
        + waiver.format(id="W-OLD", scope="package:flask", expires="2026-11-26")
    )
    args = ("--policy", "only-vulns.yaml", "--advisory-db", str(SNAPSHOT), "--waivers", "waivers.yaml")
    code, out, _ = _check(cli, tmp_path, cache, *args, "--format", "json")
    report = json.loads(out)
    (jinja,) = [f for f in report["findings"] if f["subject"] == "package:jinja2"]
    assert (jinja["outcome"], jinja["waiver"]) == ("waived", "W-1")
    assert report["without_waivers"]["verdict"] == "violations"
    (expired,) = [f for f in report["findings"] if f["rule_id"] == "AUD-WAIVER-EXPIRED"]
    assert expired["subject"] == "waiver:W-OLD" and "expired on 2026-11-26" in expired["message"]
    assert report["waivers"]["unused"] == ["W-2"] and report["waivers"]["expired"] == ["W-OLD"]
    assert code == 1  # the expired waiver fails loudly
    (tmp_path / "waivers.yaml").write_text(
        "version: 1\nwaivers:\n" + waiver.format(id="W-1", scope="package:jinja2", expires="2099-12-31")
    )
    code, out, _ = _check(cli, tmp_path, cache, *args)
    assert code == 0, out
    assert "VERDICT: COMPLIANT (exit 0)" in out and "without waivers: VIOLATIONS (exit 1)" in out
    (tmp_path / "waivers.yaml").write_text("version: 1\nwaivers:\n  - id: W-1\n    rule: T-VULN-1\n")
    code, _, err = _check(cli, tmp_path, cache, *args)
    assert code == 2
    assert (
        err.startswith("auditor: error: ")
        and "waivers.yaml:3: waivers[0].justification: required key is missing" in err
        and len(err.strip().splitlines()) == 1
    )


def test_project_policy_in_auditor_yaml_with_overrides(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "mini.yaml").write_text(PACK)
    _store(tmp_path, make_record())
    spec = (
        "version: 1\nproject: {name: demo}\npolicy:\n  packs: [mini.yaml]\n  fail_on: low\n  overrides:\n"
        "    T-SEED-1:\n      params: {names: '^seed_x$'}\n      severity: medium\n"
        "      reason: our seeds are all called seed_x by convention\n"
    )
    (tmp_path / "auditor.yaml").write_text(spec)
    code, out, _ = _check(cli, tmp_path, None, "--format", "json")
    report = json.loads(out)
    assert code == 1
    (seed,) = [r for r in report["rules"] if r["id"] == "T-SEED-1"]
    assert seed["severity"] == "medium"
    (override,) = report["overrides"]
    assert override["changed"] == {"params.names": "^seed_x$", "severity": "medium"}
    # unlocated findings point at the record (in the repository here), not at a line of auditor.yaml
    assert report["location"] == "store/runs/01JGZ0000000000000000000AA/record.json"
    (tmp_path / "auditor.yaml").write_text(spec.replace("T-SEED-1:", "T-NOPE-1:"))
    code, _, err = _check(cli, tmp_path, None)
    assert code == 2 and "overrides.T-NOPE-1: no rule with this id in the selected packs" in err
    (tmp_path / "auditor.yaml").write_text(spec.replace("names: '^seed_x$'", "colour: blue"))
    code, _, err = _check(cli, tmp_path, None)
    assert code == 2 and "overrides.T-SEED-1.params.colour: unknown parameter" in err


def test_pack_overrides_and_diamond_includes(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "mini.yaml").write_text(PACK)
    (tmp_path / "strict.yaml").write_text(
        "pack: strict\nversion: 1\ndescription: d\nincludes: [mini]\noverrides:\n"
        "  T-SEED-1: {severity: critical, reason: seeds are mandatory for our regulator}\n"
    )
    _store(tmp_path, make_record())
    code, out, _ = _check(cli, tmp_path, None, "--policy", "mini.yaml", "--policy", "strict.yaml", "--fail-on", "high")
    assert code == 1, out
    assert ["T-SEED-1", "critical", "FAIL", "1", "FAIL", "seeds"] in [line.split() for line in out.splitlines()]
    assert "override  T-SEED-1: severity = critical (seeds are mandatory for our regulator)" in out


def test_bad_input_is_one_line_exit_2(cli: CliRunner, tmp_path: Path) -> None:
    _store(tmp_path, make_record())
    cases = {
        ("--format", "yaml"): "auditor: error: --format: 'yaml' is not one of text, json, sarif, sarif-all, junit, "
        "github, codequality",
        ("--policy", "nope"): "auditor: error: unknown rule pack 'nope' (shipped: default, eu-ai-act; or give a file)",
        ("--vuln-source", "local"): "auditor: error: --vuln-source local needs --advisory-db DIR",
    }
    for args, message in cases.items():
        code, _, err = _check(cli, tmp_path, None, *args)
        assert code == 2 and err.startswith(message) and len(err.strip().splitlines()) == 1, (args, err)
    record = next((tmp_path / "store" / "runs").iterdir()) / "record.json"
    record.write_text('{"schema_version": "1.2", "kind": "auditor.run-record", "identity": 7}')
    code, _, err = _check(cli, tmp_path, None)
    assert code == 4 and err.startswith(f"auditor: error: {record}: changed since auditor recorded it: its sha256")
    loose = tmp_path / "edited.json"
    loose.write_bytes(record.read_bytes())
    done = cli("check", "edited.json", cwd=tmp_path, env=base_env(AUDITOR_CACHE_DIR=str(tmp_path / "cache")))
    assert done.returncode == 2 and f"{loose}: field identity" in done.stderr


def test_a_record_file_and_an_output_file(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "mini.yaml").write_text(PACK)
    record = tmp_path / "exported.json"
    record.write_bytes(dump_record(make_record(exit_code=0)))
    out = tmp_path / "reports" / "check.sarif"
    out.parent.mkdir()
    env = base_env(AUDITOR_CACHE_DIR=str(tmp_path / "cache"))
    done = cli(
        "check", "exported.json", "--policy", "mini.yaml", "--format", "sarif", "-o", str(out), cwd=tmp_path, env=env
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip().endswith("auditor: verdict: violations (exit 1)")
    sarif = json.loads(out.read_text())
    assert sarif["version"] == "2.1.0"
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]}
    assert uris == {"exported.json"}


def test_an_osv_mirror_through_the_cli(cli: CliRunner, tmp_path: Path, cache: Path) -> None:
    """`--vuln-source osv --osv-url` with pip-audit against a loopback OSV API serving the real snapshot."""
    from tests.check.vulns.osv_server import serve_osv

    _store(tmp_path, _with_packages(make_record(), ("jinja2", "2.10"), ("numpy", "2.1.0")))
    with serve_osv(SNAPSHOT, cache) as server:
        code, out, err = _check(
            cli, tmp_path, cache, "--vuln-source", "osv", "--osv-url", server.url, "--format", "json"
        )
        asked = sorted(server.queries)
    report = json.loads(out)
    assert code == 1, err
    assert asked == [("jinja2", "2.10"), ("numpy", "2.1.0")]  # the mirror was asked, nothing else
    summary = report["vulnerabilities"]
    assert (summary["source"], summary["location"]) == ("osv-api", server.url)
    jinja = next(p for p in summary["packages"] if p["name"] == "jinja2")
    assert {a["id"] for a in jinja["advisories"]} == {"PYSEC-2019-217", "PYSEC-2021-66"}
    numpy = next(p for p in summary["packages"] if p["name"] == "numpy")
    assert numpy["status"] == "clean"


def test_output_to_a_device_writes_into_it(cli: CliRunner, tmp_path: Path) -> None:
    """`-o /dev/null` (or a FIFO) must be written into, never renamed over: as root that replaced /dev/null."""
    (tmp_path / "mini.yaml").write_text(PACK)
    _store(tmp_path, make_record())
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    code, _, err = _check(cli, tmp_path, None, "--policy", "mini.yaml", "--format", "json", "-o", str(fifo))
    reader.join(timeout=30)
    assert code == 1, err
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # still a pipe, not a regular file
    assert json.loads(got[0])["kind"] == "auditor.check-report"
    code, _, err = _check(cli, tmp_path, None, "--policy", "mini.yaml", "-o", str(tmp_path))
    assert code == 2 and err.strip() == f"auditor: error: {tmp_path}: is a folder, not a file"


def test_a_waiver_for_one_of_two_advisories_says_it_covers_part(cli: CliRunner, tmp_path: Path, cache: Path) -> None:
    """Jinja2 2.10 fails on two advisories; a waiver naming one leaves it failing, and must not be called unused."""
    _store(tmp_path, _with_packages(make_record(), ("Jinja2", "2.10")))  # installed as Jinja2, waived as jinja2
    (tmp_path / "vuln.yaml").write_text(ONLY_VULNS)
    waiver = (
        "version: 1\nwaivers:\n  - id: W-1\n    rule: T-VULN-1\n    scope: package:jinja2\n"
        "    justification: the sandbox escape needs untrusted templates\n    owner: alice\n    approver: bob\n"
        "    expires: '2099-12-31'\n    advisories: [{ids}]\n"
    )
    (tmp_path / "waivers.yaml").write_text(waiver.format(ids="PYSEC-2019-217"))
    args = ("--policy", "vuln.yaml", "--advisory-db", str(SNAPSHOT), "--waivers", "waivers.yaml", "--format", "json")
    code, out, err = _check(cli, tmp_path, cache, *args)
    report = json.loads(out)
    assert code == 1, err
    assert report["waivers"]["unused"] == [] and report["waivers"]["partial"] == ["W-1"]
    assert not [w for w in report["warnings"] if "matched no finding" in w]
    assert (
        "waiver W-1 covers only part of package:Jinja2 (T-VULN-1): it accepts PYSEC-2019-217, but the finding also"
        " fails on PYSEC-2021-66, so it still fails" in err
    )
    (tmp_path / "waivers.yaml").write_text(waiver.format(ids="PYSEC-2019-217, PYSEC-2021-66"))
    code, out, err = _check(cli, tmp_path, cache, *args)
    assert code == 0, err
    (jinja,) = [f for f in json.loads(out)["findings"] if f["subject"] == "package:Jinja2"]
    assert (jinja["outcome"], jinja["waiver"]) == ("waived", "W-1")

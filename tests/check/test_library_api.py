"""The library API: `auditor.load_record` and `auditor.check(record, policy=...)`, as documented."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import auditor
from auditor.check.report import CheckReport
from auditor.errors import AuditorError, InvalidRecordError, RunNotFoundError
from auditor.record.models import RunRecord
from tests.conftest import CliRunner


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import AUDITOR, base_env

    folder = tmp_path_factory.mktemp("library")
    done = subprocess.run(
        [str(AUDITOR), "run", "--", sys.executable, "-c", "print('trained')"],
        cwd=folder,
        env=base_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return folder / ".auditor"


def test_load_record_from_the_store_and_from_a_file(store: Path) -> None:
    record = auditor.load_record("latest", store=store)
    assert isinstance(record, RunRecord) and record.identity.status == "succeeded"
    path = store / "runs" / record.identity.run_id / "record.json"
    assert auditor.load_record(path) == record
    assert auditor.load_record(str(path)) == record
    assert auditor.load_record(record.identity.run_id[:10], store=store) == record


def test_load_record_errors_carry_the_cli_exit_code(store: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"kind": "auditor.run-record"')
    with pytest.raises(InvalidRecordError) as caught:
        auditor.load_record(broken)
    assert caught.value.exit_code == 2 and str(broken) in caught.value.message
    with pytest.raises(RunNotFoundError):
        auditor.load_record("no-such-run", store=store)


def test_check_a_loaded_record_gives_what_the_cli_gives(store: Path, cli: CliRunner, tmp_path: Path) -> None:
    record = auditor.load_record("latest", store=store)
    report = auditor.check(record, policy="default")
    assert isinstance(report, CheckReport)
    done = cli("check", "latest", "--store", str(store), "--policy", "default", "--format", "json", cwd=tmp_path)
    from_cli = json.loads(done.stdout)
    assert done.returncode == report.with_waivers.exit_code
    assert [(f.rule_id, f.outcome) for f in report.findings] == [
        (f["rule_id"], f["outcome"]) for f in from_cli["findings"]
    ]
    assert report.run.record_sha256 == from_cli["run"]["record_sha256"]  # the digest of the stored bytes


def test_check_by_reference_and_with_several_packs(store: Path, tmp_path: Path) -> None:
    report = auditor.check("latest", store=store, policy=["default", "eu-ai-act"], fail_on="critical")
    assert [Path(p.file).name for p in report.packs] == ["default.yaml", "eu-ai-act.yaml"]
    assert report.fail_on == "critical"
    with pytest.raises(AuditorError) as caught:
        auditor.check("latest", store=store, policy="no-such-pack")
    assert caught.value.exit_code == 2


def test_auditor_check_stays_callable_whatever_was_imported_first() -> None:
    """`auditor.check` is also the policy package's name: importing its modules must not break the call."""
    code = (
        "import auditor, auditor.check.report as r, auditor.check.evaluate\n"
        "print(callable(auditor.check), r.CheckReport.__name__, auditor.check.report is r)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "CheckReport", "True"]


def test_the_readme_example_runs(store: Path, tmp_path: Path) -> None:
    from tests.readme import snippet

    (tmp_path / ".auditor").symlink_to(store)
    done = subprocess.run(
        [sys.executable, "-c", snippet("library-api")], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[0] in ("compliant", "violations", "could_not_evaluate", "inconclusive")
    assert any(line.startswith("AUD-") for line in lines[1:])

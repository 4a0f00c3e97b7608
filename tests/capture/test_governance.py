"""auditor.yaml's governance section is kept in the run record at capture: the dossier describes the
run as recorded, not the project's auditor.yaml of today."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import FIXTURES, CliRunner, base_env

SPEC = """\
version: 1
project:
  name: governed
  intended_use: Score applicants for a human underwriter's review.
governance:
  provider: Acme Lending GmbH, Berlin
  system_version: "2.1"
  risk_tier: high-risk
  risk_tier_reference: Annex III point 5(b)
  standards: [ISO/IEC 42001:2023]
  not_applicable: {1(f): not part of a product}
"""


def _records(root: Path) -> list[dict]:  # type: ignore[type-arg]
    runs = sorted((root / ".auditor" / "runs").iterdir())
    return [json.loads((run / "record.json").read_text()) for run in runs]


def test_the_record_keeps_the_governance_section_as_declared_at_capture(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "auditor.yaml").write_text(SPEC)
    done = cli("run", "--", "true", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (tmp_path / "auditor.yaml").write_text(SPEC.replace("Acme Lending GmbH", "Someone Else"))
    (record,) = _records(tmp_path)
    assert record["governance"] == {
        "state": "declared",
        "provider": "Acme Lending GmbH, Berlin",
        "system_version": "2.1",
        "risk_tier": "high-risk",
        "risk_tier_reference": "Annex III point 5(b)",
        "standards": ["ISO/IEC 42001:2023"],
        "not_applicable": {"1(f)": "not part of a product"},
        **{k: v for k, v in record["governance"].items() if v in (None, [], {})},
    }
    env = base_env(AUDITOR_ADVISORY_DB=str(FIXTURES / "advisories" / "small"), AUDITOR_CACHE_DIR=str(tmp_path / "c"))
    report = cli("report", "latest", "--format", "html", "-o", str(tmp_path / "out"), cwd=tmp_path, env=env)
    assert report.returncode == 0, report.stderr
    html = next((tmp_path / "out").glob("*.html")).read_text()
    assert "Acme Lending GmbH, Berlin" in html and "Someone Else" not in html


def test_no_governance_section_is_recorded_as_missing_with_why(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "auditor.yaml").write_text("version: 1\nproject: {name: plain}\n")
    assert cli("run", "--", "true", cwd=tmp_path).returncode == 0
    (tmp_path / "auditor.yaml").unlink()
    assert cli("run", "--", "true", cwd=tmp_path).returncode == 0
    reasons = [r["governance"] for r in _records(tmp_path)]
    assert reasons == [
        {"state": "missing", "reason": "auditor.yaml has no governance section"},
        {"state": "missing", "reason": "no auditor.yaml in the project: no governance section declared"},
    ]

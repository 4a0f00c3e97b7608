from __future__ import annotations

from pathlib import Path

from tests.conftest import REPO, CliRunner


def test_rules_list_explain_validate(cli: CliRunner, tmp_path: Path) -> None:
    listed = cli("rules", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("pack default (version 1): 16 rules")
    assert any(
        line.split()[:3] == ["AUD-FAIR-002", "high", "fairness_threshold"] for line in listed.stdout.splitlines()
    )
    explained = cli("rules", "explain", "aud-fair-002", cwd=tmp_path)
    assert explained.returncode == 0
    for part in ("parameter    min = 0.8", "Why it matters", "not the right threshold", "EU AI Act Art. 10(2)(f)"):
        assert part in explained.stdout
    assert "max = None" not in explained.stdout
    valid = cli("rules", "validate", str(REPO / "rules" / "default.yaml"), cwd=tmp_path)
    assert valid.returncode == 0 and "valid pack default (version 1), 16 rules" in valid.stdout


def test_rules_errors_are_one_line_exit_2(cli: CliRunner, tmp_path: Path) -> None:
    unknown = cli("rules", "explain", "AUD-NOPE-1", cwd=tmp_path)
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == "auditor: error: no rule 'AUD-NOPE-1' in pack default (see `auditor rules list`)"
    bad = tmp_path / "bad.yaml"
    bad.write_text("pack: bad\nversion: 1\ndescription: d\nrules:\n  - id: X-1\n    title: t\n")
    done = cli("rules", "validate", str(bad), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"auditor: error: {bad}:5: rules[0].severity: required key is missing"]


def test_rules_validate_checks_every_file_it_is_given(cli: CliRunner, tmp_path: Path) -> None:
    """As a pre-commit hook passes them: one line per file, exit 2 when any is invalid."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("pack: bad\nversion: 1\ndescription: d\nrules:\n  - id: X-1\n    title: t\n")
    good = REPO / "rules" / "default.yaml"
    done = cli("rules", "validate", str(bad), str(good), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"auditor: error: {bad}:5: rules[0].severity: required key is missing"]
    assert done.stdout.strip() == f"{good}: valid pack default (version 1), 16 rules"
    both = cli("rules", "validate", str(good), str(good), cwd=tmp_path)
    assert both.returncode == 0 and len(both.stdout.splitlines()) == 2

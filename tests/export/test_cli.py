"""`auditor export`: where it writes, and one line with exit 2 for every mistake."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import CliRunner, base_env
from tests.export.conftest import Captured, export


def test_output_to_a_file_or_stdout(cli: CliRunner, sample: Captured, tmp_path: Path) -> None:
    out = tmp_path / "bom.json"
    done = cli("export", "latest", "--format", "cyclonedx", "-o", str(out), "--store", str(sample.store), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and json.loads(out.read_text())["bomFormat"] == "CycloneDX"
    dash = export(cli, sample, "cyclonedx", "-o", "-")
    assert json.loads(dash)["bomFormat"] == "CycloneDX" and not (sample.folder / "-").exists()


def test_the_environment_gives_every_option(cli: CliRunner, sample: Captured, tmp_path: Path) -> None:
    out = tmp_path / "prov.json"
    env = base_env(AUDITOR_STORE=str(sample.store), AUDITOR_EXPORT_FORMAT="prov", AUDITOR_EXPORT_OUTPUT=str(out))
    done = cli("export", sample.run_id[:12], cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert "prefix" in json.loads(out.read_text())


def test_mistakes_are_one_line_and_exit_2(cli: CliRunner, sample: Captured, tmp_path: Path) -> None:
    store = ("--store", str(sample.store))
    cases = {
        (
            "export",
            "latest",
            "--format",
            "sbom",
            *store,
        ): "--format: 'sbom' is not one of cyclonedx, spdx, prov, openlineage",
        ("export", "latest", *store): "--format: give one of cyclonedx, spdx, prov, openlineage",
        ("export", "01NOPE", "--format", "prov", *store): "no run matches '01NOPE'",
        ("export", "latest", "--format", "prov", "-o", str(tmp_path), *store): "is a folder, not a file",
    }
    for args, message in cases.items():
        done = cli(*args, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        lines = done.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("auditor: error: ") and message in lines[0], done.stderr
        assert done.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing half-written


def test_help_lists_the_formats_and_the_variables(cli: CliRunner, tmp_path: Path) -> None:
    done = cli("export", "--help", cwd=tmp_path, env=base_env(COLUMNS="200"))
    assert done.returncode == 0
    assert "cyclonedx|spdx|prov|openlineage" in done.stdout
    assert "AUDITOR_EXPORT_FORMAT" in done.stdout and "AUDITOR_EXPORT_OUTPUT" in done.stdout


def test_a_missing_library_of_the_extra_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the export extra's library (import of it fails), the format says how to install it."""
    from auditor.errors import UsageError
    from auditor.export import EXPORT_FORMATS
    from auditor.export.facts import Export
    from tests.factories import make_record

    monkeypatch.setitem(sys.modules, "prov", None)  # what `import prov` meets when it is not installed
    with pytest.raises(UsageError) as raised:
        EXPORT_FORMATS["prov"].render(Export(record=make_record(), now=datetime.now(UTC)))
    assert raised.value.exit_code == 2 and "\n" not in raised.value.message
    assert raised.value.message == (
        "the PROV export needs the export extra, which is not installed: pip install 'auditor[export]'"
    )


def test_the_commands_choices_are_the_registry() -> None:
    from auditor.cli.export import EXPORT_CHOICES
    from auditor.export import EXPORT_FORMATS

    assert tuple(EXPORT_FORMATS) == EXPORT_CHOICES

"""`auditor runs`, `show` and `schema`, and what they do with bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.record.schema import committed_schema_text
from tests.conftest import CliRunner, store_snapshot


@pytest.fixture
def populated(cli: CliRunner, tmp_path: Path) -> Path:
    for code in (0, 3):
        cli("run", "--name", f"exit-{code}", "--", "sh", "-c", f"echo run {code}; exit {code}", cwd=tmp_path)
    return tmp_path


def _ids(store: Path) -> list[str]:
    return sorted(p.name for p in (store / "runs").iterdir())


def test_runs_lists_a_table(cli: CliRunner, populated: Path) -> None:
    done = cli("runs", cwd=populated)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:3] == ["RUN", "STARTED", "(UTC)"]
    first, second = _ids(populated / ".auditor")
    assert lines[1].startswith(first) and "succeeded" in lines[1] and "exit-0" in lines[1]
    assert lines[2].startswith(second) and "failed" in lines[2] and "exit-3" in lines[2]
    as_json = [json.loads(line) for line in cli("runs", "--json", cwd=populated).stdout.splitlines()]
    assert [r["run_id"] for r in as_json] == [first, second]


def test_show_summary_and_json(cli: CliRunner, populated: Path) -> None:
    latest = _ids(populated / ".auditor")[-1]
    done = cli("show", "latest", cwd=populated)
    assert done.returncode == 0, done.stderr
    for expected in (
        f"Run {latest}  (failed, exit 3)",
        "Source",
        "not a git repository",
        "Environment",
        "Hardware",
        "no GPU detected",
        "Resources",
        "Outputs",
        "record      sha256:",
    ):
        assert expected in done.stdout
    raw = cli("show", latest[:20], "--json", cwd=populated).stdout
    assert json.loads(raw)["identity"]["run_id"] == latest
    assert raw.encode() == (populated / ".auditor" / "runs" / latest / "record.json").read_bytes()


def test_unknown_and_ambiguous_runs(cli: CliRunner, populated: Path) -> None:
    done = cli("show", "nope", cwd=populated)
    assert done.returncode == 2
    assert done.stderr.startswith("auditor: error: no run matches 'nope'") and "most recent" in done.stderr
    done = cli("show", "0", cwd=populated)
    assert done.returncode == 2 and "is ambiguous: 2 runs match" in done.stderr


def test_no_store_here(cli: CliRunner, tmp_path: Path) -> None:
    done = cli("runs", cwd=tmp_path)
    assert done.returncode == 2
    assert (
        done.stderr.strip() == f"auditor: error: {tmp_path / '.auditor'}: no run store here "
        "(run `auditor run` first, or pass --store)"
    )


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d["identity"].update(exit_code="zero"), "field identity.exit_code: Input should be a valid integer"),
        (lambda d: d.update(schema_version="7.0"), "field schema_version: unsupported version '7.0'"),
        (lambda d: d["hardware"].pop("cpu"), "field hardware.cpu: Field required"),
    ],
)
def test_hand_edited_record_gives_one_line_and_leaves_the_store_alone(
    cli: CliRunner,
    populated: Path,
    edit,
    field: str,  # type: ignore[no-untyped-def]
) -> None:
    """In the store, an edited record is no longer the one auditor committed: refused, whatever the
    edit. As a loose file it is read, and the line names the field."""
    store = populated / ".auditor"
    target = store / "runs" / _ids(store)[0] / "record.json"
    data = json.loads(target.read_text())
    edit(data)
    target.write_text(json.dumps(data))
    loose = populated / "edited.json"
    loose.write_text(json.dumps(data))
    before = store_snapshot(store)
    for args, expected, code in (
        (("show", _ids(store)[0]), f"{target}: changed since auditor recorded it: its sha256 is ", 4),
        (("runs",), f"{target}: changed since auditor recorded it: its sha256 is ", 4),
        (("check", "edited.json"), f"{loose}: {field}", 2),
    ):
        done = cli(*args, cwd=populated)
        assert done.returncode == code
        error_lines = [line for line in done.stderr.splitlines() if line.startswith("auditor: error:")]
        assert len(error_lines) == 1, done.stderr
        assert error_lines[0].startswith(f"auditor: error: {expected}"), done.stderr
        assert "Traceback" not in done.stderr
    assert store_snapshot(store) == before


def test_truncated_record(cli: CliRunner, populated: Path) -> None:
    store = populated / ".auditor"
    target = store / "runs" / _ids(store)[0] / "record.json"
    (populated / "cut.json").write_bytes(target.read_bytes()[:100])
    target.write_bytes(target.read_bytes()[:100])
    done = cli("show", _ids(store)[0], cwd=populated)
    assert done.returncode == 4
    assert done.stderr.startswith(f"auditor: error: {target}: changed since auditor recorded it: its sha256 is ")
    done = cli("check", "cut.json", cwd=populated)
    assert done.returncode == 2
    assert done.stderr.startswith(f"auditor: error: {populated / 'cut.json'}: not valid JSON (line ")


def test_schema_command_prints_the_committed_schema(cli: CliRunner, tmp_path: Path) -> None:
    done = cli("schema", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout == committed_schema_text()


def test_usage_errors_exit_2(cli: CliRunner, tmp_path: Path) -> None:
    assert cli("run", cwd=tmp_path).returncode == 2
    assert cli("frobnicate", cwd=tmp_path).returncode == 2
    assert cli("show", cwd=tmp_path).returncode == 2
    assert cli("--version", cwd=tmp_path).stdout.startswith("auditor ")


def test_terminal_control_characters_are_escaped(cli: CliRunner, tmp_path: Path) -> None:
    cli("run", "--name", "evil\x1b]0;pwned\x07name", "--", "true", cwd=tmp_path)
    out = cli("runs", cwd=tmp_path).stdout + cli("show", "latest", cwd=tmp_path).stdout
    assert "\x1b" not in out and "\x07" not in out
    assert "evil\\x1b]0;pwned\\x07name" in out

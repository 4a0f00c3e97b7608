"""The tamper-evident store through the real CLI: a record or log changed by hand is refused with
one line and exit 4 by every reader, and the log's heads expose a rewritten log."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from auditor.store.log import build
from auditor.store.runs import record_entry
from tests.conftest import AUDITOR, FIXTURES, REPO, CliRunner, base_env, git, store_snapshot

SMALL_DB = FIXTURES / "advisories" / "small"
VULNS = ("--vuln-source", "local", "--advisory-db", str(SMALL_DB))


@pytest.fixture
def project(cli: CliRunner, git_repo: Path) -> Path:
    """Two real runs in a git repository; the second with uncommitted changes (dirty)."""
    assert cli("run", "--", "python3", "train.py", cwd=git_repo).returncode == 0
    (git_repo / "train.py").write_text("print('training, changed')\n")
    assert cli("run", "--", "python3", "train.py", cwd=git_repo).returncode == 0
    return git_repo


def run_ids(root: Path) -> list[str]:
    return sorted(p.name for p in (root / ".auditor" / "runs").iterdir())


def record(root: Path, run_id: str) -> Path:
    return root / ".auditor" / "runs" / run_id / "record.json"


def errors(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith("auditor: error:")]


def readers(cli: CliRunner, root: Path, run_id: str) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every command that reads a stored run, on run_id; none of them may write a thing."""
    env = base_env(AUDITOR_CACHE_DIR=str(root.parent / "cache"))
    out = root.parent / "dossier"
    return {
        "show": cli("show", run_id, cwd=root, env=env),
        "runs": cli("runs", cwd=root, env=env),
        "check": cli("check", run_id, *VULNS, "--format", "json", cwd=root, env=env),
        "report": cli("report", run_id, *VULNS, "--format", "html", "-o", str(out), cwd=root, env=env),
        "reproduce": cli("reproduce", run_id, cwd=root, env=env),
    }


def assert_refused(cli: CliRunner, root: Path, run_id: str, message: str) -> None:
    before = store_snapshot(root / ".auditor")
    for command, done in readers(cli, root, run_id).items():
        assert done.returncode == 4, (command, done.stderr)
        [line] = errors(done)  # one line, naming the file and why
        assert line.startswith(f"auditor: error: {message}"), (command, done.stderr)
        assert "Traceback" not in done.stderr, command
        if command != "runs":  # `runs` goes on listing the runs that verify
            assert done.stdout == "", command
    assert not (root.parent / "dossier").exists()  # no dossier from such a record
    assert store_snapshot(root / ".auditor") == before  # and nothing written, nothing re-run


def test_the_clean_commit_forgery_is_refused_everywhere(cli: CliRunner, project: Path) -> None:
    """A record edited by hand to claim a clean git commit: refused with one line, exit 4, no verdict."""
    dirty = run_ids(project)[1]
    path = record(project, dirty)
    data = json.loads(path.read_bytes())
    assert data["source"]["dirty"] is True
    data["source"].update(dirty=False, diff_sha256=None)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    assert_refused(
        cli,
        project,
        dirty,
        f"{path}: changed since auditor recorded it: its sha256 is {actual}, the store's log holds ",
    )
    done = cli("log", "verify", cwd=project)
    assert done.returncode == 4 and len(errors(done)) == 1
    assert errors(done)[0].startswith(
        f"auditor: error: {path}: changed since auditor recorded it: its sha256 is {actual}"
    )
    assert cli("show", run_ids(project)[0], cwd=project).returncode == 0  # the other run is untouched


def test_a_record_replaced_by_another_runs_record_is_refused(cli: CliRunner, project: Path) -> None:
    first, second = run_ids(project)
    shutil.copyfile(record(project, first), record(project, second))
    assert_refused(
        cli, project, second, f"{record(project, second)}: changed since auditor recorded it: its sha256 is "
    )


def test_an_edited_entry_line_is_refused(cli: CliRunner, project: Path) -> None:
    """The forger edits the record and the digest its log entry holds: the entry is then not the leaf
    the tree holds under the head."""
    dirty = run_ids(project)[1]
    path = record(project, dirty)
    path.write_bytes(path.read_bytes().replace(b'"dirty": true', b'"dirty": false'))
    entries = project / ".auditor" / "log" / "entries"
    lines = entries.read_bytes().splitlines(keepends=True)
    assert json.loads(lines[1])["run_id"] == dirty
    lines[1] = record_entry(dirty, hashlib.sha256(path.read_bytes()).hexdigest()) + b"\n"
    entries.write_bytes(b"".join(lines))
    head = cli("log", "head", cwd=project).stdout.strip()
    assert_refused(
        cli,
        project,
        dirty,
        f"{entries}: entry 1 (run {dirty}) is not in the tree of the log head {head}: the log was changed",
    )
    done = cli("log", "verify", cwd=project)
    assert done.returncode == 4
    assert f"{project / '.auditor' / 'log' / 'heads'}: line 2: head {head} is not in this log" in done.stderr


def test_a_truncated_log_is_refused(cli: CliRunner, project: Path) -> None:
    first, second = run_ids(project)
    log = project / ".auditor" / "log"
    head = cli("log", "head", cwd=project).stdout.strip()
    saved = {p.name: p.read_bytes() for p in log.iterdir()}
    entries = log / "entries"
    entries.write_bytes(saved["entries"].splitlines(keepends=True)[0])
    assert_refused(
        cli, project, first, f"{entries}: holds 1 entries, fewer than its last head counts (2): the log was truncated"
    )
    assert cli("run", "--", "touch", "ran", cwd=project).returncode == 4  # nothing is appended to it
    assert not (project / "ran").exists()
    # The whole log rolled back to its first run (entries, offsets, levels, heads): the second run is
    # then not in the log; the head printed after it exposes the roll-back.
    shutil.rmtree(log)
    build(log, [saved["entries"].splitlines()[0]])
    done = cli("show", second, cwd=project)
    assert done.returncode == 4
    assert errors(done) == [
        f"auditor: error: {project / '.auditor' / 'runs' / second}: not a run auditor recorded in this store: the "
        "store's log holds no record of it"
    ]
    done = cli("log", "verify", "--head", head, cwd=project)
    assert done.returncode == 4
    assert (
        f"--head {head}: head {head} is larger than the log (1 entries): the log was truncated or rewritten"
        in done.stderr
    )


def test_a_rewritten_log_is_caught_by_its_heads_and_by_a_published_head(cli: CliRunner, project: Path) -> None:
    """A fresh log over the same runs, the forged record's digest in it: against the heads the store
    recorded it fails; with those rewritten too, only a head published elsewhere shows it."""
    first, dirty = run_ids(project)
    published = cli("log", "head", cwd=project).stdout.strip()
    path = record(project, dirty)
    path.write_bytes(path.read_bytes().replace(b'"dirty": true', b'"dirty": false'))
    log = project / ".auditor" / "log"
    old_heads = (log / "heads").read_bytes()
    shutil.rmtree(log)
    lines = [record_entry(r, hashlib.sha256(record(project, r).read_bytes()).hexdigest()) for r in (first, dirty)]
    fresh = build(log, lines)
    (log / "heads").write_bytes(old_heads + f"{fresh.size} {fresh.root}\n".encode())  # the history kept

    done = cli("check", dirty, *VULNS, cwd=project, env=base_env(AUDITOR_CACHE_DIR=str(project.parent / "cache")))
    assert done.returncode == 4 and done.stdout == ""
    its_head = old_heads.decode().splitlines()[1].replace(" ", ":")  # printed after the dirty run
    assert its_head == published
    assert errors(done) == [
        f"auditor: error: {log / 'heads'}: the log (head {fresh.text()}) does not extend head {its_head}: the log "
        "was rewritten"
    ]
    done = cli("log", "verify", cwd=project)
    assert done.returncode == 4 and errors(done) == [
        f"auditor: error: {log / 'heads'}: line 2: head {its_head} is not in this log (its first 2 entries have root "
        f"{fresh.root}): the log was rewritten"
    ]

    (log / "heads").write_bytes(f"{fresh.size} {fresh.root}\n".encode())  # the history rewritten too
    assert cli("show", dirty, cwd=project).returncode == 0  # what a same-user forger can do, locally
    assert cli("log", "verify", cwd=project).returncode == 0
    done = cli("log", "verify", "--head", published, cwd=project)
    assert done.returncode == 4
    assert errors(done) == [
        f"auditor: error: --head {published}: head {published} is not in this log (its first 2 entries have root "
        f"{fresh.root}): the log was rewritten"
    ]
    done = cli("log", "prove", dirty, "--head", published, cwd=project)
    assert done.returncode == 4 and done.stdout == ""
    assert "does not extend head" in done.stderr


# --- heads, proofs and a stdlib-only verifier ------------------------------------------------------------


def stdlib_verify(proof: dict[str, object]) -> bool:
    """The README's independent check of an inclusion proof, run as the README shows it: the
    Python standard library and nothing of auditor's."""
    code = re.search(r"```python\n(import hashlib, json\n.*?)\nproof = ", (REPO / "README.md").read_text(), re.S)
    assert code is not None, "the README's inclusion check is gone"
    scope: dict[str, Any] = {}
    exec(compile(code.group(1), "README.md", "exec"), scope)  # noqa: S102 - our own README's snippet
    return bool(scope["verify_inclusion"](proof))


def test_heads_are_printed_and_proofs_verify_independently(cli: CliRunner, git_repo: Path) -> None:
    printed = []
    for _ in range(3):
        done = cli("run", "--", "true", cwd=git_repo)
        assert done.returncode == 0
        printed.append(done.stderr.splitlines()[-1].removeprefix("auditor: log head "))
    assert [h.split(":")[0] for h in printed] == ["1", "2", "3"] and all(len(h.split(":")[1]) == 64 for h in printed)
    assert cli("log", "head", cwd=git_repo).stdout == printed[-1] + "\n"
    heads = (git_repo / ".auditor" / "log" / "heads").read_text().splitlines()
    assert [h.replace(" ", ":") for h in heads] == printed
    ids = run_ids(git_repo)
    done = cli("log", "prove", ids[0], "--head", printed[0], cwd=git_repo)
    assert done.returncode == 0, done.stderr
    inclusion, consistency = (json.loads(line) for line in done.stdout.splitlines())
    assert (
        inclusion["leaf"]
        == record_entry(ids[0], hashlib.sha256(record(git_repo, ids[0]).read_bytes()).hexdigest()).decode()
    )
    assert (inclusion["leaf_index"], inclusion["tree_size"], inclusion["root"]) == (0, 3, printed[-1].split(":")[1])
    assert stdlib_verify(inclusion)
    assert not stdlib_verify({**inclusion, "leaf": inclusion["leaf"].replace(ids[0], ids[1])})
    assert (consistency["old_size"], consistency["new_size"]) == (1, 3)
    done = cli("log", "verify", "--head", printed[0], "--head", printed[1], cwd=git_repo)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"log verified: 3 entries, 3 heads recorded, 2 given; head {printed[-1]}\n"
    done = cli("log", "verify", "--head", "3:xyz", cwd=git_repo)
    assert done.returncode == 2 and errors(done) == [
        "auditor: error: --head: '3:xyz' is not a log head (SIZE:ROOT, the root as 64 hex digits)"
    ]


def test_concurrent_runs_never_fork_the_log(git_repo: Path) -> None:
    """Eight `auditor run` processes into one store at once: all eight in one log that verifies."""
    env = base_env()
    procs = [
        subprocess.Popen([str(AUDITOR), "run", "--", "python3", "-c", f"print({i})"], cwd=git_repo, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(8)
    ]  # fmt: skip
    outcomes = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    for p in procs:
        for stream in (p.stdout, p.stderr):
            if stream:
                stream.close()
    assert all(code == 0 for code, _ in outcomes), outcomes
    sizes = sorted(int(err.splitlines()[-1].removeprefix("auditor: log head ").split(":")[0]) for _, err in outcomes)
    assert sizes == list(range(1, 9))  # each saw its own head: one after the other, never two at one size
    done = subprocess.run(
        [str(AUDITOR), "log", "verify"], cwd=git_repo, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("log verified: 8 entries, 8 heads recorded")
    listed = subprocess.run(
        [str(AUDITOR), "runs", "--json"], cwd=git_repo, env=env, capture_output=True, text=True, check=False
    )
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 8
    entries = (git_repo / ".auditor" / "log" / "entries").read_text().splitlines()
    assert sorted(json.loads(line)["run_id"] for line in entries) == run_ids(git_repo)
    assert git(git_repo, "status", "--porcelain") == ""  # the store keeps out of the repository


def test_a_crash_left_log_is_read_and_then_repaired_by_the_next_run(cli: CliRunner, project: Path) -> None:
    """A torn entry line (killed inside its write) and level hashes a crash lost: readers still verify
    every run, and the next run cuts the tail, recomputes the hashes and appends after the head."""
    log = project / ".auditor" / "log"
    with (log / "entries").open("ab") as handle:
        handle.write(b'{"kind":"record","run_id":"01JGZ')
    (log / "level-01").unlink()
    for run_id in run_ids(project):
        assert cli("show", run_id, cwd=project).returncode == 0
    done = cli("log", "verify", cwd=project)
    assert done.returncode == 0, done.stderr
    assert (
        f"auditor: note: {log / 'entries'}: 1 entry beyond the last head (a crash: the next write removes it)"
        in done.stderr
    )
    assert cli("run", "--", "true", cwd=project).returncode == 0
    done = cli("log", "verify", cwd=project)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("log verified: 3 entries, 3 heads recorded")
    assert (log / "level-01").stat().st_size == 32

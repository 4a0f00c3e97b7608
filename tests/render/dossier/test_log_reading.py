"""Records never name local files (#18): the dossier reads a log only from a run's own folder in a
store, one the store verified, and masks and caps whatever it reads."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from auditor.record import dump_record
from auditor.record.models import LogFile, RunRecord
from auditor.store.runs import RunStore
from tests.conftest import FIXTURES, CliRunner, base_env
from tests.factories import make_record

SMALL_DB = FIXTURES / "advisories" / "small"
RUN_ID = "01JGZ0000000000000000000AA"
PLANTED = "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"
SECRET = "DATABASE_PASSWORD=correct-horse-battery-staple"  # no token shape: only not reading it keeps it out
TOKEN = "ghp_" + "A1b2C3d4E5" * 4  # a GitHub token shape: masking keeps it out


def _with_logs(run_id: str, stdout: str, stderr: str = "stderr.log") -> bytes:
    record = _record(run_id, stdout)
    outputs = record.outputs.model_copy(
        update={"stderr": LogFile(path=stderr, bytes=10, sha256="0" * 64, redactions=0)}
    )
    return dump_record(record.model_copy(update={"outputs": outputs}))


def _report(cli: CliRunner, cwd: Path, run: str, *store: str) -> str:
    env = base_env(AUDITOR_CACHE_DIR=str(cwd / "cache"))
    vulns = ("--vuln-source", "local", "--advisory-db", str(SMALL_DB))
    out = cwd / "out"
    done = cli("report", run, *store, *vulns, "--format", "html", "-o", str(out), cwd=cwd, env=env, timeout=180)
    assert done.returncode == 0, done.stderr
    return (out / "dossier.html").read_text()


def test_a_loose_record_names_no_file_the_dossier_reads(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(SECRET + "\n")
    (tmp_path / "id_rsa").write_text(SECRET + "\n")
    (tmp_path / "record.json").write_bytes(_with_logs(RUN_ID, ".env", "id_rsa"))
    html = _report(cli, tmp_path, "record.json")
    assert "correct-horse-battery-staple" not in html
    assert "the record was given as a loose file, not a run in a store, so no file it names is read" in html


def test_a_loose_record_shaped_like_a_store_is_still_loose(cli: CliRunner, tmp_path: Path) -> None:
    """STORE/runs/ID/record.json by its path alone: no store vouches for it, so its folder is not read."""
    folder = tmp_path / "evil" / "runs" / RUN_ID
    folder.mkdir(parents=True)
    (folder / "stdout.log").write_text(SECRET + "\n")
    (folder / "record.json").write_bytes(_with_logs(RUN_ID, "stdout.log"))
    html = _report(cli, tmp_path, str(folder / "record.json"))
    assert "correct-horse-battery-staple" not in html


def test_a_planted_link_in_the_store_cannot_show_the_project_env(cli: CliRunner, tmp_path: Path) -> None:
    """What a run's command can do: put a record naming `.env` into the project, and link a run
    folder (sorting last, so `latest`) to the project. `report latest` must read neither."""
    store = RunStore.create(tmp_path / ".auditor")
    staging = store.begin(RUN_ID)
    (staging.path / "stdout.log").write_bytes(b"epoch 1\n")
    store.commit(staging, make_record(RUN_ID))
    (tmp_path / ".env").write_text(SECRET + "\n")
    (tmp_path / "record.json").write_bytes(_with_logs(PLANTED, ".env"))
    (store.runs_dir / PLANTED).symlink_to(tmp_path)
    html = _report(cli, tmp_path, "latest")
    assert "correct-horse-battery-staple" not in html
    assert RUN_ID in html and PLANTED not in html


def test_what_is_read_from_a_run_folder_is_masked_again_and_only_by_name(cli: CliRunner, tmp_path: Path) -> None:
    """A log in a verified run's folder may not be what auditor wrote (a hard link to a local file, a
    rewrite): it is shown masked. A path that is not a plain name in the folder is not read."""
    store = RunStore.create(tmp_path / ".auditor")
    staging = store.begin(RUN_ID)
    (staging.path / "stdout.log").write_bytes(b"")
    store.commit(staging, _record(RUN_ID, "../../.env"))
    env = tmp_path / ".env"
    env.write_text(f"{SECRET}\nGITHUB_TOKEN={TOKEN}\n")
    os.link(env, store.runs_dir / RUN_ID / "stderr.log")  # the run's command, same user, linked it there
    html = _report(cli, tmp_path, "latest")
    assert TOKEN not in html and "GITHUB_TOKEN=[REDACTED:" in html
    assert "the log path ../../.env is not a file name in this run&#39;s folder: not read" in html
    digest = hashlib.sha256(env.read_bytes()).hexdigest()
    assert f"DOES NOT MATCH the recorded sha256 (now {digest})" in html


def _record(run_id: str, stdout: str) -> RunRecord:
    record = make_record(run_id)
    outputs = record.outputs.model_copy(
        update={"stdout": LogFile(path=stdout, bytes=10, sha256="0" * 64, redactions=0)}
    )
    return record.model_copy(update={"outputs": outputs})


def test_a_tail_cut_inside_a_private_key_shows_none_of_it() -> None:
    """Only the last 64 KiB are shown: a key whose BEGIN line falls before the cut is still masked,
    and a token cut in half at the start of the tail is dropped with its partial line."""
    from auditor.render.dossier.make import LOG_BYTES, _masked_lines

    body = "\n".join(["MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"] * 40)
    log = f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\nepoch 9 loss 0.1\n"
    tail = log.encode()[-(len(body) // 2) :]
    lines = _masked_lines(tail, whole=False)
    assert lines == ["[REDACTED:private-key]", "epoch 9 loss 0.1"]
    cut = f"x {TOKEN}\nnext line\n".encode()[6:]  # the tail starts mid-token
    assert _masked_lines(cut, whole=False) == ["next line"]
    assert _masked_lines(f"key {TOKEN}\n".encode(), whole=True) == ["key [REDACTED:github-token]"]
    assert LOG_BYTES == 64 * 1024

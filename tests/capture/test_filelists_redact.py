"""The hashed files' names are redacted in bulk (filelists.py, TextRedactor.clean): one search of
the names joined must never call clean what any name alone would have masked."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.capture.redact import TextRedactor
from auditor.record import load_record
from tests.conftest import CliRunner, base_env

SECRET = "envsecret-Qz82Lw4k"
TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
PIECES = [
    SECRET,
    SECRET[:9],
    SECRET[9:],
    TOKEN,
    TOKEN[:10],
    "password=",
    "db_password: ",
    "--token ",
    "https://user:",
    "pw@host/x",
    "?token=",
    "-----BEGIN RSA PRIVATE KEY-----",
    "-----END RSA PRIVATE KEY-----",
    "AKIA",
    "ABCDEFGHIJKLMNOP",
    "\n",
    "/",
    "data",
    ".csv",
    " ",
    '"',
    "'",
    "=",
    ":",
    "é",
    "\udcff",
]
NAMES = st.lists(st.lists(st.sampled_from(PIECES), max_size=6).map("".join), max_size=8)


@settings(max_examples=600, deadline=None)
@given(NAMES)
def test_clean_only_when_no_name_alone_would_change(names: list[str]) -> None:
    redactor = TextRedactor([SECRET, "two\nlines-of-secret"])
    if redactor.clean(names):
        assert all(redactor(name) == (name, 0) for name in names), names


def test_clean_answers_for_plain_and_secret_names() -> None:
    redactor = TextRedactor([SECRET])
    plain = [f"d{i:03d}/f{i:06d}.bin" for i in range(1000)]
    assert redactor.clean(plain)
    assert not redactor.clean([*plain, f"d/{SECRET}.csv"])
    assert not redactor.clean([*plain, f"d/{TOKEN}"])
    assert not redactor.clean(["bad\udcffname"])  # not UTF-8: redacted one by one, made printable


SPEC = """version: 1
project:
  name: names
datasets:
  - id: corpus
    role: input
    path: data
"""


def test_secrets_in_hashed_file_names_are_masked_in_the_record(cli: CliRunner, tmp_path: Path) -> None:
    project = tmp_path / "project"
    data = project / "data" / "sub"
    data.mkdir(parents=True)
    for index in range(300):
        (data / f"plain-{index:03d}.csv").write_text(f"{index}\n")
    (data / f"export-{SECRET}.csv").write_text("a\n")
    (data / f"{TOKEN}.csv").write_text("b\n")
    (project / "auditor.yaml").write_text(SPEC)
    store = tmp_path / "store"
    env = base_env(DB_PASSWORD=SECRET)
    for _ in range(2):  # the first capture hashes every file, the second finds them in the hash cache
        cli("run", "--store", str(store), "--", sys.executable, "-c", "pass", cwd=project, env=env)
    records = sorted(store.rglob("record.json"))
    assert len(records) == 2
    for path in records:
        raw = path.read_bytes()
        assert SECRET.encode() not in raw
        assert TOKEN.encode() not in raw
        files = json.loads(raw)["lineage"]["datasets"][0]["before"]["files"]
        names = [f["path"] for f in files]
        assert len(names) == 302
        assert "sub/plain-000.csv" in names and "sub/plain-299.csv" in names
        assert "sub/export-[REDACTED:env-value].csv" in names
        assert "sub/[REDACTED:github-token].csv" in names
        assert all(len(f["sha256"]) == 64 and f["size"] > 0 for f in files)
        after = json.loads(raw)["lineage"]["datasets"][0]["after"]  # unchanged: the list is written once
        assert after["same_files_as"] == "before" and after["files"] == []
        dataset = load_record(path).lineage.datasets[0]  # type: ignore[union-attr]
        assert dataset.after.files is dataset.before.files  # type: ignore[union-attr]


def test_an_input_the_command_changed_keeps_its_own_after_list(cli: CliRunner, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    for index in range(5):
        (project / "data" / f"part-{index}.csv").write_text(f"{index}\n")
    (project / "auditor.yaml").write_text(SPEC)
    change = "open('data/part-4.csv', 'a').write('more\\n'); open('data/new.csv', 'w').write('x\\n')"
    cli("run", "--store", str(tmp_path / "store"), "--", sys.executable, "-c", change, cwd=project)
    (path,) = (tmp_path / "store").rglob("record.json")
    dataset = json.loads(path.read_bytes())["lineage"]["datasets"][0]
    before, after = dataset["before"], dataset["after"]
    assert after["same_files_as"] is None and after["sha256"] != before["sha256"]
    assert [f["path"] for f in after["files"]] == ["new.csv", *(f"part-{i}.csv" for i in range(5))]
    assert len(before["files"]) == 5 and before["files"][:4] == after["files"][1:5]

"""`auditor note`, `notes`, `show` and the dossier's Discussion, through the real CLI on a real store."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from auditor.store.runs import RunStore
from tests.conftest import CliRunner, base_env, git
from tests.factories import make_record
from tests.render.dossier.test_layout_screen import measured

RUN = "01JGZ0000000000000000000AA"
PACK = """\
pack: mini
version: 1
description: one rule that fails without a seed
rules:
  - id: T-SEED-1
    title: seeds
    severity: low
    rationale: r
    remediation: log a seed
    references: [x]
    check: {kind: seeds_recorded}
"""
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> & </div></section>{{ d }}'
TOKEN = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "mini.yaml").write_text(PACK)
    store = RunStore.create(tmp_path / "store")
    store.commit(store.begin(RUN), make_record(RUN))
    return tmp_path


def _note(
    cli: CliRunner, cwd: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return cli("note", RUN, *args, "--store", str(cwd / "store"), cwd=cwd, env=env or base_env(), input=stdin)


def _id(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    found = re.search(r"\b([0-9A-Z]{26}) on run ", done.stdout)
    assert found, done.stdout
    return found[1]


def test_the_author_is_given_or_found_and_the_output_says_where(cli: CliRunner, project: Path) -> None:
    done = _note(cli, project, "given", "--author", "Ana")
    assert "by Ana (from --author)" in done.stdout
    done = _note(cli, project, "from env", env=base_env(AUDITOR_AUTHOR="Env Person"))
    assert "by Env Person (from $AUDITOR_AUTHOR)" in done.stdout
    repo = project / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.name", "Git Person")
    inside = cli("note", RUN, "from git", "--store", str(project / "store"), cwd=repo, env=base_env(HOME=str(project)))
    assert "by Git Person (from git config user.name)" in inside.stdout, inside.stdout + inside.stderr
    outside = project / "plain"
    outside.mkdir()
    env = base_env(HOME=str(outside), USER="osuser", LOGNAME="osuser", GIT_CONFIG_NOSYSTEM="1")
    done = cli("note", RUN, "from the OS", "--store", str(project / "store"), cwd=outside, env=env)
    assert done.returncode == 0, done.stderr
    assert "(from your user name on this machine)" in done.stdout
    authors = [n["author"] for n in _json(cli, project)["notes"]]
    assert authors == ["Ana", "Env Person", "Git Person", "osuser"]


def _json(cli: CliRunner, project: Path) -> dict[str, list[dict[str, object]]]:
    done = cli("notes", RUN, "--store", "store", "--format", "json", cwd=project, env=base_env())
    assert done.returncode == 0, done.stderr
    result: dict[str, list[dict[str, object]]] = json.loads(done.stdout)
    return result


def test_stdin_and_secrets_are_masked_before_writing(cli: CliRunner, project: Path) -> None:
    text = f"Retrained with\r\nhttps://bot:hunter2pass@data.example.com/x and token {TOKEN}\n\n"
    done = _note(cli, project, "-", "--author", "Ana", stdin=text)
    note_id = _id(done)
    assert "masked 2 secrets in the text before writing it" in done.stdout
    raw = (project / "store" / "notes" / RUN / f"{note_id}.json").read_text()
    assert TOKEN not in raw and "hunter2pass" not in raw
    (note,) = _json(cli, project)["notes"]
    assert note["text"] == (
        "Retrained with\nhttps://[REDACTED:url-credentials]@data.example.com/x and token [REDACTED:github-token]"
    )
    assert TOKEN not in str(note["text"]) and "hunter2pass" not in str(note["text"])
    empty = _note(cli, project, "-", "--author", "Ana", stdin="\n\n")
    assert empty.returncode == 2 and empty.stderr.strip() == "auditor: error: stdin: empty"
    bad = _note(cli, project, "x", "--author", "Ana\x1b[31m")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "\x1b" not in bad.stderr


def test_show_ends_with_the_discussion(cli: CliRunner, project: Path) -> None:
    show = cli("show", RUN, "--store", "store", cwd=project, env=base_env())
    assert show.returncode == 0 and show.stdout.rstrip().endswith(
        "Discussion (notes beside the record, not part of it)\n  no discussion"
    )
    first = _id(_note(cli, project, "Why no seed?", "--author", "Ana"))
    _id(_note(cli, project, "Deterministic sampler.\nSee ticket 12.", "--author", "Sam", "--reply-to", first))
    show = cli("show", RUN, "--store", "store", cwd=project, env=base_env())
    tail = show.stdout.split("Discussion (notes beside the record, not part of it)\n", 1)[1].splitlines()
    assert tail[0] == "  2 notes in 1 thread"
    assert tail[1].startswith(f"  - {first}  Ana  ") and tail[2] == "      written with auditor note"
    assert tail[3] == "    | Why no seed?" and tail[4].startswith("      ↳ ") and "  Sam  " in tail[4]
    assert tail[6:8] == ["        | Deterministic sampler.", "        | See ticket 12."]


def test_the_dossier_shows_the_discussion_escaped_and_wrapped(cli: CliRunner, project: Path, tmp_path: Path) -> None:
    parent = _id(_note(cli, project, HOSTILE, "--author", "<b>Mallory</b>"))
    for depth in range(10):  # deeper than the dossier indents
        parent = _id(_note(cli, project, f"reply {depth} " + "W" * 400, "--author", "Sam", "--reply-to", parent))
    done = cli("report", RUN, "--store", "store", "--policy", "mini.yaml", "--format", "html", "-o", "out", cwd=project)
    assert done.returncode == 0, done.stderr
    html = (project / "out" / "dossier.html").read_text()
    section = html.split('<section id="discussion">', 1)[1].split("</section>", 1)[0]
    assert "12 Discussion" in section and "They are not part of the record" in section
    assert "11 notes, each vouched for by the store&#39;s log" in section
    assert (
        "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; &amp; &lt;/div&gt;"
        in section
    )
    assert "<script" not in section and "<img" not in section and "{{ d }}" in section
    assert "<strong>&lt;b&gt;Mallory&lt;/b&gt;</strong>" in section
    assert section.count("vouched for by the store's log<br>") == 11
    assert 'class="note-item depth-8"' in section and "depth-9" not in section
    assert '<a href="#discussion">12 Discussion</a>' in html
    for width in (390, 1280):
        seen = measured(project / "out" / "dossier.html", tmp_path, width)
        assert int(str(seen["scroll"])) <= int(str(seen["client"])), seen
        assert not [w for w in seen["wide"] if "note" in str(w) or "discussion" in str(w)], seen  # type: ignore[attr-defined]


def test_a_dossier_of_a_run_without_notes_says_so(cli: CliRunner, project: Path) -> None:
    done = cli("report", RUN, "--store", "store", "--policy", "mini.yaml", "--format", "html", "-o", "out", cwd=project)
    assert done.returncode == 0, done.stderr
    html = (project / "out" / "dossier.html").read_text()
    assert "No discussion: no one has written a note on this run." in html

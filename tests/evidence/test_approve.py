"""`auditor approve` end to end: sign-offs kept beside the run and in the log, and shown in the dossier."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.record.signoff import SIGNOFF_PAYLOAD_TYPE
from auditor.store.runs import RunStore
from tests.conftest import CliRunner, base_env
from tests.factories import make_record

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
RUN = "01JGZ0000000000000000000AA"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "mini.yaml").write_text(PACK)
    store = RunStore.create(tmp_path / "store")
    store.commit(store.begin(RUN), make_record(RUN))
    return tmp_path


def _approve(cli: CliRunner, project: Path, *args: str) -> tuple[int, str, str]:
    done = cli("approve", RUN, "--store", "store", "--policy", "mini.yaml", *args, cwd=project, env=base_env())
    return done.returncode, done.stdout, done.stderr


def _dossier(cli: CliRunner, project: Path, *policy: str) -> str:
    done = cli(
        "report", RUN, "--store", "store", "--policy", *(policy or ("mini.yaml",)), "--format", "html",
        "-o", "out", cwd=project, env=base_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return (project / "out" / "dossier.html").read_text()


def _signoff_files(project: Path) -> list[Path]:
    return sorted((project / "store" / "signoffs" / RUN).glob("*.json"))


def test_an_unsigned_sign_off_is_kept_logged_and_shown(cli: CliRunner, project: Path) -> None:
    before = RunStore.open(project / "store").head()
    code, out, err = _approve(
        cli, project, "--role", "model risk officer", "--decision", "approve", "--comment", "Seed gap accepted.",
        "--name", "Dana Reviewer",
    )  # fmt: skip
    assert code == 0, err
    assert "approve by Dana Reviewer as model risk officer" in out and "signed    no" in out
    (path,) = _signoff_files(project)
    document = json.loads(path.read_bytes())
    assert (document["decision"], document["verdict"], document["failing"]) == ("approve", "violations", {"low": 1})
    store = RunStore.open(project / "store")
    head = store.head()
    assert head.size == before.size + 1 and f"log head {head.text()}" in err
    (entry,) = [e for e in store.entries("signoff")]
    assert entry.fields["signoff_id"] == document["signoff_id"] and entry.fields["run_id"] == RUN
    html = _dossier(cli, project)
    assert "1 of 1 sign-off covers this record and these findings (approve)." in html
    assert "Dana Reviewer" in html and "model risk officer" in html and "Seed gap accepted." in html
    assert "not signed: it names a person, nothing proves it was them" in html


def test_a_signed_sign_off_names_its_signer_and_stops_covering_changed_findings(cli: CliRunner, project: Path) -> None:
    made = cli("keys", "generate", "--name", "Ana Auditor", "-o", "ana", "--no-passphrase", cwd=project)
    assert made.returncode == 0, made.stderr
    code, out, err = _approve(
        cli, project, "--role", "compliance", "--decision", "reject", "--comment", "No seed.", "--sign", "ana.key"
    )
    assert code == 0, err
    assert "reject by Ana Auditor as compliance" in out and "signed    Ana Auditor" in out
    (path,) = _signoff_files(project)
    assert json.loads(path.read_bytes())["payloadType"] == SIGNOFF_PAYLOAD_TYPE
    html = _dossier(cli, project)
    assert "1 of 1 sign-off covers this record and these findings (reject)." in html
    assert "intact, by the certificate it carries (Ana Auditor)" in html
    # Another policy finds something else: the sign-off no longer covers what the dossier shows.
    other = PACK.replace("seeds_recorded", "run_succeeded").replace("pack: mini", "pack: other")
    (project / "other.yaml").write_text(other)
    html = _dossier(cli, project, "other.yaml")
    assert "0 of 1 sign-off covers this record and these findings." in html
    assert "the findings have changed since" in html


def test_sign_offs_the_log_does_not_hold_are_not_believed(cli: CliRunner, project: Path) -> None:
    code, _, err = _approve(cli, project, "--role", "r", "--decision", "approve", "--comment", "ok", "--name", "A B")
    assert code == 0, err
    (path,) = _signoff_files(project)
    forged = json.loads(path.read_bytes())
    path.write_bytes(path.read_bytes().replace(b'"approve"', b'"reject"'))  # edited after the fact
    planted = forged | {"signoff_id": "01JGZ0000000000000000000ZZ", "name": "Someone Else"}
    (path.parent / "01JGZ0000000000000000000ZZ.json").write_text(json.dumps(planted))
    html = _dossier(cli, project)
    assert "0 of 2 sign-offs cover this record and these findings." in html
    assert "Not believed: changed since it was recorded" in html
    assert "Not believed: not in the store&#39;s log: auditor did not record this sign-off" in html


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--decision", "maybe", "--role", "r", "--comment", "c", "--name", "n"), "--decision: 'maybe' is not one of"),
        (("--decision", "approve", "--role", "r\x1b[2J", "--comment", "c", "--name", "n"), "--role: "),
        (("--decision", "approve", "--role", "r", "--comment", "c"), "--name: who decides?"),
        (("--decision", "approve", "--role", "r", "--comment", "c", "--name", "n", "--sign", "nokey"), "nokey"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    cli: CliRunner, project: Path, args: tuple[str, ...], message: str
) -> None:
    before = RunStore.open(project / "store").head()
    code, out, err = _approve(cli, project, *args)
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert _signoff_files(project) == [] and RunStore.open(project / "store").head() == before


def test_a_tampered_record_cannot_be_signed_off(cli: CliRunner, project: Path) -> None:
    record = project / "store" / "runs" / RUN / "record.json"
    record.write_bytes(record.read_bytes().replace(b'"succeeded"', b'"failed"', 1))
    code, _, err = _approve(cli, project, "--role", "r", "--decision", "approve", "--comment", "c", "--name", "n")
    assert code == 4, err
    assert "record.json" in err and _signoff_files(project) == []


def test_report_checks_sign_off_signatures_against_the_keys_it_is_given(cli: CliRunner, project: Path) -> None:
    for who in ("ana", "eve"):
        made = cli("keys", "generate", "--name", who.title(), "-o", who, "--no-passphrase", cwd=project)
        assert made.returncode == 0, made.stderr
    code, _, err = _approve(cli, project, "--role", "r", "--decision", "approve", "--comment", "c", "--sign", "ana.key")
    assert code == 0, err
    trusted = _dossier_with(cli, project, "--key", "ana.crt")
    assert "verified: signed by Ana, with a key or certificate you trust" in trusted
    assert "1 of 1 sign-off covers" in trusted
    other = _dossier_with(cli, project, "--key", "eve.crt")
    assert "no trust roots to check the certificate against" in other and "0 of 1 sign-off covers" in other
    assert "its signature could not be verified" in other


def _dossier_with(cli: CliRunner, project: Path, *args: str) -> str:
    done = cli(
        "report", RUN, "--store", "store", "--policy", "mini.yaml", "--format", "html", "-o", "out", *args,
        cwd=project, env=base_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return (project / "out" / "dossier.html").read_text()


def test_given_trusted_keys_an_unsigned_sign_off_does_not_cover(cli: CliRunner, project: Path) -> None:
    made = cli("keys", "generate", "--name", "Ana", "-o", "ana", "--no-passphrase", cwd=project)
    assert made.returncode == 0, made.stderr
    code, _, err = _approve(cli, project, "--role", "r", "--decision", "approve", "--comment", "c", "--name", "Ana")
    assert code == 0, err
    assert "1 of 1 sign-off covers" in _dossier(cli, project)  # no keys given: a named, unsigned decision
    checked = _dossier_with(cli, project, "--key", "ana.crt")
    assert "0 of 1 sign-off covers" in checked and "not signed, so no key you gave vouches for it" in checked

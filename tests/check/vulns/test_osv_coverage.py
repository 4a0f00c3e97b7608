"""A local advisory database passes a package only when it declares that it covers it, and the files
present match the declaration: a partial, undeclared or damaged folder leaves packages "not audited".

Real folders throughout: copies of the PyPA snapshot, real git checkouts made with git, real zip files.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from auditor.check.vulns.osv_coverage import MANIFEST, files_digest
from auditor.check.vulns.osv_index import advisory_files
from auditor.check.vulns.osv_local import NOT_IN_DATABASE, AdvisoryDatabaseError, LocalOsvDatabase, PackageAudit
from tests.check.vulns.test_osv_local import SMALL, SNAPSHOT, ids, one, redeclare

JINJA2 = SNAPSHOT / "vulns" / "jinja2"
SNAPSHOT_FILES = 2661


def jinja2_only(root: Path) -> Path:
    """A folder holding one package's real advisories and nothing else: what an attacker copied."""
    shutil.copytree(JINJA2, root / "vulns" / "jinja2")
    return root


def snapshot_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SNAPSHOT, tmp_path / "snapshot"))


def assert_never_clean(result: PackageAudit, *fragments: str) -> None:
    assert result.status == "not_audited" and result.advisories == (), result
    for fragment in fragments:
        assert fragment in (result.reason or ""), result.reason


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "init.defaultBranch=main", *args],
        cwd=root,
        check=True,
        capture_output=True,
        timeout=120,
    )


# --- a folder that declares nothing ----------------------------------------------------------------------


def test_one_packages_advisories_pass_no_other_package(tmp_path: Path) -> None:
    db = LocalOsvDatabase.open(jinja2_only(tmp_path))
    assert db.info.incomplete is not None and db.info.incomplete.startswith("declares no coverage")
    assert_never_clean(one(db, "numpy", "2.1.0"), "declares no coverage")
    assert_never_clean(one(db, "jinja2", "3.1.4"), "declares no coverage")  # its own advisories may be partial too
    proven = one(db, "jinja2", "2.10")  # what it does hold still proves a vulnerability
    assert proven.status == "vulnerable" and ids(proven) == {"PYSEC-2019-217", "PYSEC-2021-66"}
    assert proven.reason is not None and "declares no coverage" in proven.reason


def test_a_snapshot_txt_without_a_count_declares_nothing(tmp_path: Path) -> None:
    root = jinja2_only(tmp_path)
    text = (SNAPSHOT / "SNAPSHOT.txt").read_text()
    (root / "SNAPSHOT.txt").write_text(text.replace("2,661 advisories, one file each. ", ""))
    db = LocalOsvDatabase.open(root)
    assert db.info.commit == "3ccb612573e2511ab5cad7dafecd838605c80cda"  # still read for the report
    assert_never_clean(one(db, "numpy", "2.1.0"), "declares no coverage")


# --- the PyPA snapshot's SNAPSHOT.txt ----------------------------------------------------------------------


def test_the_real_snapshot_covers_pypi() -> None:
    db = LocalOsvDatabase.open(SNAPSHOT)
    assert db.info.incomplete is None
    assert db.info.coverage.startswith("every PyPI package, PYSEC advisories (a PyPA advisory-database snapshot")
    assert one(db, "numpy", "2.1.0") == PackageAudit("numpy", "2.1.0", "clean", (), None)  # named, none applies
    result = one(db, "auditor-no-such-package", "1.0")
    assert (result.status, result.reason) == ("clean", NOT_IN_DATABASE)


def test_a_snapshot_txt_copied_beside_one_package_is_a_count_mismatch(tmp_path: Path) -> None:
    root = jinja2_only(tmp_path)
    shutil.copy(SNAPSHOT / "SNAPSHOT.txt", root / "SNAPSHOT.txt")
    db = LocalOsvDatabase.open(root)
    files = len(list(JINJA2.iterdir()))
    assert db.info.incomplete == (
        f"does not match SNAPSHOT.txt: it declares {SNAPSHOT_FILES:,} advisory files and {files} are present"
    )
    assert_never_clean(one(db, "numpy", "2.1.0"), "does not match SNAPSHOT.txt")


@pytest.mark.parametrize("change", ["remove", "add"])
def test_a_snapshot_missing_or_gaining_a_file_is_damaged(tmp_path: Path, change: str) -> None:
    root = snapshot_copy(tmp_path)
    if change == "remove":
        (root / "vulns" / "django" / next(p.name for p in (root / "vulns" / "django").iterdir())).unlink()
    else:
        shutil.copy(JINJA2 / "PYSEC-2019-217.yaml", root / "vulns" / "jinja2" / "PYSEC-2019-9999.yaml")
    db = LocalOsvDatabase.open(root)
    present = SNAPSHOT_FILES - 1 if change == "remove" else SNAPSHOT_FILES + 1
    assert db.info.incomplete == (
        f"does not match SNAPSHOT.txt: it declares {SNAPSHOT_FILES:,} advisory files and {present:,} are present"
    )
    assert_never_clean(one(db, "numpy", "2.1.0"), "does not match SNAPSHOT.txt")
    assert one(db, "jinja2", "2.10").status == "vulnerable"


# --- auditor's manifest --------------------------------------------------------------------------------------


def write_manifest(root: Path, **fields: object) -> None:
    manifest = {"version": 1, "ecosystem": "PyPI", "source": "a test", "covers": "ecosystem"} | fields
    manifest.setdefault("advisories", len(advisory_files(root)))
    (root / MANIFEST).write_text(json.dumps(manifest))


def test_a_manifest_for_the_whole_ecosystem(tmp_path: Path) -> None:
    root = jinja2_only(tmp_path)
    write_manifest(root, files_sha256=files_digest(advisory_files(root)), date="2024-10-10")
    db = LocalOsvDatabase.open(root)
    assert (db.info.incomplete, db.info.date) == (None, "2024-10-10")
    assert db.info.coverage == f"every PyPI package in {MANIFEST}, from a test"
    assert one(db, "numpy", "2.1.0").status == "clean"
    assert one(db, "jinja2", "3.1.4").status == "clean"


def test_the_small_database_covers_its_listed_packages_only(tmp_path: Path) -> None:
    db = LocalOsvDatabase.open(SMALL)
    assert db.info.incomplete is None
    assert one(db, "Acme.Retired", "1.0").status == "clean"  # listed, and names are canonicalised
    assert_never_clean(one(db, "numpy", "2.1.0"), "does not cover it", "the 7 package(s) listed")


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"advisories": 7}, "it declares 7 advisory files and 8 are present"),
        ({"files_sha256": "0" * 64}, "the advisory files present are not the ones it lists (files_sha256)"),
    ],
)
def test_a_manifest_the_files_do_not_match(tmp_path: Path, fields: dict[str, object], problem: str) -> None:
    root = Path(shutil.copytree(SMALL, tmp_path / "db"))
    manifest = json.loads((root / MANIFEST).read_text())
    (root / MANIFEST).write_text(json.dumps(manifest | fields))
    db = LocalOsvDatabase.open(root)
    assert db.info.incomplete == f"does not match {MANIFEST}: {problem}"
    assert_never_clean(one(db, "acme-retired", "1.0"), problem)


def test_the_digest_sees_a_renamed_file(tmp_path: Path) -> None:
    root = Path(shutil.copytree(SMALL, tmp_path / "db"))
    (root / "vulns" / "acme-json" / "TEST-2024-5.json").rename(root / "vulns" / "acme-json" / "TEST-2024-55.json")
    assert LocalOsvDatabase.open(root).info.incomplete == (
        f"does not match {MANIFEST}: the advisory files present are not the ones it lists (files_sha256)"
    )
    redeclare(root)
    assert LocalOsvDatabase.open(root).info.incomplete is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "cannot be read: Expecting property name"),
        ('{"version": 1}', "ecosystem: Field required"),
        ('{"version": 1, "ecosystem": "npm", "source": "s", "covers": "ecosystem", "advisories": 1}', "ecosystem:"),
        ('{"version": 1, "ecosystem": "PyPI", "source": "s", "covers": "all", "advisories": 1}', "covers"),
        ('{"version": 1, "ecosystem": "PyPI", "source": "s", "covers": [], "advisories": -1}', "advisories:"),
        (
            '{"version": 1, "ecosystem": "PyPI", "source": "s", "covers": [], "advisories": 1, "date": "2024-13-01"}',
            "date: Value error, must be a date, YYYY-MM-DD",
        ),
        ('{"version": 1, "ecosystem": "PyPI", "source": "s", "covers": [], "advisories": 1, "extra": 1}', "extra:"),
    ],
)
def test_a_malformed_manifest_is_one_line_naming_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    root = jinja2_only(tmp_path)
    (root / MANIFEST).write_text(text)
    with pytest.raises(AdvisoryDatabaseError) as caught:
        LocalOsvDatabase.open(root)
    assert caught.value.message.startswith(f"{root / MANIFEST}: ") and message in caught.value.message
    assert "\n" not in caught.value.message


def test_a_linked_manifest_is_refused(tmp_path: Path) -> None:
    root = jinja2_only(tmp_path / "db")
    write_manifest(tmp_path)
    (root / MANIFEST).symlink_to(tmp_path / MANIFEST)
    with pytest.raises(AdvisoryDatabaseError, match="cannot be read"):
        LocalOsvDatabase.open(root)


# --- a git checkout of pypa/advisory-database -------------------------------------------------------------------


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = jinja2_only(tmp_path / "advisory-database")
    shutil.copytree(SNAPSHOT / "vulns" / "pyyaml", root / "vulns" / "pyyaml")
    (root / "README.md").write_text("# Python Packaging Advisory Database\n")
    git(root, "init", "-q")
    git(root, "remote", "add", "origin", "https://github.com/pypa/advisory-database.git")
    git(root, "add", ".")
    git(root, "commit", "-qm", "advisories")
    return root


@pytest.mark.parametrize("index_version", ["2", "3", "4"])
def test_a_git_checkout_is_checked_against_its_index(checkout: Path, index_version: str) -> None:
    git(checkout, "update-index", "--index-version", index_version)
    db = LocalOsvDatabase.open(checkout)
    assert db.info.incomplete is None
    assert db.info.coverage.startswith("every PyPI package, PYSEC advisories (a git checkout of pypa/advisory-database")
    assert db.info.commit is not None and len(db.info.commit) == 40
    assert one(db, "numpy", "2.1.0").status == "clean"
    assert ids(one(db, "PyYAML", "5.3")) == {"PYSEC-2020-96", "PYSEC-2021-142"}


def test_a_file_deleted_from_the_checkout_is_seen(checkout: Path) -> None:
    (checkout / "vulns" / "jinja2" / "PYSEC-2021-66.yaml").unlink()
    db = LocalOsvDatabase.open(checkout)
    assert db.info.incomplete == (
        "does not match the git index: advisory files 1 it lists missing (vulns/jinja2/PYSEC-2021-66.yaml)"
    )
    assert_never_clean(one(db, "jinja2", "3.1.4"), "does not match the git index")


def test_a_file_the_commit_does_not_hold_is_seen(checkout: Path) -> None:
    shutil.copy(JINJA2 / "PYSEC-2019-217.yaml", checkout / "vulns" / "PYSEC-2019-217.yaml")
    db = LocalOsvDatabase.open(checkout)
    assert db.info.incomplete == (
        "does not match the git index: advisory files 1 present that it does not list (vulns/PYSEC-2019-217.yaml)"
    )


def test_a_sparse_checkout_is_partial(checkout: Path) -> None:
    git(checkout, "sparse-checkout", "set", "--no-cone", "/vulns/jinja2/", "/README.md")
    assert not (checkout / "vulns" / "pyyaml").exists()
    db = LocalOsvDatabase.open(checkout)
    assert db.info.incomplete is not None and "it lists missing (vulns/pyyaml/" in db.info.incomplete
    assert_never_clean(one(db, "numpy", "2.1.0"), "does not match the git index")


def test_a_checkout_of_another_repository_declares_nothing(checkout: Path) -> None:
    git(checkout, "remote", "set-url", "origin", "https://example.invalid/someone/advisories.git")
    assert_never_clean(one(LocalOsvDatabase.open(checkout), "numpy", "2.1.0"), "declares no coverage")


def test_a_corrupt_git_index_is_refused(checkout: Path) -> None:
    index = checkout / ".git" / "index"
    data = bytearray(index.read_bytes())
    data[40] ^= 0xFF
    index.write_bytes(bytes(data))
    with pytest.raises(AdvisoryDatabaseError, match="cannot be read as a git index: its checksum does not match"):
        LocalOsvDatabase.open(checkout)


# --- an OSV export beside its all.zip ----------------------------------------------------------------------------


def test_an_osv_export_is_checked_against_its_archive(tmp_path: Path) -> None:
    root = tmp_path / "PyPI"
    root.mkdir()
    small = LocalOsvDatabase.open(SMALL)
    records = {
        "TEST-2024-5.json": (SMALL / "vulns" / "acme-json" / "TEST-2024-5.json").read_text(),
        "OTHER-1.json": json.dumps(
            {
                "id": "OTHER-1",
                "affected": [
                    {
                        "package": {"ecosystem": "PyPI", "name": "acme-other"},
                        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}],
                    }
                ],
            }
        ),
    }
    with zipfile.ZipFile(root / "all.zip", "w") as archive:
        for name, text in records.items():
            archive.writestr(name, text)
            (root / name).write_text(text)
    db = LocalOsvDatabase.open(root)
    assert db.info.incomplete is None and db.info.coverage.startswith("every PyPI package (an OSV export")
    assert one(db, "acme-json", "0.6").advisories == one(small, "acme-json", "0.6").advisories
    assert ids(one(db, "acme-other", "1.0")) == {"OTHER-1"}
    assert one(db, "numpy", "2.1.0").status == "clean"
    (root / "OTHER-1.json").unlink()
    db = LocalOsvDatabase.open(root)
    assert db.info.incomplete == "does not match all.zip: advisory files 1 it lists missing (OTHER-1.json)"
    assert_never_clean(one(db, "acme-other", "1.0"), "does not match all.zip")


# --- advisories that used to vanish quietly ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("id: X-1\naffected: []\n", "affected is empty: the advisory names no package"),
        (
            "id: X-2\naffected:\n- package: {name: acme-json, ecosystem: pypi}\n"
            "  ranges: [{type: ECOSYSTEM, events: [{introduced: '0'}]}]\n",
            "ecosystem 'pypi' is not 'PyPI'",
        ),
    ],
)
def test_an_advisory_that_names_no_pypi_package_is_a_problem(tmp_path: Path, text: str, problem: str) -> None:
    root = Path(shutil.copytree(SMALL, tmp_path / "db"))
    (root / "vulns" / "acme-json" / "X.yaml").write_text(text)
    redeclare(root)
    db = LocalOsvDatabase.open(root)
    [reported] = db.info.problems
    assert reported.startswith(f"vulns/acme-json/X.yaml: {problem}")
    assert_never_clean(one(db, "acme-json", "0.9"), "vulns/acme-json/X.yaml", problem)
    assert one(db, "acme-retired", "1.0").status == "clean"  # a broken file damages its own package only


def test_a_broken_file_in_a_flat_folder_damages_the_whole_database(tmp_path: Path) -> None:
    root = Path(shutil.copytree(SMALL, tmp_path / "db"))
    (root / "vulns" / "X.yaml").write_text("id: X-1\naffected: []\n")
    redeclare(root)
    db = LocalOsvDatabase.open(root)
    assert db.info.incomplete == (
        "is damaged: advisory file vulns/X.yaml: affected is empty: the advisory names no package; a broken file that"
        " names no package could be about any"
    )
    assert_never_clean(one(db, "acme-retired", "1.0"), "is damaged")

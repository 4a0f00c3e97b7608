"""The offline OSV source: real PyPA data for the common cases, a hand-written database for the edge cases.

The expected advisory sets for the real snapshot were derived by hand from its YAML files; each test
says which ECOSYSTEM bounds decide it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from auditor.check.vulns import osv_index
from auditor.check.vulns.osv_coverage import MANIFEST, files_digest
from auditor.check.vulns.osv_local import NOT_IN_DATABASE, AdvisoryDatabaseError, LocalOsvDatabase, PackageAudit
from auditor.errors import EXIT_COULD_NOT_EVALUATE
from tests.conftest import ADVISORY_SNAPSHOT, REPO

SNAPSHOT = ADVISORY_SNAPSHOT
SMALL = REPO / "tests" / "fixtures" / "advisories" / "small"
SNAPSHOT_COMMIT = "3ccb612573e2511ab5cad7dafecd838605c80cda"
SMALL_PACKAGES = ["acme-widgets", "acme-gadgets", "acme-retired", "acme-json", "acme-odd", "acme-multi", "acme-semver"]


@pytest.fixture(scope="module")
def pypa_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder that the module's first open of the snapshot fills."""
    if not (SNAPSHOT / "vulns").is_dir():
        pytest.fail(f"the PyPA advisory snapshot is missing at {SNAPSHOT}")
    return tmp_path_factory.mktemp("osv-cache")


@pytest.fixture(scope="module")
def pypa(pypa_cache: Path) -> LocalOsvDatabase:
    """The real snapshot, opened once (a cold parse of 2,661 files) for the whole module."""
    return LocalOsvDatabase.open(SNAPSHOT, cache_dir=pypa_cache)


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """A private copy of the hand-written database, so a test may break or change it."""
    return Path(shutil.copytree(SMALL, tmp_path / "db"))


@pytest.fixture
def parse_calls(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every advisory file the index builder parses; empty when an index came from the cache."""
    calls: list[Path] = []
    real: Callable[[Path], object] = osv_index.parse_file

    def counting(path: Path) -> object:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(osv_index, "parse_file", counting)  # looked up where the index is built
    return calls


def one(db: LocalOsvDatabase, name: str, version: str) -> PackageAudit:
    [result] = db.audit([(name, version)])
    assert (result.name, result.version) == (name, version)
    return result


def ids(result: PackageAudit) -> set[str]:
    return {advisory.id for advisory in result.advisories}


def redeclare(root: Path) -> None:
    """Rewrite the database's manifest to match the files now present, after a test added or broke one."""
    manifest = json.loads((root / MANIFEST).read_text())
    files = osv_index.advisory_files(root)
    manifest.update(advisories=len(files), files_sha256=files_digest(files))
    (root / MANIFEST).write_text(json.dumps(manifest))


def touch_later(path: Path) -> None:
    """Move a file's mtime a second on, so a rewrite is seen even on coarse-timestamp file systems."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


# --- the real PyPA snapshot -------------------------------------------------------------------------------


def test_the_snapshot_ships_inside_the_repository_with_its_licence() -> None:
    """A fresh clone has everything the tests read: nothing outside the repository."""
    assert SNAPSHOT.resolve().is_relative_to(REPO.resolve())
    assert "Attribution 4.0 International" in (SNAPSHOT / "LICENSE").read_text(encoding="utf-8")
    assert SNAPSHOT_COMMIT in (SNAPSHOT / "SNAPSHOT.txt").read_text(encoding="utf-8")


def test_snapshot_info(pypa: LocalOsvDatabase) -> None:
    assert pypa.info.kind == "osv-local"
    assert pypa.info.path == str(SNAPSHOT)
    assert pypa.info.commit == SNAPSHOT_COMMIT
    assert pypa.info.date == "2024-10-10"
    assert pypa.info.advisories == 2661
    assert pypa.info.problems == ()
    assert pypa.age_days(date(2024, 10, 10)) == 0
    assert pypa.age_days(date(2025, 10, 10)) == 365


def test_jinja2_2_10(pypa: LocalOsvDatabase) -> None:
    # PYSEC-2014-8 is fixed in 2.7.2, PYSEC-2014-82 in 2.7.3, PYSEC-2019-220 in 2.8.1: not 2.10.
    # PYSEC-2019-217 is fixed in 2.10.1 and PYSEC-2021-66 in 2.11.3: both apply.
    result = one(pypa, "jinja2", "2.10")
    assert result.status == "vulnerable" and result.reason is None
    assert ids(result) == {"PYSEC-2019-217", "PYSEC-2021-66"}
    sandbox = next(a for a in result.advisories if a.id == "PYSEC-2019-217")
    assert sandbox.fixed_versions == ("2.10.1",)
    assert sandbox.aliases == ("CVE-2019-10906", "GHSA-462w-v97r-4m45")
    assert sandbox.details == "In Pallets Jinja before 2.10.1, str.format_map allows a sandbox escape."
    assert sandbox.published == "2019-04-07T00:29:00Z" and sandbox.modified == "2021-11-22T04:57:52.862665Z"
    assert "https://palletsprojects.com/blog/jinja-2-10-1-released" in sandbox.references
    assert sandbox.summary is None and sandbox.severity == ()


def test_jinja2_boundaries(pypa: LocalOsvDatabase) -> None:
    assert ids(one(pypa, "jinja2", "2.7.2")) == {"PYSEC-2014-82", "PYSEC-2019-217", "PYSEC-2019-220", "PYSEC-2021-66"}
    assert ids(one(pypa, "jinja2", "2.10.1")) == {"PYSEC-2021-66"}
    for version in ("2.11.3", "3.1.4"):  # 2.11.3 is PYSEC-2021-66's fix; the snapshot has nothing later
        result = one(pypa, "jinja2", version)
        assert (result.status, result.advisories, result.reason) == ("clean", (), None)


def test_package_not_in_the_database_is_clean_by_absence(pypa: LocalOsvDatabase) -> None:
    result = one(pypa, "auditor-no-such-package", "1.0")
    assert (result.status, result.advisories, result.reason) == ("clean", (), NOT_IN_DATABASE)


def test_names_are_canonicalised(pypa: LocalOsvDatabase) -> None:
    # PyYAML 5.3: PYSEC-2018-49 fixed in 5.1, PYSEC-2020-176 in 5.2b1; PYSEC-2020-96 (<5.3.1), PYSEC-2021-142 (<5.4).
    for name in ("PyYAML", "pyyaml", "PYYAML"):
        assert ids(one(pypa, name, "5.3")) == {"PYSEC-2020-96", "PYSEC-2021-142"}
    # scikit-learn 0.23.0: PYSEC-2020-107 (<0.23.1) and PYSEC-2020-108 (<0.24.dev0).
    for name in ("scikit-learn", "scikit_learn", "Scikit.Learn"):
        assert ids(one(pypa, name, "0.23.0")) == {"PYSEC-2020-107", "PYSEC-2020-108"}
    assert ids(one(pypa, "scikit_learn", "0.23.2")) == {"PYSEC-2020-108"}


def test_non_canonical_folder_is_indexed_by_package_name(pypa: LocalOsvDatabase) -> None:
    # The snapshot keeps PYSEC-2020-341 in vulns/jw.util/; the canonical name is jw-util.
    for name in ("jw.util", "jw-util", "JW_Util"):
        assert ids(one(pypa, name, "2.2")) == {"PYSEC-2020-341"}
    assert one(pypa, "jw-util", "2.3").status == "clean"


def test_real_edge_cases(pypa: LocalOsvDatabase) -> None:
    # loguru: PYSEC-2022-14 is fixed in 0.5.3; PYSEC-2022-15 is withdrawn and has no ranges at all.
    assert ids(one(pypa, "loguru", "0.5.0")) == {"PYSEC-2022-14"}
    assert one(pypa, "loguru", "0.7.0").status == "clean"
    # py: PYSEC-2022-42969 has last_affected 1.11.0.
    assert ids(one(pypa, "py", "1.11.0")) == {"PYSEC-2022-42969"}
    # gratient: PYSEC-2024-1 lists version 0.5 only, no ranges.
    assert ids(one(pypa, "gratient", "0.5")) == {"PYSEC-2024-1"}
    assert one(pypa, "gratient", "0.4").status == "clean"


def test_real_unparsable_fixed_event_is_not_audited(pypa: LocalOsvDatabase) -> None:
    # steam's PYSEC-2019-125 is "fixed: 2019-09-12", which PEP 440 cannot order; no versions list.
    result = one(pypa, "steam", "1.0")
    assert result.status == "not_audited" and result.advisories == ()
    assert result.reason is not None and "PYSEC-2019-125" in result.reason and "2019-09-12" in result.reason


def test_unparsable_installed_version_is_not_audited(pypa: LocalOsvDatabase) -> None:
    result = one(pypa, "Jinja2", "1.0-custom+weird!!")
    assert result.status == "not_audited" and result.advisories == ()
    assert result.reason is not None and "'1.0-custom+weird!!'" in result.reason


def test_second_open_of_the_snapshot_uses_the_cache(
    pypa: LocalOsvDatabase, pypa_cache: Path, parse_calls: list[Path]
) -> None:
    second = LocalOsvDatabase.open(SNAPSHOT, cache_dir=pypa_cache)
    assert parse_calls == []
    assert second.info == pypa.info
    packages = [("jinja2", "2.10"), ("pyyaml", "5.3"), ("steam", "1.0"), ("django", "3.2")]
    assert second.audit(packages) == pypa.audit(packages)


def test_many_packages(pypa: LocalOsvDatabase) -> None:
    packages = [(f"auditor-example-{n}", "1.0.0") for n in range(1990)] + [("jinja2", "2.10")] * 10
    results = pypa.audit(packages)
    assert len(results) == 2000
    assert [r.status for r in results].count("vulnerable") == 10


# --- the hand-written database ------------------------------------------------------------------------------


def test_git_ranges_are_ignored(small: Path) -> None:
    db = LocalOsvDatabase.open(small)
    result = one(db, "acme-widgets", "1.1")
    assert result.status == "vulnerable" and ids(result) == {"TEST-2024-1"}
    [advisory] = result.advisories
    assert advisory.fixed_versions == ("1.2.0",)  # not the GIT commit
    assert advisory.severity == (("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"),)
    assert advisory.published == "2024-01-02T03:04:05Z"  # unquoted in YAML: a datetime, turned back into text
    assert advisory.summary == "Path traversal in acme-widgets archive extraction"
    # A GIT event such as "fixed: 0123...567" is no PEP 440 version; evaluating it would make this not audited.
    assert one(db, "acme-widgets", "1.2.0").status == "clean"


@pytest.mark.parametrize(
    ("version", "affected"),
    [
        ("1.9", False),
        ("2.0", True),
        ("2.3.1", True),  # last_affected is inclusive
        ("2.3.2", False),
        ("2.9", False),
        ("3.0", True),
        ("3.0.2rc1", True),  # a pre-release of the fix is before the fix
        ("3.0.2", False),
        ("4.0", False),
    ],
)
def test_last_affected_and_unsorted_events(small: Path, version: str, affected: bool) -> None:
    result = one(LocalOsvDatabase.open(small), "acme-widgets", version)
    assert ids(result) == ({"TEST-2024-2"} if affected else set())
    assert result.status == ("vulnerable" if affected else "clean")


@pytest.mark.parametrize(
    ("name", "version", "affected"),
    [
        ("acme-gadgets", "1.0", True),
        ("Acme.Gadgets", "1.0.0", True),  # PEP 440 equal to the listed "1.0"
        ("acme_gadgets", "1.1", True),  # listed as 1.1.0
        ("acme-gadgets", "1.2rc1", True),
        ("acme-gadgets", "1.2.0-rc.1", True),  # the same version, spelled another way
        ("acme-gadgets", "1.2", False),
        ("acme-gadgets", "0.9", False),
    ],
)
def test_versions_only_advisory(small: Path, name: str, version: str, affected: bool) -> None:
    result = one(LocalOsvDatabase.open(small), name, version)
    assert (result.status, ids(result)) == (("vulnerable", {"TEST-2024-3"}) if affected else ("clean", set()))


def test_withdrawn_advisories_are_skipped(small: Path) -> None:
    db = LocalOsvDatabase.open(small)
    result = one(db, "acme-retired", "1.0")
    assert (result.status, result.reason) == ("clean", NOT_IN_DATABASE)
    assert db.info.advisories == 8  # a withdrawn record is still a record of the database


def test_json_advisories(small: Path) -> None:
    db = LocalOsvDatabase.open(small)
    result = one(db, "acme-json", "0.6")
    assert ids(result) == {"TEST-2024-5"}
    assert result.advisories[0].summary == "Denial of service in acme-json"
    assert result.advisories[0].references == ("https://example.invalid/advisories/5",)
    assert one(db, "acme-json", "0.9").status == "clean"
    assert one(db, "acme-json", "0.4").status == "clean"


def test_other_ecosystems_are_ignored(small: Path) -> None:
    db = LocalOsvDatabase.open(small)
    assert ids(one(db, "acme-multi", "1.5")) == {"TEST-2024-7"}
    assert one(db, "acme-multi", "2.5").status == "clean"  # the npm entry affects every version


def test_unparsable_event_is_not_audited_unless_listed(small: Path) -> None:
    db = LocalOsvDatabase.open(small)
    assert ids(one(db, "acme-odd", "0.2")) == {"TEST-2024-6"}  # the versions list proves it
    result = one(db, "acme-odd", "0.3")
    assert result.status == "not_audited" and result.advisories == ()
    assert result.reason == "TEST-2024-6: fixed version '2024-02-30-build' is not a PEP 440 version"


def test_semver_range_is_not_audited(small: Path) -> None:
    result = one(LocalOsvDatabase.open(small), "acme-semver", "1.2.0")
    assert result.status == "not_audited"
    assert result.reason is not None and "SEMVER" in result.reason


def test_unparsable_installed_version(small: Path) -> None:
    db = LocalOsvDatabase.open(small)
    result = one(db, "acme-widgets", "1.0-custom+weird!!")
    assert (result.status, result.advisories) == ("not_audited", ())
    assert result.reason == "installed version '1.0-custom+weird!!' is not a PEP 440 version"
    # With no advisory naming a covered package, its version does not matter.
    assert one(db, "acme-retired", "1.0-custom+weird!!").status == "clean"
    outside = one(db, "acme-unknown", "1.0-custom+weird!!")  # but a package outside the coverage is never clean
    assert (outside.status, outside.advisories) == ("not_audited", ())
    assert outside.reason is not None and "does not cover it" in outside.reason


def test_date_falls_back_to_newest_modified(small: Path) -> None:
    manifest = json.loads((small / MANIFEST).read_text())
    (small / MANIFEST).write_text(json.dumps({**manifest, "date": "2024-06-05"}))
    assert LocalOsvDatabase.open(small).info.date == "2024-06-05"  # the manifest's date wins
    del manifest["date"]
    (small / MANIFEST).write_text(json.dumps(manifest))
    db = LocalOsvDatabase.open(small)
    assert (db.info.commit, db.info.date, db.info.problems) == (None, "2024-06-01", ())
    assert db.age_days(date(2024, 6, 11)) == 10


def test_commit_of_a_git_checkout(small: Path) -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    git = small / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "packed-refs").write_text(f"# pack-refs with: peeled fully-peeled sorted\n{sha} refs/heads/main\n")
    (git / "config.yaml").write_text("not: [an advisory")  # hidden folders are not scanned
    assert LocalOsvDatabase.open(small).info.commit == sha
    loose = sha[::-1]
    (git / "refs" / "heads" / "main").write_text(loose + "\n")
    assert LocalOsvDatabase.open(small).info.commit == loose
    (git / "HEAD").write_text(sha + "\n")  # detached
    info = LocalOsvDatabase.open(small).info
    assert (info.commit, info.problems) == (sha, ())


# --- broken databases -----------------------------------------------------------------------------------------


def test_malformed_yaml_marks_its_package_not_audited(small: Path) -> None:
    (small / "vulns" / "acme-json" / "TEST-2024-9.yaml").write_text("id: TEST-2024-9\naffected: [unclosed\n")
    redeclare(small)
    db = LocalOsvDatabase.open(small)
    [problem] = db.info.problems
    assert problem.startswith("vulns/acme-json/TEST-2024-9.yaml: ")
    assert db.info.advisories == 8
    for version in ("0.4", "0.9"):  # clean by TEST-2024-5, but the broken file may say otherwise
        result = one(db, "acme-json", version)
        assert result.status == "not_audited"
        assert result.reason is not None and "vulns/acme-json/TEST-2024-9.yaml" in result.reason
    vulnerable = one(db, "acme-json", "0.6")  # proven affected all the same; the reason keeps the caveat
    assert vulnerable.status == "vulnerable" and ids(vulnerable) == {"TEST-2024-5"}
    assert vulnerable.reason is not None and "TEST-2024-9.yaml" in vulnerable.reason
    assert one(db, "acme-multi", "2.5").status == "clean"  # other packages are unaffected


def test_wrong_shape_names_the_package_from_its_content(small: Path) -> None:
    # Unquoted 1.10 is the float 1.1 in YAML: reading it as text would silently change the bound.
    (small / "stray.yaml").write_text(
        "id: TEST-2024-10\naffected:\n- package: {name: Acme_Float, ecosystem: PyPI}\n"
        "  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: '0'\n    - fixed: 1.10\n"
    )
    redeclare(small)
    db = LocalOsvDatabase.open(small)
    assert db.info.problems == ("stray.yaml: the fixed version must be a str, not float",)
    result = one(db, "acme-float", "1.5")
    assert result.status == "not_audited"
    assert result.reason == (
        "advisory file stray.yaml: the fixed version must be a str, not float; the advisory database does not cover"
        f" it: it covers the {len(SMALL_PACKAGES)} package(s) listed in {MANIFEST}, from hand-written test advisories"
        " (see README.md)"
    )


@pytest.mark.parametrize(
    ("events", "status", "problem"),
    [
        ("- introduced: 0\n    - fixed: 2", "vulnerable", None),  # unquoted ints are read exactly
        ("- introduced: '0'\n    - limit: '2.0'", "not_audited", None),  # an event auditor does not evaluate
        ("- fixed: '2.0'", "not_audited", "stray.yaml: a range has no introduced event"),
        ("- introduced: '0'\n      fixed: '2.0'", "not_audited", "stray.yaml: a range event must have exactly one key"),
    ],
)
def test_event_shapes(small: Path, events: str, status: str, problem: str | None) -> None:
    (small / "stray.yaml").write_text(
        "id: TEST-2024-14\naffected:\n- package: {name: acme-events, ecosystem: PyPI}\n"
        f"  ranges:\n  - type: ECOSYSTEM\n    events:\n    {events}\n"
    )
    db = LocalOsvDatabase.open(small)
    assert one(db, "acme-events", "1.5").status == status
    assert [p[: len(problem or "")] for p in db.info.problems] == ([problem] if problem else [])


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("id: [unclosed\n", "while parsing a flow sequence"),
        ("- just\n- a list\n", "an OSV advisory must be a dict, not list"),
        ("", "an OSV advisory must be a dict, not NoneType"),
        ("affected: []\n", "id must be a str, not NoneType"),
        ("id: TEST-2024-11\naffected: 5\n", "affected must be a list, not int"),
    ],
)
def test_an_unattributable_broken_file_leaves_no_package_clean(small: Path, text: str, problem: str) -> None:
    """A file in a flat folder that cannot be read could be about any package: none may pass as clean."""
    (small / "vulns" / "TEST-2024-11.yaml").write_text(text)
    redeclare(small)
    db = LocalOsvDatabase.open(small)
    assert db.info.incomplete is not None and db.info.incomplete.startswith("is damaged: advisory file vulns/TEST-")
    [reported] = db.info.problems
    assert reported.startswith("vulns/TEST-2024-11.yaml: ") and problem in reported
    packages = [(name, version) for name in SMALL_PACKAGES for version in ("0.1", "1.0", "2.0", "99.0")]
    for before, after in zip(LocalOsvDatabase.open(SMALL).audit(packages), db.audit(packages), strict=True):
        assert after.status == ("vulnerable" if before.status == "vulnerable" else "not_audited"), after
        assert after.advisories == before.advisories
        assert "TEST-2024-11.yaml" in (after.reason or "")
    assert one(db, "never-mentioned-anywhere", "1.0").status == "not_audited"


def test_a_folder_without_pypi_advisories_is_unusable(tmp_path: Path) -> None:
    (tmp_path / "auditor.yaml").write_text("foo: bar\n")
    (tmp_path / "npm.json").write_text('{"id": "GHSA-x", "affected": [{"package": {"ecosystem": "npm", "name": "a"}}]}')
    with pytest.raises(AdvisoryDatabaseError, match="no PyPI advisories found"):
        LocalOsvDatabase.open(tmp_path)


def test_malformed_json_is_a_problem(small: Path) -> None:
    (small / "vulns" / "acme-json" / "TEST-2024-12.json").write_text('{"id": "TEST-2024-12", ')
    db = LocalOsvDatabase.open(small)
    assert [p.split(":")[0] for p in db.info.problems] == ["vulns/acme-json/TEST-2024-12.json"]
    assert one(db, "acme-json", "0.9").status == "not_audited"


def test_missing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-database"
    with pytest.raises(AdvisoryDatabaseError) as caught:
        LocalOsvDatabase.open(missing)
    assert str(missing) in caught.value.message and "\n" not in caught.value.message
    assert caught.value.exit_code == EXIT_COULD_NOT_EVALUATE


@pytest.mark.parametrize("content", [[], ["README.md", "LICENSE"], [".git/HEAD", ".hidden.yaml"]])
def test_folder_without_advisories(tmp_path: Path, content: list[str]) -> None:
    for name in content:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    with pytest.raises(AdvisoryDatabaseError, match="holds no OSV advisory files") as caught:
        LocalOsvDatabase.open(tmp_path)
    assert str(tmp_path) in caught.value.message


def test_a_file_is_not_a_database(tmp_path: Path) -> None:
    file = tmp_path / "advisories.yaml"
    file.write_text("id: X\n")
    with pytest.raises(AdvisoryDatabaseError, match="not a folder"):
        LocalOsvDatabase.open(file)


# --- the on-disk cache ----------------------------------------------------------------------------------------


def cache_files(cache: Path) -> list[Path]:
    return sorted(cache.glob("*.json"))


def test_second_open_uses_the_cache(small: Path, tmp_path: Path, parse_calls: list[Path]) -> None:
    cache = tmp_path / "cache"
    first = LocalOsvDatabase.open(small, cache_dir=cache)
    assert len(parse_calls) == 8 and len(cache_files(cache)) == 1
    parse_calls.clear()
    second = LocalOsvDatabase.open(small, cache_dir=cache)
    assert parse_calls == []
    assert second.info == first.info
    packages = [("acme-widgets", "2.0"), ("acme-odd", "0.3"), ("acme-gadgets", "1.0")]
    assert second.audit(packages) == first.audit(packages)


def test_changed_file_invalidates_the_cache(small: Path, tmp_path: Path, parse_calls: list[Path]) -> None:
    cache = tmp_path / "cache"
    assert one(LocalOsvDatabase.open(small, cache_dir=cache), "acme-json", "0.9").status == "clean"
    advisory = small / "vulns" / "acme-json" / "TEST-2024-5.json"
    advisory.write_text(advisory.read_text().replace('"fixed": "0.9"', '"fixed": "0.10"'))
    touch_later(advisory)
    parse_calls.clear()
    db = LocalOsvDatabase.open(small, cache_dir=cache)
    assert len(parse_calls) == 8
    assert ids(one(db, "acme-json", "0.9")) == {"TEST-2024-5"}
    assert len(cache_files(cache)) == 1  # the stale index was replaced, not kept beside


def test_added_file_invalidates_the_cache(small: Path, tmp_path: Path, parse_calls: list[Path]) -> None:
    cache = tmp_path / "cache"
    LocalOsvDatabase.open(small, cache_dir=cache)
    shutil.copy(small / "vulns" / "acme-json" / "TEST-2024-5.json", small / "vulns" / "acme-json" / "TEST-2024-13.json")
    parse_calls.clear()
    LocalOsvDatabase.open(small, cache_dir=cache)
    assert len(parse_calls) == 9


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda data: b"",
        lambda data: data[: len(data) // 2],  # truncated
        lambda data: data.replace(b"TEST-2024-5", b"TEST-2024-X"),  # valid JSON, wrong checksum
        lambda data: b"not a checksum\n{}",
    ],
)
def test_corrupt_cache_is_rebuilt(
    small: Path, tmp_path: Path, parse_calls: list[Path], corrupt: Callable[[bytes], bytes]
) -> None:
    cache = tmp_path / "cache"
    expected = LocalOsvDatabase.open(small, cache_dir=cache).audit([("acme-json", "0.6")])
    [file] = cache_files(cache)
    file.write_bytes(corrupt(file.read_bytes()))
    parse_calls.clear()
    db = LocalOsvDatabase.open(small, cache_dir=cache)
    assert len(parse_calls) == 8
    assert db.audit([("acme-json", "0.6")]) == expected
    parse_calls.clear()
    LocalOsvDatabase.open(small, cache_dir=cache)  # the rebuilt cache was written back
    assert parse_calls == []


def test_cache_for_another_state_is_not_used(small: Path, tmp_path: Path, parse_calls: list[Path]) -> None:
    cache = tmp_path / "cache"
    LocalOsvDatabase.open(small, cache_dir=cache)
    [file] = cache_files(cache)
    other = file.with_name(file.name[:21] + "0" * 64 + ".json")  # a valid cache renamed to another key
    file.rename(other)
    parse_calls.clear()
    LocalOsvDatabase.open(small, cache_dir=cache)
    assert len(parse_calls) == 8


def test_unwritable_cache_is_not_fatal(small: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    db = LocalOsvDatabase.open(small, cache_dir=blocker)
    assert ids(one(db, "acme-json", "0.6")) == {"TEST-2024-5"}
    assert list(tmp_path.glob(".osv-*")) == []

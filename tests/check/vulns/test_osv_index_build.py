"""The advisory index built by worker processes is the one this process builds, problems included; a
worker that cannot run leaves the work to this process; the lazily read cache answers as the built one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from auditor.check.vulns import osv_index
from auditor.check.vulns.osv_local import LocalOsvDatabase
from tests.conftest import FIXTURES

SMALL = FIXTURES / "advisories" / "small"


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    """The small database plus an unreadable file in a package folder and one naming another package."""
    root = Path(shutil.copytree(SMALL, tmp_path / "db"))
    (root / "vulns" / "acme-widgets" / "TEST-2024-90.yaml").write_text("id: [unclosed\n")
    (root / "vulns" / "acme-json" / "TEST-2024-91.yaml").write_text(
        "id: TEST-2024-91\naffected:\n- package: {name: acme-other, ecosystem: PyPI}\n  ranges: 7\n"
    )
    return root


def _serial(root: Path) -> osv_index.Index:
    return osv_index._build_index(root, osv_index.advisory_files(root), "key")


def test_workers_build_the_same_index(damaged: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _serial(damaged)
    assert len(expected["problems"]) == 2 and "acme-other" in expected["broken"]
    monkeypatch.setattr(osv_index, "_FILES_PER_WORKER", 2)
    monkeypatch.setattr(osv_index, "_cores", lambda: 3)
    calls: list[int] = []
    real = osv_index._in_workers

    def counted(items: list[tuple[str, Path]], workers: int) -> list[osv_index.Parsed] | None:
        calls.append(workers)
        answer = real(items, workers)
        assert answer is not None  # the workers really ran
        return answer

    monkeypatch.setattr(osv_index, "_in_workers", counted)
    assert _serial(damaged) == expected
    assert calls == [3]


def test_a_worker_that_cannot_start_leaves_the_work_here(damaged: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _serial(damaged)
    monkeypatch.setattr(osv_index, "_FILES_PER_WORKER", 2)
    monkeypatch.setattr(osv_index, "_cores", lambda: 4)
    monkeypatch.setattr("sys.executable", str(damaged / "no-such-python"))
    assert osv_index._in_workers(list(osv_index.advisory_files(damaged).items()), 4) is None
    assert _serial(damaged) == expected


def test_the_cached_index_answers_as_the_built_one(damaged: Path, tmp_path: Path) -> None:
    packages = [("acme-widgets", "2.1"), ("acme-json", "0.6"), ("acme-other", "1.0"), ("unknown", "1.0")]
    built = LocalOsvDatabase.open(damaged, cache_dir=tmp_path / "cache")
    cached = LocalOsvDatabase.open(damaged, cache_dir=tmp_path / "cache")
    assert isinstance(cached._index["packages"], osv_index.LazyPackages)
    assert cached.info == built.info and cached.audit(packages) == built.audit(packages)
    [file] = (tmp_path / "cache").glob("*.json")
    data = file.read_bytes()
    file.write_bytes(data[:-40] + b"[]" * 20)  # the records of the last package replaced: checksum fails
    again = LocalOsvDatabase.open(damaged, cache_dir=tmp_path / "cache")
    assert isinstance(again._index["packages"], dict)  # rebuilt, not trusted
    assert again.audit(packages) == built.audit(packages)


def test_a_prebuilt_index_is_used_only_whole_and_built_from_the_files_there(damaged: Path, tmp_path: Path) -> None:
    """The index `advisories update` keeps in the database: read when the cache is cold, checked by its
    sha256 and by the content of every advisory; a damaged or stale one is rebuilt from the files."""
    packages = [("acme-widgets", "2.1"), ("acme-json", "0.6"), ("acme-other", "1.0"), ("unknown", "1.0")]
    files = osv_index.advisory_files(damaged)
    built = LocalOsvDatabase.open(damaged)
    osv_index.write_prebuilt(damaged, files, built._index)
    assert osv_index.advisory_files(damaged) == files  # hidden: never taken for an advisory
    prebuilt = damaged / osv_index.PREBUILT
    kept = prebuilt.read_bytes()

    def cold() -> LocalOsvDatabase:
        shutil.rmtree(tmp_path / "cache", ignore_errors=True)
        return LocalOsvDatabase.open(damaged, cache_dir=tmp_path / "cache")

    used = cold()
    assert isinstance(used._index["packages"], osv_index.LazyPackages)
    assert used.info == built.info and used.audit(packages) == built.audit(packages)
    cached = LocalOsvDatabase.open(damaged, cache_dir=tmp_path / "cache")  # the cache it wrote answers the same
    assert isinstance(cached._index["packages"], osv_index.LazyPackages)
    assert cached.info == built.info and cached.audit(packages) == built.audit(packages)
    prebuilt.write_bytes(kept[:-40] + b"[]" * 20)  # damaged: its checksum fails
    assert isinstance(cold()._index["packages"], dict)
    prebuilt.write_bytes(kept)
    advisory = damaged / "vulns" / "acme-widgets" / "TEST-2024-2.yaml"
    advisory.write_text(advisory.read_text().replace('introduced: "2.0"', 'introduced: "2.2"'))
    stale = cold()  # the kept index was built from the old advisory: not used
    assert isinstance(stale._index["packages"], dict)
    assert stale.audit(packages) == LocalOsvDatabase.open(damaged).audit(packages) != built.audit(packages)
    assert [a.status for a in built.audit(packages[:1])] == ["vulnerable"]  # TEST-2024-2, no longer


def _early_workers(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Small shares (the test databases are small); the count of workers started anew, not early."""
    monkeypatch.setattr(osv_index, "_FILES_PER_WORKER", 2)
    monkeypatch.setattr(osv_index, "_cores", lambda: 3)
    calls: list[int] = []
    real = osv_index._in_workers

    def counted(items: list[tuple[str, Path]], workers: int) -> list[osv_index.Parsed] | None:
        calls.append(workers)
        return real(items, workers)

    monkeypatch.setattr(osv_index, "_in_workers", counted)
    return calls


def test_workers_started_early_give_the_index_and_are_taken(
    damaged: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`auditor check` starts parsing before it reads the record; the index built from those workers is
    the one built here, and no other worker is started."""
    expected = _serial(damaged)
    calls = _early_workers(monkeypatch)
    osv_index.start_early(damaged, tmp_path / "cache")
    started = osv_index._EARLY["parse"]
    try:
        files = osv_index.listed_files(damaged)
        index = osv_index.load_index(damaged, files, tmp_path / "cache")
    finally:
        osv_index.stop_early()
    assert calls == [] and "parse" not in osv_index._EARLY
    assert all(proc.poll() is not None for proc, _ in started.procs)  # reaped
    assert {k: v for k, v in index.items() if k != "key"} == {k: v for k, v in expected.items() if k != "key"}


def test_workers_started_early_for_other_files_are_not_used(
    damaged: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file added after the early start: its outcomes are dropped, the workers ended, the files indexed anew."""
    calls = _early_workers(monkeypatch)
    osv_index.start_early(damaged, None)
    started = osv_index._EARLY["parse"]
    (damaged / "vulns" / "acme-json" / "TEST-2024-92.yaml").write_text("id: [unclosed\n")
    osv_index._LISTED.clear()  # a listing taken later, as a check that lists again would see it
    try:
        index = osv_index.load_index(damaged, osv_index.listed_files(damaged), None)
    finally:
        osv_index.stop_early()
    assert calls == [3] and all(proc.poll() is not None for proc, _ in started.procs)
    assert {k: v for k, v in index.items() if k != "key"} == {k: v for k, v in _serial(damaged).items() if k != "key"}
    assert any("TEST-2024-92" in problem for problem in index["problems"])


def test_nothing_starts_early_when_a_cache_answers_and_stop_early_ends_what_did(
    damaged: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _early_workers(monkeypatch)
    LocalOsvDatabase.open(damaged, cache_dir=tmp_path / "cache")  # the cache is written
    osv_index.start_early(damaged, tmp_path / "cache")
    assert "parse" not in osv_index._EARLY
    osv_index.stop_early()
    osv_index.start_early(damaged, tmp_path / "other-cache")
    started = osv_index._EARLY["parse"]
    osv_index.stop_early()  # the check failed before it needed the index
    assert all(proc.poll() is not None for proc, _ in started.procs) and not osv_index._LISTED


def test_the_check_starts_early_only_when_a_rule_of_its_pack_asks_for_vulnerabilities(
    damaged: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pack without a vulnerability rule never needs the index: nothing is parsed for it. The record is
    read after the early start, so a store without the run still shows whether it started."""
    from auditor.check.options import CheckOptions, prepare
    from auditor.errors import AuditorError

    _early_workers(monkeypatch)
    pack = tmp_path / "runs-only.yaml"
    pack.write_text(
        "pack: runs-only\nversion: 1\ndescription: d\nincludes: []\nrules:\n  - id: R-1\n    title: t\n"
        "    severity: high\n    rationale: r\n    remediation: m\n    references: []\n"
        "    check: {kind: run_succeeded}\n"
    )
    env = {"AUDITOR_CACHE_DIR": str(tmp_path / "cache")}
    for policies, starts in (((str(pack),), False), (("default",), True)):
        options = CheckOptions(
            run_ref="latest", store=tmp_path / "store", cwd=tmp_path, policies=policies,
            vuln_source="local", advisory_db=damaged,
        )  # fmt: skip
        try:
            with pytest.raises(AuditorError):
                prepare(options, env, early_advisories=True)
            assert ("parse" in osv_index._EARLY) is starts
        finally:
            osv_index.stop_early()


def test_starting_workers_does_not_wait_for_them_to_read_their_lists(
    damaged: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A list larger than a pipe holds (64 KiB) is written on a thread: the check goes on reading its record
    while the workers start (here they take 2 s before they read), and their answers are whole."""
    import stat
    import sys
    import time

    slow = tmp_path / "slow-python"
    slow.write_text(f'#!/bin/sh\nsleep 2\nexec "{sys.executable}" "$@"\n')
    slow.chmod(slow.stat().st_mode | stat.S_IXUSR)
    items = list(osv_index.advisory_files(damaged).items()) * 500
    assert len(repr(items)) > 4 * 65536
    monkeypatch.setattr("sys.executable", str(slow))
    start = time.monotonic()
    started = osv_index._Workers.start(items, 2)
    assert started is not None
    assert time.monotonic() - start < 1.5
    assert started.collect() == [osv_index._parse_one(rel, path) for rel, path in items]


def test_workers_whose_list_cannot_be_handed_over_are_stopped_and_the_work_done_here(
    damaged: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No thread to write a worker's list (a thread limit): the workers are ended, their pipes closed, and the
    index is built by this process, as when a worker cannot start."""
    import os
    import types

    expected = _serial(damaged)

    class NoThread:
        def __init__(self, **_: object) -> None:
            pass

        def start(self) -> None:
            raise RuntimeError("can't start new thread")

    monkeypatch.setattr(osv_index, "threading", types.SimpleNamespace(Thread=NoThread))
    monkeypatch.setattr(osv_index, "_FILES_PER_WORKER", 2)
    monkeypatch.setattr(osv_index, "_cores", lambda: 3)
    open_before = len(os.listdir("/proc/self/fd"))
    assert osv_index._in_workers(list(osv_index.advisory_files(damaged).items()), 3) is None
    assert len(os.listdir("/proc/self/fd")) == open_before
    assert _serial(damaged) == expected

"""`auditor advisories update` and `status` through the installed CLI, against a loopback HTTP server
serving archives built from the test advisories; then `auditor check` on the database it installed."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import stat
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tests.check.test_check_cli import _store, _with_packages
from tests.conftest import FIXTURES, CliRunner, base_env
from tests.factories import make_record

SMALL = FIXTURES / "advisories" / "small"
# name -> (status, body, extra headers); "cut:" bodies announce their full length and send half
Routes = dict[str, tuple[int, bytes, dict[str, str]]]


def _advisories(skip: str | None = None) -> Iterator[tuple[str, bytes]]:
    for path in sorted((SMALL / "vulns").rglob("*")):
        if path.is_file() and (skip is None or path.parent.name != skip):
            yield path.relative_to(SMALL).as_posix(), path.read_bytes()


def pypa_zip(skip: str | None = None) -> bytes:
    """GitHub's zip of pypa/advisory-database: one top folder, advisories under vulns/, other files beside."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("advisory-database-main/README.md", "PyPA advisory database\n")
        for rel, data in _advisories(skip):
            archive.writestr(f"advisory-database-main/{rel}", data)
    return out.getvalue()


def pypa_tarball(link: str | None = None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for rel, data in _advisories():
            info = tarfile.TarInfo(f"advisory-database-main/{rel}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        if link is not None:  # a link among the advisories, pointing out of the folder
            info = tarfile.TarInfo(link)
            info.type = tarfile.SYMTYPE
            info.linkname = "../../../../etc/passwd"
            archive.addfile(info)
    return out.getvalue()


def osv_export() -> bytes:
    """The OSV PyPI export's layout: one <ID>.json per advisory at the top of all.zip."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for rel, data in _advisories():
            doc = json.loads(data) if rel.endswith(".json") else yaml.safe_load(data)
            text = json.dumps(doc, default=lambda v: v.isoformat() if isinstance(v, date | datetime) else str(v))
            archive.writestr(f"{doc['id']}.json", text)
    return out.getvalue()


def _zip_with(name: str, data: bytes, mode: int | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for rel, content in _advisories():
            archive.writestr(f"db/{rel}", content)
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        if mode is not None:
            info.external_attr = mode << 16
        archive.writestr(info, data)
    return out.getvalue()


def _corrupt(data: bytes) -> bytes:
    """Flip bytes inside the first member's compressed data: the central directory still reads."""
    broken = bytearray(data)
    for at in range(60, 90):
        broken[at] ^= 0xFF
    return bytes(broken)


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()  # noqa: S324 - what GCS publishes


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    good = osv_export()
    routes: Routes = {
        "/PyPI/all.zip": (200, good, {"x-goog-hash": f"crc32c=AAAAAA==,md5={_md5(good)}"}),
        "/lying-md5/all.zip": (200, good, {"x-goog-hash": f"md5={_md5(b'other')}"}),
        "/pypa.zip": (200, pypa_zip(), {}),
        "/pypa-without-widgets.zip": (200, pypa_zip(skip="acme-widgets"), {}),
        "/pypa.tar.gz": (200, pypa_tarball(), {}),
        "/link.tar.gz": (200, pypa_tarball(link="advisory-database-main/vulns/acme-x/X.yaml"), {}),
        "/truncated.tar.gz": (200, pypa_tarball()[:-200], {}),
        "/corrupt.zip": (200, _corrupt(pypa_zip()), {}),
        "/truncated.zip": (200, pypa_zip()[: len(pypa_zip()) // 2], {}),
        "/cut.zip": (200, pypa_zip(), {"cut": "yes"}),
        "/evil.zip": (200, _zip_with("db/vulns/../../../escape.yaml", b"id: X\n"), {}),
        "/link.zip": (200, _zip_with("db/vulns/acme-link/L.yaml", b"/etc/passwd", stat.S_IFLNK | 0o777), {}),
        "/bomb.zip": (200, _zip_with("db/vulns/acme-bomb/B.yaml", b"\0" * (40 << 20)), {}),
        "/bad-record.zip": (200, _zip_with("db/vulns/acme-bad/BAD-1.yaml", b"id: BAD-1\naffected: 7\n"), {}),
        "/not-advisories.zip": (200, _zip_with("README.md", b"hello"), {}),
    }
    routes["/not-advisories.zip"] = (200, _plain_zip({"README.md": b"hello", "docs/a.txt": b"x"}), {})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path not in routes:
                self.send_error(404, "Not Found")
                return
            status, body, headers = routes[self.path]
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                if key != "cut":
                    self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if headers.get("cut") else body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _plain_zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def _env(tmp_path: Path) -> dict[str, str]:
    return base_env(AUDITOR_CACHE_DIR=str(tmp_path / "cache"))


def _status(cli: CliRunner, tmp_path: Path) -> dict[str, object]:
    done = cli("advisories", "status", "--format", "json", cwd=tmp_path, env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def _vuln_findings(cli: CliRunner, tmp_path: Path) -> tuple[int, dict[str, dict[str, object]], dict[str, object]]:
    done = cli(
        "check", "latest", "--store", str(tmp_path / "store"), "--format", "json", cwd=tmp_path, env=_env(tmp_path)
    )
    report = json.loads(done.stdout)
    found = {f["subject"]: f for f in report["findings"] if f["rule_id"] == "AUD-VULN-001"}
    return done.returncode, found, report["vulnerabilities"]


def test_update_from_the_osv_export_checks_the_published_md5(cli: CliRunner, tmp_path: Path, server: str) -> None:
    assert _status(cli, tmp_path)["installed"] is False
    done = cli("advisories", "update", "--from", f"{server}/PyPI/all.zip", cwd=tmp_path, env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "installed 8 advisories (osv-export, dated 2024-06-01)" in done.stdout
    assert "md5" in done.stdout and "verified" in done.stdout
    status = _status(cli, tmp_path)
    assert (status["installed"], status["advisories"], status["date"], status["layout"]) == (
        True,
        8,
        "2024-06-01",
        "osv-export",
    )
    assert status["source"] == f"{server}/PyPI/all.zip" and str(status["checksum"]).startswith("md5 ")
    assert isinstance(status["age_days"], int) and status["age_days"] > 30
    text = cli("advisories", "status", cwd=tmp_path, env=_env(tmp_path)).stdout
    assert "advisories: 8" in text and "days old" in text


def test_check_uses_the_updated_database_by_default(cli: CliRunner, tmp_path: Path, server: str) -> None:
    _store(tmp_path, _with_packages(make_record(), ("acme-widgets", "2.1"), ("numpy", "2.1.0")))
    env = _env(tmp_path)
    first = cli("advisories", "update", "--from", f"{server}/pypa-without-widgets.zip", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    _, found, summary = _vuln_findings(cli, tmp_path)
    assert found["package:acme-widgets"]["outcome"] == "pass"  # that database holds no advisory for it
    old_folder = _status(cli, tmp_path)["database"]
    assert summary["source"] == "osv-local" and summary["location"] == old_folder
    second = cli("advisories", "update", "--from", f"{server}/pypa.zip", cwd=tmp_path, env=env)
    assert second.returncode == 0, second.stderr
    code, found, summary = _vuln_findings(cli, tmp_path)
    assert found["package:acme-widgets"]["outcome"] == "fail"
    assert "TEST-2024-2" in str(found["package:acme-widgets"]["message"])
    assert found["package:numpy"]["outcome"] == "pass"  # the installed database covers the ecosystem
    assert summary["location"] == _status(cli, tmp_path)["database"] != old_folder
    assert (summary["date"], summary["stale"]) == ("2024-06-01", True)
    assert code == 1
    # --advisory-db still wins over the installed database
    done = cli(
        "check", "latest", "--store", str(tmp_path / "store"), "--format", "json", "--advisory-db",
        str(SMALL), cwd=tmp_path, env=env,
    )  # fmt: skip
    assert json.loads(done.stdout)["vulnerabilities"]["location"] == str(SMALL)


def test_update_from_a_file_a_tarball_and_stdin(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "db.tar.gz").write_bytes(pypa_tarball())
    done = cli("advisories", "update", "--from", str(tmp_path / "db.tar.gz"), cwd=tmp_path, env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "installed 8 advisories (pypa-advisory-database" in done.stdout
    data = pypa_zip()
    digest = hashlib.sha256(data).hexdigest()
    (tmp_path / "db.zip").write_bytes(data)
    done = cli("advisories", "update", "--from", "-", cwd=tmp_path, env=_env(tmp_path), input="")
    assert done.returncode == 2 and "-: not a zip or tar archive" in done.stderr  # stdin, empty
    done = cli("advisories", "update", "--from", str(tmp_path / "db.zip"), "--sha256", digest, cwd=tmp_path,
               env=_env(tmp_path))  # fmt: skip
    assert done.returncode == 0 and f"sha256 {digest}" in done.stdout, done.stderr


@pytest.mark.parametrize(
    ("route", "says"),
    [
        ("/corrupt.zip", "damaged"),
        ("/truncated.zip", "zip"),
        ("/cut.zip", "truncated"),
        ("/evil.zip", "unsafe path"),
        ("/link.zip", "a link or a special file"),
        ("/link.tar.gz", "a link or a special file"),
        ("/truncated.tar.gz", "truncated"),
        ("/bomb.zip", "bytes"),
        ("/bad-record.zip", "BAD-1.yaml"),
        ("/not-advisories.zip", "holds no OSV advisories"),
        ("/lying-md5/all.zip", "x-goog-hash"),
        ("/missing.zip", "HTTP 404"),
    ],
)
def test_a_bad_archive_leaves_the_database_in_use(
    cli: CliRunner, tmp_path: Path, server: str, route: str, says: str
) -> None:
    env = _env(tmp_path)
    assert cli("advisories", "update", "--from", f"{server}/pypa.zip", cwd=tmp_path, env=env).returncode == 0
    before = _status(cli, tmp_path)
    done = cli("advisories", "update", "--from", f"{server}{route}", cwd=tmp_path, env=env)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"auditor: error: {server}{route}: "), done.stderr
    assert says in lines[0] and f"the database in use is unchanged ({before['database']})" in lines[0]
    assert _status(cli, tmp_path) == before
    home = tmp_path / "cache" / "advisories"
    assert sorted(p.name for p in home.iterdir()) == sorted(["CURRENT", Path(str(before["database"])).name])
    assert not (tmp_path / "escape.yaml").exists() and not (tmp_path / "cache" / "escape.yaml").exists()


def test_a_file_that_is_missing_or_a_folder(cli: CliRunner, tmp_path: Path) -> None:
    for source, says in ((tmp_path / "nope.zip", "no such file"), (tmp_path, "a folder, not an archive file")):
        done = cli("advisories", "update", "--from", str(source), cwd=tmp_path, env=_env(tmp_path))
        assert (done.returncode, done.stderr.strip()) == (
            2,
            f"auditor: error: {source}: {says}; no database is installed",
        )
    done = cli("advisories", "update", "--sha256", "abc", cwd=tmp_path, env=_env(tmp_path))
    assert (done.returncode, done.stderr.strip()) == (2, "auditor: error: --sha256: 'abc' is not 64 hexadecimal digits")


def test_a_damaged_installation_is_an_error_never_another_source(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "db.zip").write_bytes(pypa_zip())
    assert (
        cli("advisories", "update", "--from", str(tmp_path / "db.zip"), cwd=tmp_path, env=_env(tmp_path)).returncode
        == 0
    )
    _store(tmp_path, _with_packages(make_record(), ("acme-widgets", "2.1"), ("numpy", "2.1.0")))
    folder = Path(str(_status(cli, tmp_path)["database"]))
    shutil.rmtree(folder / "vulns" / "acme-json")  # a file lost after the update: the manifest sees it
    code, found, summary = _vuln_findings(cli, tmp_path)
    assert found["package:acme-widgets"]["outcome"] == "fail"  # proven still
    assert found["package:numpy"]["outcome"] == "could_not_evaluate"  # but nothing is clean any more
    assert code == 1  # the violation outranks "could not evaluate"
    assert "does not match auditor-advisories.json" in str(summary["incomplete"])
    (tmp_path / "cache" / "advisories" / "CURRENT").write_text("../../etc\n")
    done = cli("check", "latest", "--store", str(tmp_path / "store"), cwd=tmp_path, env=_env(tmp_path))
    assert done.returncode == 2 and "CURRENT: does not name a database folder" in done.stderr


def test_a_cold_cache_reads_the_index_kept_in_the_database_never_a_stale_one(cli: CliRunner, tmp_path: Path) -> None:
    """`advisories update` keeps the index in the database (.auditor-index); a check whose cache is gone
    reads it (the same report as from the cache), but only while every advisory is the one it was
    built from: an advisory changed since is read from the files, whatever the index says."""
    _store(tmp_path, _with_packages(make_record(), ("acme-widgets", "2.1"), ("numpy", "2.1.0")))
    (tmp_path / "db.tar.gz").write_bytes(pypa_tarball())
    done = cli("advisories", "update", "--from", str(tmp_path / "db.tar.gz"), cwd=tmp_path, env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    folder = Path(str(_status(cli, tmp_path)["database"]))
    assert (folder / ".auditor-index").is_file()

    def cold_check() -> tuple[int, dict[str, dict[str, object]], dict[str, object]]:
        for cached in (tmp_path / "cache").glob("osv-*.json"):
            cached.unlink()
        return _vuln_findings(cli, tmp_path)

    warm = _vuln_findings(cli, tmp_path)
    assert warm[1]["package:acme-widgets"]["outcome"] == "fail"
    assert cold_check() == warm  # from the database's index (the cache was removed)
    assert len(list((tmp_path / "cache").glob("osv-*.json"))) == 1  # and cached again
    assert _vuln_findings(cli, tmp_path) == warm
    advisory = folder / "vulns" / "acme-widgets" / "TEST-2024-2.yaml"
    advisory.write_text(advisory.read_text().replace('introduced: "2.0"', 'introduced: "2.2"'))
    code, found, _ = cold_check()  # the kept index says 2.1 is affected: it is not used
    assert found["package:acme-widgets"]["outcome"] == "pass" and code != 3

"""A run's files on a tracking server, downloaded into a private temporary folder laid out as
`artifacts/...` (the run's artifacts) and `models/<model id>/artifacts/...` (MLflow 3's logged
models), so the local stores' code reads them the same way: model folders found by their MLmodel,
requirements read, everything hashed, pickles inspected without being run.

Through the run's own endpoints (artifacts/list and get-artifact; logged-models/<id>/artifacts),
which work whether the server proxies the artifact store (mlflow-artifacts:) or reads it itself.
Bounded: at most MAX_RUN_BYTES and MAX_ENTRIES entries a run; a file that is not downloaded (too
large, or the server failed to send it) is named in RawRun.unfetched, so whatever holds it is
recorded as not hashed, saying why, rather than hashed incomplete. A listing path that is not a
plain relative path below the folder listed is refused: the server's answer is untrusted.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO
from urllib.parse import quote, urlsplit

from auditor.errors import IngestError
from auditor.ingest.mlflow.artifacts import MAX_ENTRIES
from auditor.ingest.mlflow.raw import RawModel, RawRun, safe_id
from auditor.ingest.mlflow.rest_http import Server
from auditor.ingest.mlflow.rest_runs import API, pages

MAX_RUN_BYTES = 2 << 30  # downloaded a run (the temporary folder holds one run at a time per worker)
MAX_DEPTH = 64

List = Callable[[str, str | None], dict[str, Any]]  # (folder, page token) -> answer
Get = Callable[[str, BinaryIO, int, int | None], int]  # (path, into, limit, listed size) -> bytes


class Budget:
    def __init__(self) -> None:
        self.bytes = MAX_RUN_BYTES
        self.entries = MAX_ENTRIES


def fetch_files(server: Server, raw: RawRun, models: list[dict[str, Any]], root: Path) -> None:
    """Download the run's artifacts and its logged models under `root`, and point `raw` at them."""
    budget = Budget()
    run_id = raw.run_id

    def list_run(folder: str, token: str | None) -> dict[str, Any]:
        params = {"run_id": run_id, **({"path": folder} if folder else {}), **({"page_token": token} if token else {})}
        return server.get(f"{API}/artifacts/list", params)

    def get_run(path: str, out: BinaryIO, limit: int, size: int | None) -> int:
        return server.download("/get-artifact", {"run_id": run_id, "path": path}, out, limit, size)

    folder = root / "artifacts"
    where = f"{API}/artifacts/list?run_id={run_id}"
    lister, getter, where = _proxied(server, raw.artifact_uri) or (list_run, get_run, where)
    _copy(server, lister, getter, root, folder, raw, budget, where)
    raw.artifact_uri, raw.store_root, raw.fallback_artifacts = str(folder), root, None
    for model in models:
        model_id = str(model["model_id"])
        place = root / "models" / safe_id(model_id) / "artifacts"
        base = f"{API}/logged-models/{model_id}/artifacts"

        def list_model(folder: str, token: str | None, base: str = base) -> dict[str, Any]:
            params = {
                **({"artifact_directory_path": folder} if folder else {}),
                **({"page_token": token} if token else {}),
            }
            return server.get(f"{base}/directories", params)

        def get_model(path: str, out: BinaryIO, limit: int, size: int | None, model_id: str = model_id) -> int:
            target = f"/ajax-api/2.0/mlflow/logged-models/{model_id}/artifacts/files"
            return server.download(target, {"artifact_file_path": path}, out, limit, size)

        proxied = _proxied(server, str(model.get("artifact_uri") or ""))
        lister, getter, where = proxied or (list_model, get_model, f"{base}/directories")
        _copy(server, lister, getter, root, place, raw, budget, where)
        raw.models.append(
            RawModel(
                model_id=model_id,
                name=str(model.get("name") or model_id),
                location=str(place),
                fallback=None,
                where=f"{server.url}{API}/logged-models/{model_id}",
                source_run_id=model.get("source_run_id"),
            )
        )


def _proxied(server: Server, uri: str) -> tuple[List, Get, str] | None:
    """For files the server keeps itself (mlflow-artifacts:/EXPERIMENT/RUN/artifacts), its artifact
    service's own list and download endpoints: the run-scoped ones look the whole run up again in
    the database for every file (measured: they were most of a 1,000-run ingest's server time)."""
    if not uri.startswith("mlflow-artifacts:"):
        return None
    base = urlsplit(uri).path.strip("/")
    if not base or any(part in (".", "..") for part in base.split("/")):
        return None
    service = "/api/2.0/mlflow-artifacts/artifacts"

    def lister(folder: str, token: str | None) -> dict[str, Any]:
        path = f"{base}/{folder}" if folder else base
        answer = server.get(service, {"path": path, **({"page_token": token} if token else {})})
        files = answer.get("files")
        if isinstance(files, list):  # this service names entries by their base name: make them relative paths
            answer["files"] = [
                {**item, "path": f"{folder}/{item['path']}" if folder else item["path"]}
                if isinstance(item, dict) and isinstance(item.get("path"), str)
                else item
                for item in files
            ]
        return answer

    def getter(path: str, out: BinaryIO, limit: int, size: int | None) -> int:
        return server.download(f"{service}/{quote(f'{base}/{path}')}", {}, out, limit, size)

    return lister, getter, f"{service}?path={base}"


def _copy(
    server: Server, lister: List, getter: Get, root: Path, into: Path, raw: RawRun, budget: Budget, where: str
) -> None:
    into.mkdir(parents=True)
    prefix = into.relative_to(root).as_posix()
    todo: list[tuple[str, int]] = [("", 0)]
    while todo:
        folder, depth = todo.pop()
        url = f"{server.url}{where}" + (f"{'&' if '?' in where else '?'}path={folder}" if folder else "")
        try:
            listed = [entry for _shape, found in pages(partial(lister, folder), url, "files") for entry in found]
        except IngestError as exc:
            if folder == "":
                what = "the run's artifacts" if prefix == "artifacts" else f"logged model {into.parent.name}"
                raw.notes.append(f"{what}: could not be listed: {exc.message}")
            raw.unfetched[_key(prefix, folder)] = f"could not be listed: {exc.message}"
            continue
        for n, item in enumerate(listed):
            path, is_dir, size = _entry(item, n, folder, url)
            budget.entries -= 1
            if budget.entries < 0:
                raw.unfetched[_key(prefix, path)] = f"not downloaded: more than {MAX_ENTRIES} entries in the run"
                continue
            target = into.joinpath(*PurePosixPath(path).parts)
            if is_dir:
                if depth >= MAX_DEPTH:
                    raw.unfetched[_key(prefix, path)] = f"not downloaded: nested more than {MAX_DEPTH} folders deep"
                    continue
                try:
                    target.mkdir(exist_ok=True)
                except OSError as exc:
                    raw.unfetched[_key(prefix, path)] = f"could not be saved here: {exc.strerror or exc}"
                    continue
                todo.append((path, depth + 1))
                continue
            if size is not None and size > budget.bytes:
                raw.unfetched[_key(prefix, path)] = (
                    f"not downloaded: more than the {MAX_RUN_BYTES >> 20} MiB read a run"
                )
                continue
            _download(getter, path, target, size, raw, budget, prefix)


def _download(getter: Get, path: str, target: Path, size: int | None, raw: RawRun, budget: Budget, prefix: str) -> None:
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        raw.notes.append(f"{_key(prefix, path)}: listed twice by the server; read once")
        return
    except OSError as exc:  # a name this machine cannot hold (too long, say)
        raw.unfetched[_key(prefix, path)] = f"could not be saved here: {exc.strerror or exc}"
        return
    try:
        with os.fdopen(fd, "wb") as out:
            written = getter(path, out, budget.bytes, size)
    except (IngestError, OSError) as exc:
        target.unlink(missing_ok=True)
        why = exc.message if isinstance(exc, IngestError) else f"could not be saved here: {exc.strerror or exc}"
        raw.unfetched[_key(prefix, path)] = f"could not be downloaded: {why}"
        return
    budget.bytes -= written
    if size is not None and written != size:
        raw.notes.append(f"{_key(prefix, path)}: the server listed {size} bytes and sent {written}")


def _entry(item: object, n: int, folder: str, url: str) -> tuple[str, bool, int | None]:
    """One listing entry, checked: a relative path strictly below the folder listed."""
    field = f"files[{n}]"
    if not isinstance(item, dict):
        raise IngestError(url, field, "expected a JSON object")
    path, is_dir, size = item.get("path"), item.get("is_dir", False), item.get("file_size")
    if not isinstance(path, str) or not path:
        raise IngestError(url, f"{field}.path", "missing or not text")
    parts = PurePosixPath(path).parts
    unsafe = path.startswith("/") or "\\" in path or "\0" in path or any(p in (".", "..") for p in parts)
    inside = PurePosixPath(path).parent == PurePosixPath(folder or ".")
    if unsafe or not inside or path != "/".join(parts):
        raise IngestError(url, f"{field}.path", f"{path[:80]!r} is not a plain path inside {folder or 'the root'}")
    if not isinstance(is_dir, bool):
        raise IngestError(url, f"{field}.is_dir", "expected true or false")
    if isinstance(size, str) and size.isdigit():
        size = int(size)
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise IngestError(url, f"{field}.file_size", "expected a whole number of bytes")
    return path, is_dir, size


def _key(prefix: str, path: str) -> str:
    """A file's name as the record shows it: artifacts/plots/roc.csv, models/m-1/artifacts/MLmodel."""
    return f"{prefix}/{path}" if path else prefix

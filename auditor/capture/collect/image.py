"""The environment inside a container image: OS, Python, every distribution, system packages.

The same probe as for local runs (probe.py) runs with the image's own interpreter, in a
throw-away container of the exact image, with the command's variables and the project
mounted read-only, beside the command itself, so it adds little to the run's wall time.
The OS release and the package database (dpkg or apk) are read as files from the created
container, so images without a shell or Python still say what they are; rpm's database
needs the rpm tool, which is run when the image has one.
"""

from __future__ import annotations

import contextlib
import io
import json
import platform
import posixpath
import tarfile
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from auditor.capture.collect.probe_runner import PYTHON_NAME, Interpreter, probe_source
from auditor.capture.collect.python_env import PythonEvidence, parse_probe
from auditor.capture.collect.system import parse_os_release
from auditor.capture.execute.init_failure import init_exec_failure
from auditor.capture.execute.sharing import container_owner, give_tree
from auditor.capture.execute.watchdog import guarding_container
from auditor.errors import EXIT_NOT_FOUND, UsageError
from auditor.files import UntrustedFileError, read_regular_file
from auditor.record.models import Missing, OsInfo, SystemPackage, SystemPackages

if TYPE_CHECKING:
    from docker.models.containers import Container as DockerContainer

    from auditor.capture.execute.container_plan import ContainerPlan

PROBE_TIMEOUT_S = 60
MAX_FILE_BYTES = 64 * 1024 * 1024
RPM_DATABASES = ("/var/lib/rpm", "/usr/lib/sysimage/rpm")
CANCEL_POLL_S = 0.1
INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class ImageEvidence:
    python: PythonEvidence
    os: OsInfo | Missing
    system_packages: SystemPackages | Missing


def collect_image(
    plan: ContainerPlan, argv: Sequence[str], env: Mapping[str, str], cancel: threading.Event | None = None
) -> ImageEvidence:
    """What the image holds; `cancel` set (Ctrl-C) stops the probe at once and says so."""
    first = posixpath.basename(argv[0]) if argv else ""
    candidates: list[tuple[str, Literal["argv", "path"]]] = [(argv[0], "argv")] if PYTHON_NAME.match(first) else []
    candidates += [("python3", "path"), ("python", "path")]
    cancel = cancel or threading.Event()
    files: dict[str, bytes | None] = {}
    tried: list[str] = []
    with tempfile.TemporaryDirectory(prefix="auditor-image-probe-") as out:
        target = Path(out, "probe.json")
        shared = _share(out, plan)  # the probe may run as another uid than auditor's
        for executable, how in candidates:
            if cancel.is_set():
                return _interrupted()
            container = _create(plan, [executable, "-c", probe_source(), str(target), "--system"], env, out)
            with guarding_container(str(container.id), 0):  # auditor killed: removed all the same
                try:
                    outcome = _run(container, cancel)
                    if outcome == INTERRUPTED:
                        return _interrupted()
                    last = len(tried) == len(candidates) - 1
                    raw = _load(target) if outcome == "ok" else outcome
                    system = raw.get("system") if isinstance(raw, dict) else None
                    if not isinstance(system, dict) and (outcome != "not found" or last):
                        files = _read_files(container)  # no Python, or its probe failed: read what files can tell
                finally:
                    with contextlib.suppress(Exception):
                        container.remove(force=True)
            if outcome == "not found":
                tried.append(executable)
                continue
            if shared is not None and isinstance(raw, str):
                raw += f" ({shared})"
            python = _python(raw, Interpreter(executable, how))
            if isinstance(system, dict):
                files = {k: v.encode() if isinstance(v, str) else None for k, v in system.items()}
                return _evidence(plan, python, files, str(system.get("rpm_error") or ""))
            break
        else:
            gone = Missing(reason=f"no Python in image ({', '.join(dict.fromkeys(tried))} not found)")
            python = PythonEvidence(gone, gone, gone, None)
    return _evidence(plan, python, files, "")


def _interrupted() -> ImageEvidence:
    gone = Missing(reason="interrupted before the image's environment was collected")
    return ImageEvidence(python=PythonEvidence(gone, gone, gone, None), os=gone, system_packages=gone)


def _share(out: str, plan: ContainerPlan) -> str | None:
    """Give the probe's output folder to the container's uid; why that failed, if it did."""
    try:
        owner = container_owner(plan.settings.user)
        if owner is not None:
            give_tree(Path(out), owner)
    except (OSError, UsageError) as exc:
        return f"its output folder could not be given to --user {plan.settings.user}: {exc}"
    return None


def _evidence(
    plan: ContainerPlan, python: PythonEvidence, files: Mapping[str, bytes | None], rpm_error: str
) -> ImageEvidence:
    return ImageEvidence(
        python=python, os=_os(plan, files.get("os_release"), python.libc), system_packages=_packages(files, rpm_error)
    )


def _load(target: Path) -> dict[str, Any] | str:
    """The probe's report, or why there is none; never read through a link or from a FIFO that
    the command's side (the image's own `python3`, say) put in its place."""
    try:
        data = json.loads(read_regular_file(target, MAX_FILE_BYTES).decode("utf-8"))
    except FileNotFoundError:
        return "it wrote no output"
    except UntrustedFileError as exc:
        return f"its output {target.name} is {exc.why}: ignored"
    except (OSError, ValueError):
        return "its output could not be read"
    return data if isinstance(data, dict) else "its output could not be read"


def _create(plan: ContainerPlan, argv: list[str], env: Mapping[str, str], out: str) -> DockerContainer:
    from docker.types import Mount as DockerMount

    kwargs = plan.create_kwargs(argv, str(plan.project), env)
    kwargs["network_mode"] = "none"  # the probe needs nothing from outside, whatever the run asked for
    kwargs["mounts"] = [m for m in kwargs["mounts"] if m["ReadOnly"]] + [DockerMount(out, out, type="bind")]
    kwargs.pop("device_requests", None)
    # No init: the engine then refuses to start a container whose executable is missing, a clear
    # API error, rather than an init that exits 1 and whose one line of log may come late or never.
    kwargs["init"] = False
    return plan.client.containers.create(**kwargs)


def _run(container: DockerContainer, cancel: threading.Event) -> str:
    """'ok', 'not found', INTERRUPTED, or why the probe failed."""
    from docker.errors import APIError

    try:
        container.start()
    except APIError as exc:
        text = str(exc.explanation or exc)
        return "not found" if "not found" in text.lower() or "no such file" in text.lower() else text[:300]
    code = _wait(container, cancel, PROBE_TIMEOUT_S)
    if isinstance(code, str):
        return code
    if code == 0:
        return "ok"
    raw_tail = b""
    for _ in range(20):  # the engine may hand over the last line a moment after the exit
        raw_tail = container.logs(stdout=False, stderr=True, tail=3)
        if raw_tail.endswith(b"\n"):
            break
        time.sleep(0.05)
    failure = init_exec_failure(code, raw_tail)
    if failure is not None and failure[0] == EXIT_NOT_FOUND:
        return "not found"
    tail = raw_tail.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
    return f"exit {code}: {tail[0][:200]}"


def _wait(container: DockerContainer, cancel: threading.Event, timeout_s: float) -> int | str:
    """The container's exit code; INTERRUPTED (the container removed at once) when `cancel` is set;
    or why the wait failed. The engine's wait blocks, so it runs in a thread polled with `cancel`."""
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def wait() -> None:
        try:
            outcome["result"] = container.wait(timeout=timeout_s)
        except Exception as exc:  # a timeout, or the container removed under it
            outcome["error"] = exc
        done.set()

    threading.Thread(target=wait, daemon=True, name="auditor-probe-wait").start()
    deadline = time.monotonic() + timeout_s + 5
    while not done.wait(CANCEL_POLL_S):
        if cancel.is_set():
            with contextlib.suppress(Exception):
                container.remove(force=True)
            return INTERRUPTED
        if time.monotonic() > deadline:
            break
    if cancel.is_set():
        with contextlib.suppress(Exception):
            container.remove(force=True)
        return INTERRUPTED
    if "result" in outcome:
        return int(outcome["result"].get("StatusCode", -1))
    error = outcome.get("error")
    if error is None or "timed out" in str(error).lower() or "timeout" in type(error).__name__.lower():
        return f"it did not finish within {timeout_s:g} s"
    return f"lost track of its container: {type(error).__name__}: {str(error)[:200]}"


def _python(raw: dict[str, Any] | str, interpreter: Interpreter) -> PythonEvidence:
    """The probe's findings; `raw` is its report, or why it failed."""
    outcome = raw if isinstance(raw, str) else "its output could not be read"
    if isinstance(raw, dict):
        with contextlib.suppress(ValueError, KeyError, TypeError):
            return parse_probe(raw, interpreter)
    gone = Missing(reason=f"environment probe in the image with {interpreter.executable} failed: {outcome}")
    return PythonEvidence(gone, gone, gone, None)


def _read_files(container: DockerContainer) -> dict[str, bytes | None]:
    """OS release and package databases, read from the container's filesystem before it starts."""
    files = {
        "os_release": _file(container, "/etc/os-release") or _file(container, "/usr/lib/os-release"),
        "dpkg": _file(container, "/var/lib/dpkg/status"),
        "apk": _file(container, "/lib/apk/db/installed"),
    }
    if any(_exists(container, p) for p in RPM_DATABASES):
        files["rpm_database"] = b""
    return files


def _exists(container: DockerContainer, path: str) -> bool:
    from docker.errors import DockerException

    try:
        stream, _ = container.get_archive(path)
        close = getattr(stream, "close", None)  # a folder's archive is not wanted, only that it exists
        if close is not None:
            close()
        return True
    except DockerException:
        return False


def _file(container: DockerContainer, path: str, depth: int = 0) -> bytes | None:
    from docker.errors import DockerException

    try:
        stream, found = container.get_archive(path)
        stat = found or {}
        link = stat.get("linkTarget") or ""
        if link and link != path and depth < 5:
            return _file(container, posixpath.normpath(posixpath.join(posixpath.dirname(path), link)), depth + 1)
        if int(stat.get("size", 0)) > MAX_FILE_BYTES:
            return None
        data = b"".join(stream)
    except (DockerException, ValueError):
        return None
    with contextlib.suppress(tarfile.TarError), tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in archive:
            if member.isfile():
                handle = archive.extractfile(member)
                return handle.read(MAX_FILE_BYTES) if handle else None
    return None


def _os(plan: ContainerPlan, release: bytes | None, libc: str | None) -> OsInfo | Missing:
    fields = parse_os_release(release.decode("utf-8", "replace")) if release else {}
    os_name, _, arch = (plan.image.platform or "").partition("/")
    return OsInfo(
        system=os_name.capitalize() or "Linux",
        distribution_id=fields.get("ID"),
        distribution_version=fields.get("VERSION_ID"),
        pretty_name=fields.get("PRETTY_NAME") or ("no /etc/os-release in image" if release is None else None),
        kernel=platform.release(),  # containers share the host's kernel
        architecture=arch or platform.machine(),
        libc=libc,
    )


def _packages(files: Mapping[str, bytes | None], rpm_error: str) -> SystemPackages | Missing:
    if files.get("dpkg") is not None:
        return SystemPackages(manager="dpkg", packages=parse_dpkg_status(files["dpkg"] or b""))
    if files.get("apk") is not None:
        return SystemPackages(manager="apk", packages=parse_apk_installed(files["apk"] or b""))
    if files.get("rpm") is not None:
        return SystemPackages(manager="rpm", packages=parse_rpm_query(files["rpm"] or b""))
    if rpm_error or "rpm_database" in files:
        why = rpm_error or "reading it needs the rpm tool and Python in the image"
        return Missing(reason=f"the image has an rpm database, but it could not be read: {why}")
    return Missing(reason="no dpkg, apk or rpm package database in the image")


def parse_rpm_query(data: bytes) -> tuple[SystemPackage, ...]:
    """Lines of `rpm -qa --qf '%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{ARCH}\\n'`."""
    packages = []
    for line in data.decode("utf-8", "replace").splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[0] and not parts[0].startswith("gpg-pubkey"):
            packages.append(SystemPackage(name=parts[0], version=parts[1], architecture=parts[2] or None))
    return tuple(sorted(packages, key=lambda p: p.name))


def parse_dpkg_status(data: bytes) -> tuple[SystemPackage, ...]:
    """Installed packages from /var/lib/dpkg/status (deb822 paragraphs)."""
    out = []
    for paragraph in data.decode("utf-8", "replace").split("\n\n"):
        fields: dict[str, str] = {}
        for line in paragraph.splitlines():
            if line[:1] not in (" ", "\t") and ":" in line:
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
        if fields.get("Package") and fields.get("Status", "").endswith(" installed"):
            out.append(
                SystemPackage(
                    name=fields["Package"], version=fields.get("Version", ""), architecture=fields.get("Architecture")
                )
            )
    return tuple(sorted(out, key=lambda p: p.name))


def parse_apk_installed(data: bytes) -> tuple[SystemPackage, ...]:
    """Installed packages from /lib/apk/db/installed (P:, V:, A: lines, blank-line separated)."""
    out = []
    for block in data.decode("utf-8", "replace").split("\n\n"):
        fields = dict(line.split(":", 1) for line in block.splitlines() if len(line) > 2 and line[1] == ":")
        if fields.get("P"):
            out.append(SystemPackage(name=fields["P"], version=fields.get("V", ""), architecture=fields.get("A")))
    return tuple(sorted(out, key=lambda p: p.name))

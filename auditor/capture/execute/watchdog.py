"""A command must not outlive an auditor that was killed (SIGKILL, the OOM killer, a crash).

Nothing runs in a process after SIGKILL, so the stopping is done by another process: a small
watchdog that auditor starts beside each run, in its own session (a signal for auditor's
process group does not reach it). Auditor holds the write end of a pipe whose read end is the
watchdog's stdin, and tells it what to guard: the command's process group and process tree,
or a container. When the command has ended, auditor writes `release` and closes the pipe. If
the pipe reaches its end without `release`, auditor is gone (the kernel closes a dead
process's files however it died), and the watchdog stops what it guards: a local command's
group and every process descended from it get SIGTERM, then SIGKILL after the grace period;
a container is stopped the same way through the engine, and removed.

The watchdog is started just after the command (the command need not wait for it), so a kill
in the few milliseconds between the two is not covered; nor is a process that left both the
command's group and its process tree (a daemon that double-forked into its own session).

Why not the parent-death signal (prctl PR_SET_PDEATHSIG): it reaches only the command's own
process, not the processes it started, and it must be set between fork and exec, which needs
either preexec_fn (unsafe while auditor's collector threads run) or an exec wrapper on the
command's critical path. The watchdog starts beside the command and costs it nothing.

Run in `python -I [-S]`, loaded as a module from its path rather than run as a script, so its
bytecode is cached like any module's instead of compiled at every start;
this file therefore imports only the standard library at module level, and of it only what the
watchdog process needs while it waits (subprocess and pathlib cost it ~8 ms of CPU a run, on every
`auditor run`): auditor's side imports subprocess where it starts the watchdog, and the Docker SDK
is imported only when a container must be stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time

TYPE_CHECKING = False  # as typing's, without importing typing (~3 ms of the watchdog's start)
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Iterable, Iterator

API_VERSION = "1.41"  # as execute/engine.py: served by Docker 20.10+ and podman 3+
POLL_S = 0.05
_RELEASED: list[subprocess.Popen[bytes]] = []  # released watchdogs not yet reaped


class Watchdog:
    """Auditor's side: `guard_*` once the thing exists, `release` once it has ended."""

    def __init__(self, proc: subprocess.Popen[bytes], fd: int) -> None:
        self._proc = proc
        self._fd: int | None = fd

    @classmethod
    def start(cls, *, needs_site: bool = False) -> Watchdog | None:
        """None when it cannot be started (no processes left): the run goes on unguarded.
        `needs_site`: the watchdog may import the Docker SDK from site-packages."""
        import subprocess
        from pathlib import Path

        read_end, write_end = os.pipe()  # not inherited by anything auditor starts (PEP 446)
        flags = ["-I"] if needs_site else ["-I", "-S"]
        # -I ignores PYTHON* variables: auditor's own settings for bytecode are passed on as options
        if sys.dont_write_bytecode:
            flags.append("-B")
        if sys.pycache_prefix:
            flags += ["-X", f"pycache_prefix={sys.pycache_prefix}"]
        # Loaded from its path (nothing beside it goes on sys.path to shadow what it imports), by the
        # loader that reads and writes its cached bytecode; importlib.util would cost ~4 ms more.
        launch = (
            "import importlib.machinery as m, types; "
            f"p = {str(Path(__file__).resolve())!r}; w = types.ModuleType('auditor_watchdog'); w.__file__ = p; "
            "exec(m.SourceFileLoader(w.__name__, p).get_code(w.__name__), w.__dict__); w.main()"
        )
        try:
            proc = subprocess.Popen(
                [sys.executable, *flags, "-c", launch],
                stdin=read_end,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd="/",  # never keeps a mount busy
                start_new_session=True,
            )
        except OSError:
            os.close(write_end)
            return None
        finally:
            os.close(read_end)
        return cls(proc, write_end)

    def guard_processes(self, pid: int, own_group: bool, grace_s: float) -> None:
        self._say(f"local {pid} {pid if own_group else 0} {_start_time(pid)} {grace_s:g}")

    def guard_container(self, container_id: str, grace_s: float) -> None:
        self._say(f"container {container_id} {grace_s:g}")

    def release(self) -> None:
        if self._fd is None:
            return
        self._say("release")
        with contextlib.suppress(OSError):
            os.close(self._fd)
        self._fd = None
        _RELEASED.append(self._proc)  # it exits at once; reaped later, never waited for here
        _RELEASED[:] = [proc for proc in _RELEASED if proc.poll() is None]

    def _say(self, line: str) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.write(self._fd, (line + "\n").encode())


@contextlib.contextmanager
def guarding_container(container_id: str, grace_s: float) -> Iterator[None]:
    """While the block runs, a killed auditor does not leave this container running."""
    watchdog = Watchdog.start(needs_site=True)
    if watchdog is not None:
        watchdog.guard_container(container_id, grace_s)
    try:
        yield
    finally:
        if watchdog is not None:
            watchdog.release()


# -- the watchdog process --------------------------------------------------------------------


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # only the pipe decides
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    data = b""
    while chunk := os.read(0, 4096):
        data += chunk
    said = data.decode("ascii", "replace").splitlines()
    if not said or said[-1] == "release":
        return
    words = said[0].split()
    if words[0] == "local" and len(words) == 5:
        stop_processes(int(words[1]), int(words[2]), words[3], float(words[4]))
    elif words[0] == "container" and len(words) == 3:
        stop_container(words[1], float(words[2]))


def stop_processes(pid: int, pgid: int, start: str, grace_s: float) -> None:
    """SIGTERM to the command's group and tree, SIGKILL to whatever is left after the grace."""
    seen: dict[int, str] = {}
    deadline = time.monotonic() + grace_s
    for sig in (signal.SIGTERM, signal.SIGKILL):
        table = _processes()
        seen.update({p: table[p][3] for p in _targets(table, pid, pgid, start)})
        for target, started in seen.items():
            if target in table and table[target][3] == started:
                with contextlib.suppress(OSError):
                    os.kill(target, sig)
        if pgid:
            with contextlib.suppress(OSError):
                os.killpg(pgid, sig)
        while sig == signal.SIGTERM and time.monotonic() < deadline and _alive(seen, pgid):
            time.sleep(POLL_S)


def stop_container(container_id: str, grace_s: float) -> None:
    import docker

    client = docker.from_env(version=API_VERSION, timeout=int(grace_s) + 30)
    with contextlib.suppress(Exception):
        client.api.stop(container_id, timeout=int(grace_s))
    client.api.remove_container(container_id, force=True)


def _processes() -> dict[int, tuple[int, int, str, str]]:
    """pid -> (parent, group, state, start time) for every process, from /proc (empty elsewhere)."""
    from pathlib import Path  # only once there is something to stop (see the module's docstring)

    table = {}
    with contextlib.suppress(OSError):
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                fields = _stat(int(entry.name))
                if fields is not None and len(fields) > 19:
                    table[int(entry.name)] = (int(fields[1]), int(fields[2]), fields[0], fields[19])
    return table


def _targets(table: dict[int, tuple[int, int, str, str]], pid: int, pgid: int, start: str) -> set[int]:
    """The live members of the group, and the command with everything descended from it, while
    the command is still the process auditor started (same pid and start time)."""
    found = {p for p, (_, group, state, _) in table.items() if pgid and group == pgid and state != "Z"}
    if pid in table and table[pid][3] == start:
        children: dict[int, list[int]] = {}
        for p, (parent, _, _, _) in table.items():
            children.setdefault(parent, []).append(p)
        pending = [pid]
        while pending:
            current = pending.pop()
            if table[current][2] != "Z":
                found.add(current)
            pending.extend(children.get(current, ()))
    return found


def _alive(seen: Iterable[int], pgid: int) -> bool:
    table = _processes()
    if not table:  # no /proc: only the group can be asked (and group 0 would be the watchdog's own)
        if not pgid:
            return False
        try:
            os.killpg(pgid, 0)
        except OSError:
            return False
        return True
    return any(p in table and table[p][2] != "Z" for p in seen) or any(
        group == pgid and state != "Z" for _, group, state, _ in table.values() if pgid
    )


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first), or None."""
    from pathlib import Path

    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    return raw[raw.rfind(b")") + 2 :].decode("ascii", "replace").split()


def _start_time(pid: int) -> str:
    fields = _stat(pid)
    return fields[19] if fields is not None and len(fields) > 19 else "-"


if __name__ == "__main__":
    main()

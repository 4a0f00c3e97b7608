"""auditor's start-up hook, loaded by every Python process of a captured command.

`auditor run` puts the folder holding this file first on PYTHONPATH, so each
Python process the command starts (subprocesses too, since they inherit the
environment) imports it at start-up. It installs a `sys.addaudithook` hook that
notes every file opened for reading or writing, and at exit writes one JSON file
per process into $AUDITOR_ACCESS_DIR. It then runs the sitecustomize it shadows,
if there is one, and offers a stand-in `auditor` module (the logging API) to
interpreters that do not have auditor installed.

Standard library only, Python >= 3.8, and it must never break the user's program:
every failure here is swallowed.
"""

import atexit
import contextlib
import json
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def _absolute(path: str) -> str:
    """os.path.abspath(path), without its normpath (pure Python before 3.12, a few microseconds per
    file a command opens) where there is nothing to normalise: no "//", no component that starts
    with a dot, no trailing slash. getcwd is asked each time: code may change folder unseen."""
    if not path.startswith("/"):
        cwd = os.getcwd()
        path = cwd + "/" + path if cwd != "/" else "/" + path
    if "//" in path or "/." in path or path.endswith("/"):
        return os.path.normpath(path)
    return path


def _install(out_dir: str) -> None:
    reads: set[str] = set()
    writes: set[str] = set()
    state = {"closing": False}
    abspath, fsdecode = _absolute, os.fsdecode

    def hook(event, args):  # type: ignore[no-untyped-def]
        if event == "open":
            path = args[0]
            if path is None or isinstance(path, int) or state["closing"]:
                return
            try:
                path = abspath(fsdecode(path))
            except Exception:
                return
            mode = args[1]
            if isinstance(mode, str):
                read = "r" in mode or "+" in mode
                wrote = "w" in mode or "a" in mode or "x" in mode or "+" in mode
            else:
                flags = (args[2] or 0) if len(args) > 2 else 0
                access = flags & os.O_ACCMODE
                read = access in (os.O_RDONLY, os.O_RDWR)
                wrote = access in (os.O_WRONLY, os.O_RDWR) or bool(flags & _WRITE_FLAGS)
            if read:
                reads.add(path)
            if wrote:
                writes.add(path)
        elif event == "os.rename" and not state["closing"]:
            try:
                writes.add(abspath(fsdecode(args[1])))
            except Exception:
                return

    def forget_inherited():  # type: ignore[no-untyped-def]
        reads.clear()
        writes.clear()

    def dump():  # type: ignore[no-untyped-def]
        state["closing"] = True
        import site

        prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, getattr(sys, "base_exec_prefix", sys.prefix)}
        try:
            prefixes.update(site.getsitepackages())
            prefixes.add(site.getusersitepackages())
        except Exception:
            pass
        payload = {
            "pid": os.getpid(),
            "ppid": os.getppid(),
            "executable": sys.executable,
            "prefixes": sorted(p for p in prefixes if p),
            "reads": sorted(reads),
            "writes": sorted(writes),
        }
        target = os.path.join(out_dir, "%d-%d.json" % (os.getpid(), id(payload)))
        with open(target + ".tmp", "w") as handle:
            # One write of one encoded text: json.dump writes each of its pieces (two per path) on its own.
            handle.write(json.dumps(payload))
        os.replace(target + ".tmp", target)

    sys.addaudithook(hook)
    atexit.register(dump)
    os.register_at_fork(after_in_child=forget_inherited)


def _chain_shadowed_sitecustomize() -> None:
    for entry in sys.path:
        if not entry or os.path.abspath(entry) == _HERE:
            continue
        candidate = os.path.join(entry, "sitecustomize.py")
        if os.path.isfile(candidate):
            with open(candidate, "rb") as handle:
                code = compile(handle.read(), candidate, "exec")
            exec(code, {"__name__": "sitecustomize", "__file__": candidate})
            return


def _main() -> None:
    out_dir = os.environ.get("AUDITOR_ACCESS_DIR")
    if out_dir and os.path.isdir(out_dir):
        with contextlib.suppress(Exception):
            _install(out_dir)
    fallback = os.environ.get("AUDITOR_API_FALLBACK")
    if fallback and fallback not in sys.path:
        sys.path.append(fallback)  # last: an installed auditor always wins
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # live logs through the pipes
        except Exception:
            pass
    _chain_shadowed_sitecustomize()


_main()

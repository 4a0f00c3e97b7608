"""The capture request for a command on this machine, with its environment probe.

The CLI may have started the probe early (before its own imports, so the two overlap); it is
used only when it was started for exactly this command, folder and environment, else it is
cancelled and a new one started."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from auditor.capture.collect.probe_runner import RunningProbe, start_probe
from auditor.capture.execute.local import LocalExecutor
from auditor.capture.request import CaptureRequest


@contextmanager
def local_request(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    early_probe: RunningProbe | None = None,
    name: str | None = None,
    project: str | None = None,
) -> Iterator[CaptureRequest]:
    """The request, inside a block that cancels the probe if the block fails before using it
    (the probe is a child process: it must not outlive a run that never started)."""
    probe = early_probe
    if probe is not None and probe.key != (tuple(argv), tuple(sorted(env.items())), str(cwd)):
        probe.cancel()
        probe = None
    if probe is None:
        probe = start_probe(argv, dict(env), str(cwd))
    executor = LocalExecutor(probe=probe)
    try:
        yield CaptureRequest(argv=argv, cwd=cwd, env=env, executor=executor, name=name, project=project)
    except BaseException:
        if probe is not None:
            probe.cancel()
        raise

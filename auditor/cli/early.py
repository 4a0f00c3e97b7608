"""The environment probe, started before the argument parser and auditor's models load.

`auditor run` starts the probe in the command's interpreter first (~0.3 s of imports follow), so the
two overlap; `run` takes the probe only if it was started for exactly its command, folder and env.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auditor.capture.collect.probe_runner import RunningProbe

EARLY_PROBE: dict[str, RunningProbe] = {}


def start_probe_early(args: list[str]) -> None:
    if len(args) >= 3 and args[0] == "run" and "--" in args:
        command = args[args.index("--") + 1 :]
        if command:
            from auditor.capture.collect.probe_runner import start_probe

            probe = start_probe(command, dict(os.environ), str(Path.cwd()))
            if probe is not None:
                EARLY_PROBE["run"] = probe

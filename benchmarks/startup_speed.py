"""Start-up: how long commands take before they do anything, and `auditor run` against Sacred.

Prints medians (wall clock and CPU, warm cache, of --repeat runs each, interleaved) for `auditor --help`,
`auditor --version`, `auditor check --help`, and `auditor run -- python3 -c pass` against Sacred's
minimal experiment (`from sacred import Experiment; ex = Experiment('x'); @ex.automain def main():
pass`, default observers: none), with their ratio. Sacred is installed from PyPI into its own
virtual environment on first use (.cache/bench-tools/sacred), never into auditor's.

Every command runs with its bytecode cached, as an installed package runs (pip compiles it at
install): the timed commands get PYTHONPYCACHEPREFIX, a temporary folder of its own, and never
PYTHONDONTWRITEBYTECODE, so the warm-up run writes the bytecode and the timed runs read it. A caller's
PYTHONDONTWRITEBYTECODE would otherwise make each run compile auditor's source again (an editable
install keeps no bytecode then: ~100 modules, ~0.25 s of CPU a run), which no user pays.

The command's `python3` is a new virtual environment's, made from the same interpreter as Sacred's
(.cache/bench-tools/plain: no packages), as a project's own environment is: a virtual environment does
not run the base interpreter's .pth files, which may do anything at every start (on the machines
these figures come from, a certifi hook in the base site-packages costs ~60 ms of CPU a start: paid
twice by `auditor run`, once by the environment probe and once by the command, and never by Sacred,
whose experiment runs in its own virtual environment). The same run with `python3` as PATH finds it
is timed too, and printed beside it.

Goals (issues #17 and #19): `--help` under 0.3 s; `run -- python3 -c pass` <= Sacred's minimal
experiment (ratio <= 1.0), measured in the same call.

    nice .venv/bin/python benchmarks/startup_speed.py [--repeat 15] [--baseline OTHER_AUDITOR]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
AUDITOR = Path(sys.prefix) / "bin" / "auditor"
SACRED_ENV = REPO / ".cache" / "bench-tools" / "sacred"
PLAIN_ENV = REPO / ".cache" / "bench-tools" / "plain"
SACRED_EXPERIMENT = """\
from sacred import Experiment

ex = Experiment("x")


@ex.automain
def main():
    pass
"""


def sacred_python() -> Path:
    """The interpreter of the benchmark-only environment that has Sacred, made on first use."""
    python = SACRED_ENV / "bin" / "python"
    if not python.exists():
        venv.create(SACRED_ENV, with_pip=True)
    probe = subprocess.run([str(python), "-c", "import sacred"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "sacred"], check=True)
    return python


def plain_python3() -> Path:
    """`python3` of a virtual environment with no packages, made on first use (see the docstring)."""
    python = PLAIN_ENV / "bin" / "python3"
    if not python.exists():
        venv.create(PLAIN_ENV, with_pip=False)
    return python


def real_python3() -> str:
    """`python3` itself, not a launcher in front of it (pyenv's shim costs 0.1-0.3 s a start)."""
    found = shutil.which("python3") or sys.executable
    done = subprocess.run(
        [found, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def timed(argv: list[str], cwd: str, env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock seconds and CPU seconds (user + system, the process and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--baseline", type=Path, default=None, help="another auditor whose `run` is timed too, interleaved"
    )
    args = parser.parse_args()
    path_python3 = real_python3()
    python3 = str(plain_python3())
    sacred = sacred_python()
    with tempfile.TemporaryDirectory() as work, tempfile.TemporaryDirectory() as pycache:
        # outside `work`, the project folder `run` looks at; see the module's docstring
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = pycache
        experiment = Path(work) / "experiment.py"
        experiment.write_text(SACRED_EXPERIMENT)

        def minimal_run(auditor: str) -> list[str]:
            return [auditor, "run", "--store", f"{work}/store", "--", python3, "-c", "pass"]

        cases = {
            "auditor --help": [str(AUDITOR), "--help"],
            "auditor --version": [str(AUDITOR), "--version"],
            "auditor check --help": [str(AUDITOR), "check", "--help"],
            "auditor run -- python3 -c pass": minimal_run(str(AUDITOR)),
            "sacred minimal experiment": [str(sacred), str(experiment)],
            "python3 -c pass": [python3, "-c", "pass"],
            "PATH's python3 -c pass": [path_python3, "-c", "pass"],
            "auditor run -- PATH's python3 -c pass": [*minimal_run(str(AUDITOR))[:-3], path_python3, "-c", "pass"],
        }
        # The same, with the command run by auditor's own interpreter (`python3` in the virtual
        # environment auditor is installed in): its packages are read without a probe process.
        cases["auditor run -- own python3 -c pass"] = [
            str(AUDITOR),
            "run",
            "--store",
            f"{work}/store",
            "--",
            str(AUDITOR.parent / "python3"),
            "-c",
            "pass",
        ]
        if args.baseline is not None:
            cases["baseline run -- python3 -c pass"] = minimal_run(str(args.baseline))
            cases["baseline run -- own python3"] = [
                str(args.baseline),
                "run",
                "--store",
                f"{work}/store",
                "--",
                str(args.baseline.parent / "python3"),
                "-c",
                "pass",
            ]
        for argv in cases.values():  # warm the page cache (and create the store)
            timed(argv, work, env)
        walls: dict[str, list[float]] = {name: [] for name in cases}
        cpus: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.repeat):
            for name, argv in cases.items():
                wall, cpu = timed(argv, work, env)
                walls[name].append(wall)
                cpus[name].append(cpu)
    wall_of = {name: statistics.median(values) for name, values in walls.items()}
    cpu_of = {name: statistics.median(values) for name, values in cpus.items()}
    print(f"medians over {args.repeat} runs each, interleaved; python3 is {python3}, PATH's is {path_python3}")
    for name in cases:
        print(f"{name:36} wall {wall_of[name]:.3f} s   cpu {cpu_of[name]:.3f} s")
    run, peer = "auditor run -- python3 -c pass", "sacred minimal experiment"
    print(f"--help under 0.3 s:              {'yes' if wall_of['auditor --help'] < 0.3 else 'NO'}")
    print(f"run / sacred, wall:              {wall_of[run] / wall_of[peer]:.2f}x (goal <= 1.0)")
    print(f"run / sacred, cpu:               {cpu_of[run] / cpu_of[peer]:.2f}x")
    path_run = "auditor run -- PATH's python3 -c pass"
    print(f"run with PATH's python3 / sacred: wall {wall_of[path_run] / wall_of[peer]:.2f}x, ", end="")
    print(f"cpu {cpu_of[path_run] / cpu_of[peer]:.2f}x")
    own = "auditor run -- own python3 -c pass"
    print(f"run (own python3) / sacred, wall: {wall_of[own] / wall_of[peer]:.2f}x")
    print(f"run (own python3) / sacred, cpu:  {cpu_of[own] / cpu_of[peer]:.2f}x")
    if args.baseline is not None:
        base = "baseline run -- python3 -c pass"
        base_own = "baseline run -- own python3"
        print(
            f"run (own python3) / baseline's:  wall {wall_of[own] / wall_of[base_own]:.2f}x, "
            f"cpu {cpu_of[own] / cpu_of[base_own]:.2f}x"
        )
        print(f"baseline run / sacred, wall:     {wall_of[base] / wall_of[peer]:.2f}x")
        print(f"run / baseline run, wall:        {wall_of[run] / wall_of[base]:.2f}x")
        print(f"run / baseline run, cpu:         {cpu_of[run] / cpu_of[base]:.2f}x")


if __name__ == "__main__":
    main()

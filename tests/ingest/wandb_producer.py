"""Runs written by the real `wandb` package, offline, for tests/ingest/test_wandb*.py.

Run with the tools virtualenv (`.cache/tools/wandb`, from tests/ingest/tools/wandb.txt):

    python wandb_producer.py PROJECT [SCENARIO...]  # every scenario (or those named), in PROJECT
    python wandb_producer.py --oracle RUN.wandb...  # W&B's own protobuf classes' view of each file

Each scenario runs in its own process with WANDB_MODE=offline (no network) and writes what it
logged to PROJECT/logged-SCENARIO.json: the truth a test compares auditor's reading with.
  train   config with nested values and lists, 12 history steps, summary, a dataset artifact
          (one file) and a model artifact (a folder), notes, tags, group, job type
  broken  raises an exception after logging: W&B records exit code 1
  killed  logs past W&B's first 32 KiB blocks, then SIGKILLs itself: no exit record
`--oracle` reads the framing in a few lines and hands each record to wandb_internal_pb2, W&B's
generated classes, so the field numbers auditor uses are checked against W&B's own schema.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import signal
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

SCENARIOS = ("train", "broken", "killed")
CONFIG: dict[str, Any] = {
    "learning_rate": 0.001,
    "hidden_layers": [64, 32],
    "optimizer": {"name": "adam", "betas": [0.9, 0.999], "eps": 1e-08},
    "label": 'ünïcode [64, 32] "quoted"',
    "seed": 42,
    "use_gpu": False,
    "signature": "not a secret",
    "nothing": None,
}


def history(step: int) -> dict[str, Any]:
    return {"loss": round(1.0 / (step + 1), 6), "accuracy": step / 12, "phase": f"epoch-{step}"}


def train(out: Path) -> None:
    import wandb

    run = wandb.init(
        project="credit-scoring",
        name="train-logreg",
        group="baseline",
        job_type="train",
        notes="first baseline, see ticket 12",
        tags=["baseline", "v1"],
        config=CONFIG,
    )
    rows = [history(step) for step in range(12)]
    for row in rows:
        run.log(row)
    run.log({"eval": {"f1": 0.81, "auc": 0.9}})
    run.summary["best_accuracy"] = 0.97
    run.summary["verdict"] = "keep [1, 2] exactly"
    data = Path("train.csv")
    data.write_text("age,income,label\n31,52000,1\n45,61000,0\n")
    dataset = wandb.Artifact("credit-train", type="dataset", description="the training split")
    dataset.add_file(str(data))
    run.log_artifact(dataset)
    model_dir = Path("model")
    model_dir.mkdir(exist_ok=True)
    (model_dir / "weights.bin").write_bytes(bytes(range(256)) * 4)
    (model_dir / "config.json").write_text('{"kind": "logreg"}')
    model = wandb.Artifact("credit-model", type="model", metadata={"framework": "sklearn"})
    model.add_dir(str(model_dir))
    run.log_artifact(model, aliases=["candidate"])
    files = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in [data, *sorted(model_dir.iterdir())]}  # noqa: S324
    logged = {"run_id": run.id, "config": CONFIG, "history": rows, "files": files, "version": wandb.__version__}
    logged["python"] = platform.python_version()  # W&B's own description of the interpreter names it
    logged["summary"] = {"best_accuracy": 0.97, "verdict": "keep [1, 2] exactly", "phase": rows[-1]["phase"]}
    run.finish()
    out.write_text(json.dumps(logged))


def broken(out: Path) -> None:
    import wandb

    run = wandb.init(project="credit-scoring", name="broken", config={"seed": 7})
    run.log({"loss": 0.5})
    out.write_text(json.dumps({"run_id": run.id, "config": {"seed": 7}}))
    raise RuntimeError("the data loader failed")


def killed(out: Path) -> None:
    import wandb

    run = wandb.init(project="credit-scoring", name="killed", config={"seed": 8})
    steps = 1500  # well past two 32 KiB blocks, which W&B writes while the run goes on
    for step in range(steps):
        run.log({"loss": 1.0 / (step + 1)})
    out.write_text(json.dumps({"run_id": run.id, "config": {"seed": 8}, "steps": steps}))
    os.kill(os.getpid(), signal.SIGKILL)


def long(out: Path) -> None:
    """Not one of the test scenarios: a finished run of 1,500 history steps, for benchmarks/ingest_wandb.py."""
    import wandb

    run = wandb.init(project="credit-scoring", name="long", config=CONFIG)
    for step in range(1500):
        run.log({"loss": 1.0 / (step + 1), "accuracy": step / 1500, "lr": 0.001 * 0.999**step})
    out.write_text(json.dumps({"run_id": run.id}))
    run.finish()


def produce(project: Path, scenarios: tuple[str, ...] = SCENARIOS) -> None:
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DISABLE_CODE": "true"}
    env |= {"WANDB_CONSOLE": "wrap", "HOME": str(project / ".home")}
    started = {
        name: subprocess.Popen(
            [sys.executable, __file__, "--scenario", name, str(project / f"logged-{name}.json")],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name in scenarios
    }
    expected = {"train": 0, "broken": 1, "killed": -signal.SIGKILL, "long": 0}
    for name, process in started.items():
        _, err = process.communicate(timeout=240)
        if process.returncode != expected[name]:
            sys.exit(f"{name}: exit {process.returncode}\n{err.decode()[-3000:]}")


def oracle(path: Path) -> list[dict[str, Any]]:
    """Every whole record of a .wandb file, as W&B's own protobuf classes decode it."""
    from google.protobuf import json_format
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    records, pending, pos = [], b"", 7
    while pos + 7 <= len(data):
        if 32768 - pos % 32768 < 7:
            pos += 32768 - pos % 32768
            continue
        crc = int.from_bytes(data[pos : pos + 4], "little")
        length, kind = int.from_bytes(data[pos + 4 : pos + 6], "little"), data[pos + 6]
        payload = data[pos + 7 : pos + 7 + length]
        if len(payload) < length or zlib.crc32(payload, zlib.crc32(bytes([kind]))) != crc:
            break
        pos += 7 + length
        pending = payload if kind in (1, 2) else pending + payload
        if kind in (1, 4):
            record = wandb_internal_pb2.Record.FromString(pending)
            records.append(json_format.MessageToDict(record, preserving_proto_field_name=True))
    return records


if __name__ == "__main__":
    if sys.argv[1] == "--scenario":
        {"train": train, "broken": broken, "killed": killed, "long": long}[sys.argv[2]](Path(sys.argv[3]))
    elif sys.argv[1] == "--oracle":
        print(json.dumps({name: oracle(Path(name)) for name in sys.argv[2:]}))
    else:
        produce(Path(sys.argv[1]), tuple(sys.argv[2:]) or SCENARIOS)

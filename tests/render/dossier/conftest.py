"""Dossiers rendered once per session for the layout and accessibility tests: the demo-like record of
test_report.py, and a wide one whose values cannot break at spaces (long unbreakable names, paths and
commands, 64-hex hashes, a 100-character package name) - the values that pushed tables into the margin."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from auditor.check.evaluate import CheckRequest
from auditor.record import RunRecord
from auditor.record.io import dump_record
from auditor.record.lineage import Dataset, Datasheet, ModelArtifact, Step
from auditor.record.models import Distribution, Packages
from auditor.render.dossier.make import make_report
from tests.render.dossier.test_diagram import FULL, make_lineage
from tests.render.dossier.test_report import FIXED, _request, dossier_record

POPPLER = ("pdftotext", "pdfinfo")
LONG = "x" * 90  # no break opportunity anywhere


@dataclass(frozen=True)
class Rendered:
    html: Path
    pdf: Path
    record_sha256: str
    run_id: str


def wide_record(folder: Path) -> RunRecord:
    record = dossier_record(folder)
    datasets = (
        Dataset(id=f"raw-{LONG}", role="input", path=f"data/{LONG}/{LONG}.csv", datasheet=FULL),
        Dataset(id="clean", role="intermediate", path=f"data/clean/{'y' * 120}.parquet", datasheet=Datasheet()),
    )
    steps = (
        Step(
            name=f"prepare_{LONG}",
            command=f"python src/prepare.py --input=data/{LONG}/{LONG}.csv --output={'z' * 150}",
            inputs=(f"raw-{LONG}",),
            outputs=("clean",),
        ),
        Step(name="train", command="python train.py " + "--flag " * 40, inputs=("clean",), outputs=("model",)),
    )
    models = (ModelArtifact(id="model", path=f"models/{'m' * 140}.joblib"),)
    lineage = make_lineage(datasets, steps, models, [f"scratch/{LONG}{i}.csv" for i in range(4)])
    dists = tuple(
        Distribution(name=n, version=v, installer="pip", requested=True, install_kind="index", location="/venv")
        for n, v in ((f"package-{'q' * 100}", "1.0.0" + "0" * 40), ("numpy", "2.1.0"))
    )
    env = record.environment.model_copy(update={"packages": Packages(distributions=dists)})
    identity = record.identity.model_copy(
        update={"argv": ("python", f"{LONG}.py", f"--{LONG}={LONG}"), "cwd": f"/work/{LONG}/{LONG}"}
    )
    return record.model_copy(
        update={
            "identity": identity,
            "environment": env,
            "lineage": lineage,
            "params": {f"param_{LONG}": "v" * 200, "seed": 42},
        }
    )


def render(folder: Path, record: RunRecord | None = None) -> Rendered:
    missing = [tool for tool in POPPLER if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: `./dev setup` installs poppler-utils")
    request = _request(folder)
    if record is not None:
        (folder / "record.json").write_bytes(dump_record(record))
        request = CheckRequest(**{**request.__dict__, "record": record})
    raw = (folder / "record.json").read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    real = CheckRequest(**{**request.__dict__, "record_path": folder / "record.json", "record_sha256": digest})
    written = make_report(real, folder / "out", ("html", "pdf"), pdfa=True, now=FIXED)
    html, pdf = written.files
    return Rendered(html=html, pdf=pdf, record_sha256=digest, run_id=request.record.identity.run_id)


@pytest.fixture(scope="session")
def demo_dossier(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return render(tmp_path_factory.mktemp("demo-dossier"))


@pytest.fixture(scope="session")
def wide_dossier(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    folder = tmp_path_factory.mktemp("wide-dossier")
    return render(folder, wide_record(folder))

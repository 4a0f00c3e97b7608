"""`auditor init`: a commented starter auditor.yaml for the current folder.

Pipeline files come first (init_dvc.py reads dvc.yaml and `.dvc` files, init_mlproject.py an
MLproject): their steps, with the datasets each reads and writes in the role the pipeline gives
them (input, intermediate, output), their models, params and metrics files. Then the data-like and
model-like files found elsewhere, skipping tool folders (version control, virtualenvs, caches,
build/, dist/, *.egg-info): files under an outputs-like folder get the output role, the rest input,
to be corrected. Every datasheet field is present but empty, so the gaps are visible. The result
always loads as a valid spec.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from auditor.project.folders import SKIP_DIRS
from auditor.project.init_draft import MODEL_SUFFIXES, Draft, is_code, slug
from auditor.project.init_dvc import read_dvc_files, read_pipeline
from auditor.project.init_mlproject import read_mlproject

DATA_SUFFIXES = frozenset(
    {
        ".csv", ".tsv", ".parquet", ".feather", ".arrow", ".json", ".jsonl", ".npy", ".npz", ".h5", ".hdf5",
        ".xlsx", ".txt", ".avro", ".orc", ".tfrecord", ".xml",
    }
)  # fmt: skip
DATA_FOLDERS = ("data", "datasets", "dataset", "raw", "input", "inputs")
OUTPUT_FOLDERS = frozenset(
    {
        "outputs",
        "output",
        "out",
        "results",
        "models",
        "model",
        "artifacts",
        "reports",
        "metrics",
        "plots",
        "predictions",
    }
)
# Folders of build products, tools and caches: what is in them is not the project's data.
INIT_SKIP = SKIP_DIRS | {"build", "dist", "site-packages", "mlruns", "mlartifacts", "wandb", "htmlcov", "venv"}
NOT_DATA = frozenset({"requirements.txt", "package.json", "package-lock.json", "dvc.lock", "MLproject"})
MAX_LISTED = 20

DATASHEET_FIELDS = (
    ("description", "what the data is: rows, columns, population"),
    ("source", "where it came from: provenance, publisher, version"),
    ("owner", "who is accountable for it"),
    ("licence", "the licence or contract that allows this use"),
    ("collection_period", "when it was collected"),
    ("collection_process", "how it was obtained and selected"),
    ("preprocessing", "cleaning, preprocessing and labelling before this project"),
    ("personal_data", "true or false"),
    ("legal_basis", "if personal data: the legal basis for processing it (e.g. GDPR Art. 6)"),
    ("limitations", "known limitations and biases"),
)


def _skipped(folder: str, parent: str) -> bool:
    return (
        folder in INIT_SKIP
        or folder.startswith(".")
        or folder.endswith(".egg-info")
        or (Path(parent, folder) / "pyvenv.cfg").exists()
    )


def _inside(path: str, declared: list[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in declared)


def _walk(root: Path, declared: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Data files and folders, model files, and `.dvc` files not already declared by a pipeline."""
    data: list[str] = []
    models: list[str] = []
    dvc_files: list[str] = []
    whole = [f for f in DATA_FOLDERS if (root / f).is_dir() and not any(d.startswith(f + "/") for d in declared)]
    data += [f for f in whole if f not in declared]
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not _skipped(d, dirpath))
        rel = Path(dirpath).relative_to(root)
        if rel.parts and rel.parts[0] in whole:
            dvc_files += [(rel / n).as_posix() for n in sorted(filenames) if n.endswith(".dvc")]
            continue  # already declared as a folder
        for name in sorted(filenames):
            path = (rel / name).as_posix()
            suffix = Path(name).suffix.lower()
            if name.endswith(".dvc"):
                dvc_files.append(path)
            elif _inside(path, declared) or name in NOT_DATA or name.startswith(".") or is_code(path):
                continue
            elif suffix in MODEL_SUFFIXES:
                models.append(path)
            elif suffix in DATA_SUFFIXES:
                data.append(path)
    return data[:MAX_LISTED], models[:MAX_LISTED], dvc_files


def _requirement_files(root: Path) -> list[str]:
    return sorted(p.name for p in root.glob("requirements*.txt") if p.is_file())


class _Ids:
    """One id per path, unique across datasets and models (raw, raw-2)."""

    def __init__(self) -> None:
        self.by_path: dict[str, str] = {}
        self.taken: set[str] = set()

    def __call__(self, path: str) -> str:
        if path not in self.by_path:
            base = slug(Path(path).stem if Path(path).suffix else Path(path).name)
            candidate, n = base, 1
            while candidate in self.taken:
                n += 1
                candidate = f"{base}-{n}"
            self.taken.add(candidate)
            self.by_path[path] = candidate
        return self.by_path[path]


def find(root: Path) -> tuple[Draft, list[tuple[str, str]], list[str]]:
    """What init declares: the pipeline draft, datasets as (path, role), model paths."""
    draft = Draft()
    read_mlproject(root, draft)
    read_pipeline(root, draft)
    _, _, dvc_files = _walk(root, draft.paths())
    read_dvc_files(root, draft, dvc_files)
    walked_data, walked_models, _ = _walk(root, draft.paths())  # again: `.dvc` data is declared now
    models = list(dict.fromkeys([*draft.models, *walked_models]))
    named = [p for p in draft.paths() if p not in models and p not in draft.params_files]
    folders = [p for p in named if (root / p).is_dir() or not Path(p).suffix]
    # A metrics file inside an output folder is part of that folder's dataset, not a second one.
    datasets = [(p, draft.role(p)) for p in named if not any(p.startswith(f + "/") for f in folders)]
    datasets += [(p, "input") for p in draft.params_files]
    datasets += [(p, _walked_role(p)) for p in walked_data if not _inside(p, [d for d, _ in datasets])]
    return draft, datasets, models


def _walked_role(path: str) -> str:
    return "output" if any(part in OUTPUT_FOLDERS for part in Path(path).parts[:-1]) else "input"


def _comment(text: str) -> str:
    """Text from a pipeline file as one comment line: a line break in it must not end the comment."""
    return " ".join(text.split())


def _list_line(key: str, values: list[str], example: str) -> str:
    return f"{key}: [" + ", ".join(json.dumps(v) for v in values) + "]" + ("" if values else example)


def starter_spec(root: Path) -> str:
    draft, datasets, models = find(root)
    ids = _Ids()
    q = json.dumps  # YAML accepts JSON strings: safe quoting for any file name
    lines = [
        "# auditor.yaml: what this project declares about its data, pipeline and model.",
        "# Written by `auditor init`; review every entry. Empty fields show as gaps in checks and dossiers.",
        "version: 1",
        "",
        "project:",
        f"  name: {q(root.resolve().name or 'project')}",
        "  owner: null            # team or person accountable for the model",
        "  intended_use: null     # what the model is for, and for whom",
        "  out_of_scope_uses: []  # uses it must not be put to",
        "",
        "environment:",
        "  requirements: [" + ", ".join(q(n) for n in _requirement_files(root)) + "]  # pip requirements files",
        "",
        "# JSON or YAML, as DVC reads them: seeds and the decision threshold are found in params files.",
        _list_line("params_files", draft.params_files, "   # e.g. [params.yaml]"),
        _list_line("metrics_files", draft.metrics_files, "  # e.g. [outputs/metrics.json]"),
    ]
    if draft.notes:
        lines += ["", "# Found in the pipeline files, for you to review:"]
        lines += [f"#   {_comment(note)}" for note in draft.notes]
    lines += ["", "datasets:" + ("" if datasets else " []  # e.g. - {id: raw, role: input, path: data/raw.csv}")]
    for path, role in datasets:
        lines += [
            f"  - id: {q(ids(path))}",
            f"    role: {role}" + " " * (max(1, 13 - len(role))) + "# input, output or intermediate",
            f"    path: {q(path)}",
            "    datasheet:",
        ]
        lines += [f"      {name}: null  # {hint}" for name, hint in DATASHEET_FIELDS]
    lines += ["", "# steps: the pipeline, as a DAG of commands and the datasets they read and write."]
    if not draft.steps:
        lines.append("steps: []  # e.g. - {name: train, command: python train.py, inputs: [raw], outputs: [model]}")
    else:
        lines.append("steps:")
    for step in draft.steps:
        lines += [f"  - name: {q(step.name)}", f"    command: {q(step.command)}"]
        lines.append("    inputs: [" + ", ".join(q(ids(p)) for p in dict.fromkeys(step.reads)) + "]")
        lines.append("    outputs: [" + ", ".join(q(ids(p)) for p in dict.fromkeys(step.writes)) + "]")
        if step.code:
            lines.append("    # code: " + _comment(", ".join(step.code)))
        if step.comment:
            lines.append(f"    # {_comment(step.comment)}")
    lines += ["", "models:" + ("" if models else " []  # e.g. - {id: model, path: models/model.joblib}")]
    lines += [
        f"  - id: {q(ids(p))}\n    path: {q(p)}\n    description: null  # what it is and does\n"
        "    limitations: null\n    ethical_considerations: null"
        for p in models
    ]
    lines += [
        "",
        "# predictions: held-out predictions with sensitive attributes, for fairness metrics.",
        "# predictions:",
        "#   path: outputs/predictions.csv",
        "#   label_column: label",
        "#   prediction_column: prediction",
        "#   score_column: score              # optional",
        "#   sensitive_columns: [sex, age_group]",
        "#   favourable_outcome: 1            # the label value, as a number or a string",
        "#   reference_groups: {sex: male}    # optional: the group disparate impact compares with",
        "#   min_group_size: 30",
        "",
        "# governance: the EU AI Act's Annex IV statements no run can measure (see the README); kept in the",
        "# run record at capture. Every field is optional; the dossier's Annex IV table names what is missing.",
        "# governance:",
        "#   provider: null",
        "#   system_name: null",
        "#   system_version: null",
        "#   risk_tier: not-assessed          # high-risk, limited, minimal or not-assessed",
        "#   human_oversight: null",
        "#   risk_management: null",
        "#   not_applicable: {}               # e.g. {1(f): not a component of a product}",
        "",
    ]
    return "\n".join(lines)

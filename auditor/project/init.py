"""`auditor init`: a commented starter auditor.yaml for the current folder.

It lists the data-like files and folders it finds as datasets (role input, to be
corrected) and model-like files as models, with every datasheet field present
but empty, so the gaps are visible. The result always loads as a valid spec.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from auditor.project.folders import SKIP_DIRS

DATA_SUFFIXES = frozenset(
    {
        ".csv",
        ".tsv",
        ".parquet",
        ".feather",
        ".arrow",
        ".json",
        ".jsonl",
        ".npy",
        ".npz",
        ".h5",
        ".hdf5",
        ".xlsx",
        ".txt",
        ".avro",
        ".orc",
        ".tfrecord",
    }
)
MODEL_SUFFIXES = frozenset(
    {".joblib", ".pkl", ".pickle", ".pt", ".pth", ".onnx", ".safetensors", ".keras", ".ckpt", ".bin"}
)
DATA_FOLDERS = ("data", "datasets", "dataset", "raw", "input", "inputs")
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


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")
    return slug or "item"


def _candidates(root: Path) -> tuple[list[str], list[str]]:
    data: list[str] = []
    models: list[str] = []
    for folder in DATA_FOLDERS:
        if (root / folder).is_dir():
            data.append(folder)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in SKIP_DIRS and not d.startswith(".") and not (Path(dirpath, d) / "pyvenv.cfg").exists()
        )
        rel = Path(dirpath).relative_to(root)
        if rel.parts and rel.parts[0] in DATA_FOLDERS:
            continue  # already declared as a folder
        for name in sorted(filenames):
            suffix = Path(name).suffix.lower()
            path = (rel / name).as_posix()
            if suffix in MODEL_SUFFIXES:
                models.append(path)
            elif suffix in DATA_SUFFIXES and name not in ("requirements.txt", "package.json"):
                data.append(path)
    return data[:MAX_LISTED], models[:MAX_LISTED]


def _requirement_files(root: Path) -> list[str]:
    return sorted(p.name for p in root.glob("requirements*.txt") if p.is_file())


def starter_spec(root: Path) -> str:
    data, models = _candidates(root)
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
        "params_files: []   # e.g. [params.yaml]",
        "metrics_files: []  # e.g. [outputs/metrics.json]",
        "",
        "datasets:" + ("" if data else " []  # e.g. - {id: raw, role: input, path: data/raw.csv}"),
    ]
    for path in data:
        lines += [
            f"  - id: {q(_slug(Path(path).stem))}",
            "    role: input            # input, output or intermediate",
            f"    path: {q(path)}",
            "    datasheet:",
        ]
        lines += [f"      {name}: null  # {hint}" for name, hint in DATASHEET_FIELDS]
    lines += [
        "",
        "# steps: the pipeline, as a DAG of commands and the datasets they read and write.",
        "steps: []  # e.g. - {name: train, command: python train.py, inputs: [raw], outputs: [model]}",
        "",
        "models:" + ("" if models else " []  # e.g. - {id: model, path: models/model.joblib}"),
    ]
    lines += [
        f"  - id: {q(_slug(Path(p).stem))}\n    path: {q(p)}\n    description: null  # what it is and does\n"
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
        '#   favourable_outcome: "1"',
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
    return _dedupe_ids("\n".join(lines))


def _dedupe_ids(text: str) -> str:
    """Two files with the same stem get distinct ids (raw, raw-2)."""
    seen: dict[str, int] = {}
    out = []
    for line in text.splitlines():
        match = re.match(r'^(  - id: )"(.*)"$', line)
        if match:
            base = match.group(2)
            seen[base] = seen.get(base, 0) + 1
            if seen[base] > 1:
                line = f'{match.group(1)}"{base}-{seen[base]}"'
        out.append(line)
    return "\n".join(out) + "\n"

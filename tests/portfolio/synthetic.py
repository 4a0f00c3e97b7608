"""The scenario's synthetic projects: small, stdlib-only training pipelines run with `auditor run`.

Two are duplicate work under different names and owners: the same input data by content (under
other file names), the same steps, the same label and sensitive attributes, and the same code with
renamed variables and other comments (one template, two vocabularies). A third shares only the
public reference table with them and must not be taken for duplicate work.
"""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path
from string import Template

# The public reference table all three read: regions with their median income (made up, fixed).
REGIONS = [
    ("north", 41000, 1_200_000),
    ("south", 35500, 2_300_000),
    ("east", 38200, 900_000),
    ("west", 44100, 1_700_000),
]

PREPARE = Template('''\
"""$doc_prepare"""

import csv
import os

$comment_read
with open("$input_path", newline="") as $fh:
    $rows = list(csv.DictReader($fh))
with open("$reference_path", newline="") as $fh:
    $medians = {$r["region"]: float($r["median_income"]) for $r in csv.DictReader($fh)}

$prepared = []
for $row in $rows:
    $relative = float($row["income"]) / $medians[$row["region"]]
    $ratio = float($row["debt"]) / max(float($row["income"]), 1.0)
    $group = "<25" if int($row["age"]) < 25 else "25+"
    $prepared.append(
        {
            "income_rel": round($relative, 6),
            "debt_ratio": round($ratio, 6),
            "age": $row["age"],
            "age_group": $group,
            "sex": $row["sex"],
            "defaulted": $row["defaulted"],
        }
    )

$comment_split
os.makedirs("$prepared_dir", exist_ok=True)
$columns = ["income_rel", "debt_ratio", "age", "age_group", "sex", "defaulted"]
for $name, $part in (("train", [r for i, r in enumerate($prepared) if i % 4]), ("test", $prepared[::4])):
    with open(f"$prepared_dir/{$name}.csv", "w", newline="") as $fh:
        $writer = csv.DictWriter($fh, fieldnames=$columns)
        $writer.writeheader()
        $writer.writerows($part)
print(f"prepare: {len($prepared)} rows")
''')

TRAIN = Template('''\
"""$doc_train"""

import csv
import json
import math
import os

$comment_model
FEATURES = ["income_rel", "debt_ratio"]


def $load($path):
    with open($path, newline="") as $fh:
        return list(csv.DictReader($fh))


def $sigmoid($z):
    return 1.0 / (1.0 + math.exp(-$z))


$train_rows = $load("$prepared_dir/train.csv")
$test_rows = $load("$prepared_dir/test.csv")
$weights = [0.0] * (len(FEATURES) + 1)
for $epoch in range(60):
    for $row in $train_rows:
        $x = [1.0] + [float($row[f]) for f in FEATURES]
        $error = $sigmoid(sum(w * v for w, v in zip($weights, $x))) - float($row["defaulted"])
        $weights = [w - 0.05 * $error * v for w, v in zip($weights, $x)]

$comment_score
os.makedirs("$model_dir", exist_ok=True)
os.makedirs("$output_dir", exist_ok=True)
with open("$model_dir/model.json", "w") as $fh:
    json.dump({"features": FEATURES, "weights": $weights}, $fh)
$correct = 0
with open("$output_dir/predictions.csv", "w", newline="") as $fh:
    $writer = csv.writer($fh)
    $writer.writerow(["sex", "age_group", "defaulted", "prediction", "score"])
    for $row in $test_rows:
        $score = $sigmoid(sum(w * v for w, v in zip($weights, [1.0] + [float($row[f]) for f in FEATURES])))
        $predicted = int($score >= 0.5)
        $correct += $predicted == int($row["defaulted"])
        $writer.writerow([$row["sex"], $row["age_group"], $row["defaulted"], $predicted, round($score, 6)])
with open("$output_dir/metrics.json", "w") as $fh:
    json.dump({"accuracy": round($correct / len($test_rows), 6)}, $fh)
print(f"train: accuracy {$correct / len($test_rows):.3f}")
''')

RUNNER = Template('''\
"""$doc_runner"""

import subprocess
import sys

for $step in ("$prepare_script", "$train_script"):
    subprocess.run([sys.executable, $step], check=True)
''')

SPEC = Template("""\
version: 1
project:
  name: $project
  owner: $owner
  intended_use: $intended_use
datasets:
  - id: $input_id
    role: input
    path: $input_path
    label_column: defaulted
    sensitive_columns: [sex]
  - id: regions-reference
    role: input
    path: $reference_path
    datasheet:
      description: Median income per region, a public reference table.
      source: Regional statistics office (public reference, made up for this test)
  - id: prepared
    role: intermediate
    path: $prepared_dir
  - id: predictions
    role: output
    path: $output_dir/predictions.csv
steps:
  - name: prepare
    command: python $prepare_script
    inputs: [$input_id, regions-reference]
    outputs: [prepared]
  - name: train
    command: python $train_script
    inputs: [prepared]
    outputs: [predictions]
predictions:
  path: $output_dir/predictions.csv
  label_column: defaulted
  prediction_column: prediction
  score_column: score
  sensitive_columns: [sex, age_group]
  favourable_outcome: "0"
  min_group_size: 10
  bootstrap_resamples: 50
""")

# The two vocabularies of the duplicate pair: same code, other names, other comments, other paths.
DUP_A = {
    "project": "loan-default",
    "owner": "Retail Credit Team <retail-credit@example.invalid>",
    "intended_use": "Predict which personal-loan applicants will default, for the retail credit desk.",
    "input_id": "applicants",
    "input_path": "data/applicants.csv",
    "reference_path": "data/reference/regions.csv",
    "prepared_dir": "data/prepared",
    "model_dir": "models",
    "output_dir": "outputs",
    "prepare_script": "src/prepare.py",
    "train_script": "src/train.py",
    "runner": "run.py",
    "doc_prepare": "Join applicants with the regional medians and split them 3:1.",
    "doc_train": "Fit a logistic regression by gradient descent and score the test split.",
    "doc_runner": "Run the two steps in order.",
    "comment_read": "# read the applicants and the regional reference table",
    "comment_split": "# every fourth applicant is held out for testing",
    "comment_model": "# two engineered features feed the model",
    "comment_score": "# write the model, the predictions and the accuracy",
    "fh": "handle",
    "rows": "rows",
    "medians": "medians",
    "r": "r",
    "prepared": "prepared",
    "row": "row",
    "relative": "relative",
    "ratio": "ratio",
    "group": "group",
    "columns": "columns",
    "name": "name",
    "part": "part",
    "writer": "writer",
    "load": "load",
    "path": "path",
    "sigmoid": "sigmoid",
    "z": "z",
    "train_rows": "train_rows",
    "test_rows": "test_rows",
    "weights": "weights",
    "epoch": "epoch",
    "x": "x",
    "error": "error",
    "correct": "correct",
    "score": "score",
    "predicted": "predicted",
    "step": "step",
}
DUP_B = {
    **DUP_A,
    "project": "credit-risk-poc",
    "owner": "Data Science Lab <ds-lab@example.invalid>",
    "intended_use": "Proof of concept that flags loan customers likely to miss repayments.",
    "input_id": "loans-2024",
    "input_path": "data/input/loans_2024.csv",
    "reference_path": "data/ref/region_income.csv",
    "prepared_dir": "work/features",
    "model_dir": "artifacts",
    "output_dir": "results",
    "prepare_script": "pipeline/build_features.py",
    "train_script": "pipeline/fit.py",
    "runner": "main.py",
    "doc_prepare": "Feature building: enrich loans with region income, hold out a quarter.",
    "doc_train": "Logistic model (plain SGD), evaluated on the hold-out loans.",
    "doc_runner": "Entry point of the proof of concept.",
    "comment_read": "# load loans + reference incomes (public table)",
    "comment_split": "# hold-out: rows 0, 4, 8, ...",
    "comment_model": "# inputs of the model",
    "comment_score": "# persist everything for the review",
    "fh": "f_in",
    "rows": "loans",
    "medians": "region_income",
    "r": "rec",
    "prepared": "features",
    "row": "loan",
    "relative": "inc_rel",
    "ratio": "dti",
    "group": "bucket",
    "columns": "header",
    "name": "split",
    "part": "chunk",
    "writer": "out",
    "load": "read_table",
    "path": "filename",
    "sigmoid": "logistic",
    "z": "t",
    "train_rows": "fit_set",
    "test_rows": "holdout",
    "weights": "coef",
    "epoch": "it",
    "x": "vec",
    "error": "residual",
    "correct": "hits",
    "score": "prob",
    "predicted": "yhat",
    "step": "script",
}

CHURN_FEATURES = '''\
"""Customer features for the churn forecast: tenure bands and regional spending power."""

import csv
import json
import os

medians = {}
with open("data/regions.csv", newline="") as source:
    for entry in csv.DictReader(source):
        medians[entry["region"]] = float(entry["median_income"])

os.makedirs("build", exist_ok=True)
table = []
with open("data/customers.csv", newline="") as source:
    for entry in csv.DictReader(source):
        spend = float(entry["monthly_spend"]) * 12 / medians[entry["region"]]
        table.append({"tenure": int(entry["tenure_months"]), "spend": spend, "age": int(entry["age"]),
                      "churned": int(entry["churned"])})
json.dump(table, open("build/features.json", "w"))
'''
CHURN_FIT = '''\
"""Nearest-centroid churn model on tenure and spend; scores every customer."""

import csv
import json
import os

table = json.load(open("build/features.json"))
centroids = {}
for label in (0, 1):
    members = [t for t in table if t["churned"] == label]
    size = len(members)
    centroids[label] = (sum(t["tenure"] for t in members) / size, sum(t["spend"] for t in members) / size)
os.makedirs("forecast", exist_ok=True)
with open("forecast/scores.csv", "w", newline="") as sink:
    out = csv.writer(sink)
    out.writerow(["age_group", "churned", "predicted", "distance_ratio"])
    for t in table:
        near = [abs(t["tenure"] - c[0]) / 60 + abs(t["spend"] - c[1]) for c in (centroids[0], centroids[1])]
        guess = int(near[1] < near[0])
        out.writerow(["<30" if t["age"] < 30 else "30+", t["churned"], guess, round(near[1] / (near[0] + near[1]), 6)])
'''
CHURN_SPEC = """\
version: 1
project:
  name: churn-forecast
  owner: Customer Insights <insights@example.invalid>
  intended_use: Forecast which subscription customers will leave next quarter.
datasets:
  - id: customers
    role: input
    path: data/customers.csv
  - id: regions
    role: input
    path: data/regions.csv
    datasheet:
      description: Median income per region, a public reference table.
  - id: scores
    role: output
    path: forecast/scores.csv
steps:
  - name: features
    command: python features.py
    inputs: [customers, regions]
  - name: fit
    command: python fit.py
    outputs: [scores]
predictions:
  path: forecast/scores.csv
  label_column: churned
  prediction_column: predicted
  score_column: distance_ratio
  sensitive_columns: [age_group]
  favourable_outcome: "0"
  min_group_size: 10
  bootstrap_resamples: 50
"""
CHURN_RUNNER = """\
import runpy

# Both stages run in this interpreter, one after the other.
runpy.run_path("features.py", run_name="__main__")
runpy.run_path("fit.py", run_name="__main__")
"""


def _csv(header: list[str], rows: list[list[object]]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue().encode()


def regions_csv() -> bytes:
    return _csv(["region", "median_income", "population"], [list(r) for r in REGIONS])


def applicants_csv() -> bytes:
    """400 loan applicants, fixed by the seed."""
    rng = random.Random(16)  # noqa: S311 - test data, fixed by the seed
    rows: list[list[object]] = []
    for number in range(400):
        income = rng.randint(18_000, 90_000)
        debt = rng.randint(0, 40_000)
        risk = debt / income + rng.gauss(0, 0.15)
        rows.append(
            [
                number,
                income,
                debt,
                rng.randint(19, 70),
                rng.choice(["female", "male"]),
                rng.choice(REGIONS)[0],
                int(risk > 0.35),
            ]
        )
    return _csv(["applicant_id", "income", "debt", "age", "sex", "region", "defaulted"], rows)


def customers_csv() -> bytes:
    rng = random.Random(61)  # noqa: S311 - test data, fixed by the seed
    rows: list[list[object]] = []
    for number in range(300):
        tenure = rng.randint(1, 60)
        rows.append(
            [
                number,
                tenure,
                rng.randint(10, 120),
                rng.randint(18, 80),
                rng.choice(REGIONS)[0],
                int(tenure < 12 and rng.random() < 0.7),
            ]
        )
    return _csv(["customer_id", "tenure_months", "monthly_spend", "age", "region", "churned"], rows)


def write_duplicate(root: Path, words: dict[str, str]) -> tuple[Path, list[str]]:
    """One of the duplicate pair's project folders; returns it and the command to run."""
    project = root / words["project"]
    files = {
        words["input_path"]: applicants_csv(),
        words["reference_path"]: regions_csv(),
        words["prepare_script"]: PREPARE.substitute(words).encode(),
        words["train_script"]: TRAIN.substitute(words).encode(),
        words["runner"]: RUNNER.substitute(words).encode(),
        "auditor.yaml": SPEC.substitute(words).encode(),
    }
    for relative, content in files.items():
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_bytes(content)
    return project, [words["runner"]]


def write_churn(root: Path) -> tuple[Path, list[str]]:
    """The project that shares only the public reference table with the pair."""
    project = root / "churn-forecast"
    files = {
        "data/customers.csv": customers_csv(),
        "data/regions.csv": regions_csv(),
        "features.py": CHURN_FEATURES.encode(),
        "fit.py": CHURN_FIT.encode(),
        "forecast.py": CHURN_RUNNER.encode(),
        "auditor.yaml": CHURN_SPEC.encode(),
    }
    for relative, content in files.items():
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_bytes(content)
    return project, ["forecast.py"]

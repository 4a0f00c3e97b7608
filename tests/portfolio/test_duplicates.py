"""Duplicate-work detection over summaries of runs committed into a real store."""

from __future__ import annotations

from pathlib import Path

from auditor.portfolio.duplicates import find_duplicates, normalise_command
from tests.portfolio.xrun_records import Run, summaries_of

TRAIN = """
import pandas as pd
from sklearn.linear_model import LogisticRegression

def load_table(path):
    frame = pd.read_csv(path)
    frame = frame.dropna()
    frame["income_ratio"] = frame["income"] / (frame["debt"] + 1)
    return frame

def fit_model(frame, seed=42):
    features = frame.drop(columns=["default"])
    target = frame["default"]
    model = LogisticRegression(max_iter=200, random_state=seed)
    model.fit(features, target)
    return model

if __name__ == "__main__":
    table = load_table("data/train.csv")
    clf = fit_model(table)
    print(clf.score(table.drop(columns=["default"]), table["default"]))
"""

# The same program, every name changed, a comment added, literals changed.
RENAMED = """
import pandas as pd
from sklearn.linear_model import LogisticRegression

# our own loan model
def read_loans(location):
    df = pd.read_csv(location)
    df = df.dropna()
    df["ratio"] = df["income"] / (df["debt"] + 2)
    return df

def train(df, random_seed=7):
    X = df.drop(columns=["defaulted"])
    y = df["defaulted"]
    estimator = LogisticRegression(max_iter=500, random_state=random_seed)
    estimator.fit(X, y)
    return estimator

if __name__ == "__main__":
    loans = read_loans("inputs/loans.csv")
    m = train(loans)
    print(m.score(loans.drop(columns=["defaulted"]), loans["defaulted"]))
"""

PREPARE = """
import pandas as pd
import sys

raw = pd.read_csv(sys.argv[1])
raw = raw[raw["age"] >= 18]
raw.to_csv(sys.argv[2], index=False)
"""

OTHER = """
import json

class Report:
    def __init__(self, items):
        self.items = list(items)

    def total(self):
        return sum(item["amount"] for item in self.items)

with open("ledger.json") as handle:
    print(Report(json.load(handle)).total())
"""

PUBLIC = ("reference/census.csv", "age,country\n30,FR\n")
APPLICANTS = ("data/applicants.csv", "id,income,debt,age,sex,default\n1,10,2,40,F,0\n")


def planted() -> list[Run]:
    """Two projects doing the same work under other names and owners, a third sharing only a public
    reference dataset with them, and a fourth, unrelated one."""
    return [
        Run(
            "01JGZ000000000000000000A01", "credit-risk", "alice",
            inputs=(APPLICANTS, PUBLIC),
            steps=(("prepare", "python src/prepare.py data/applicants.csv out/clean.csv"),
                   ("train", "python src/train.py --seed 42 out/clean.csv")),
            label="default", sensitive=("age", "sex"),
            code=(("src/train.py", TRAIN), ("src/prepare.py", PREPARE)),
        ),
        Run(
            "01JGZ000000000000000000A02", "credit-risk", "alice", day=1,
            inputs=(APPLICANTS, PUBLIC), steps=(("train", "python src/train.py --seed 7 out/clean.csv"),),
            label="default", sensitive=("age", "sex"), code=(("src/train.py", TRAIN),),
        ),
        Run(
            "01JGZ000000000000000000B01", "loan-default-model", "bob", day=2,
            inputs=(("inputs/loans.csv", APPLICANTS[1]), PUBLIC),
            steps=(("Prepare", "python  /home/bob/prep/prepare.py inputs/loans.csv tmp/clean.csv"),
                   ("Train", "python /home/bob/prep/train.py --seed 7 tmp/clean.csv")),
            label="default", sensitive=("age", "sex"),
            code=(("fit.py", RENAMED), ("prep/prepare.py", PREPARE.replace("raw", "rows"))),
        ),
        Run(
            "01JGZ000000000000000000C01", "census-dashboard", "carol", day=3,
            inputs=(PUBLIC,), steps=(("chart", "python chart.py"), ("train", "python src/train.py --seed 1")),
            label="default", sensitive=("age", "sex"), code=(("report.py", OTHER),),
        ),
        Run(
            "01JGZ000000000000000000D01", "ledger", "dave", day=4,
            inputs=(("ledger.json", "[]"), PUBLIC), steps=(("sum", "python report.py"),),
            code=(("report.py", OTHER.replace("Report", "Ledger")),),
        ),
    ]  # fmt: skip


def test_the_planted_duplicates_and_nothing_else(tmp_path: Path) -> None:
    pairs = find_duplicates(summaries_of(tmp_path / "store", planted()))
    assert [(p.a, p.b) for p in pairs] == [("credit-risk", "loan-default-model")]
    pair = pairs[0]
    assert pair.score >= 0.8
    assert pair.a_owners == ("alice",) and pair.b_owners == ("bob",)
    kinds = {e.kind: e for e in pair.evidence}
    assert set(kinds) == {"datasets", "pipeline", "labels", "code"}
    assert "data/applicants.csv" in kinds["datasets"].detail
    assert "reference/census.csv" in kinds["datasets"].detail and "not counted" in kinds["datasets"].detail
    assert "prepare" in kinds["pipeline"].detail and "train" in kinds["pipeline"].detail
    assert "src/train.py ~ fit.py" in kinds["code"].detail
    assert "default" in kinds["labels"].detail and "age, sex" in kinds["labels"].detail
    assert abs(sum(e.weight for e in pair.evidence) - pair.score) < 0.01


def test_shared_reference_data_alone_makes_no_pair(tmp_path: Path) -> None:
    runs = [r for r in planted() if r.project in ("credit-risk", "census-dashboard", "ledger")]
    assert find_duplicates(summaries_of(tmp_path / "store", runs)) == []


def test_one_signal_alone_makes_no_pair(tmp_path: Path) -> None:
    """The same code, nothing else in common: a template, not duplicate work."""
    runs = [
        Run("01JGZ000000000000000000E01", "one", "x", code=(("a.py", TRAIN),), inputs=(("a.csv", "1"),)),
        Run("01JGZ000000000000000000E02", "two", "y", code=(("b.py", TRAIN),), inputs=(("b.csv", "2"),)),
    ]
    assert find_duplicates(summaries_of(tmp_path / "store", runs)) == []


def test_two_runs_of_one_project_are_not_duplicates(tmp_path: Path) -> None:
    runs = [r for r in planted() if r.project == "credit-risk"]
    assert find_duplicates(summaries_of(tmp_path / "store", runs)) == []


def test_by_owner(tmp_path: Path) -> None:
    runs = [*planted(), Run("01JGZ000000000000000000F01", "side-project", "alice", inputs=(("x.csv", "x"),), day=5)]
    pairs = find_duplicates(summaries_of(tmp_path / "store", runs), by="owner")
    assert [(p.a, p.b) for p in pairs] == [("alice", "bob")]
    assert pairs[0].a_projects == ("credit-risk", "side-project")
    assert pairs[0].b_projects == ("loan-default-model",)


def test_min_score_and_order(tmp_path: Path) -> None:
    summaries = summaries_of(tmp_path / "store", planted())
    (pair,) = find_duplicates(summaries, min_score=0.5)
    assert find_duplicates(summaries, min_score=pair.score) == [pair]
    assert find_duplicates(summaries, min_score=pair.score + 0.001) == []


def test_commands_are_normalised() -> None:
    assert normalise_command("python  /home/bob/src/train.py --seed 42\tdata/x.csv") == (
        "python train.py --seed # PATH"
    )

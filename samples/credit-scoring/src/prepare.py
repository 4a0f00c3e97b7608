"""Step 2: validate and clean the raw data, then split it into train and test.

The raw file is checked against the schema the later steps rely on, so a
changed upstream file fails here with a clear message instead of silently
producing a different model. Cleaning only renames codes to what they mean in
the original UCI documentation; no row is dropped or imputed. The split is
stratified on the label and seeded from params.yaml, so it is reproducible.
"""

import sys
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "data" / "raw" / "german.csv"
PROCESSED_DIR = ROOT / "data" / "processed"

RAW_COLUMNS = [
    "risk",
    "sex",
    "job",
    "housing",
    "saving_accounts",
    "checking_account",
    "credit_amount",
    "duration",
    "purpose",
    "age",
]
# "not_known" is not missing data: in the UCI coding it is its own answer
# (A14 "no checking account", A65 "unknown / no savings account").
CHECKING_ACCOUNT = {"not_known": "none"}
SAVING_ACCOUNTS = {"not_known": "unknown_or_none"}
# The job column is an integer code; the labels are the UCI attribute 17 levels.
JOB = {0: "unskilled_non_resident", 1: "unskilled_resident", 2: "skilled", 3: "highly_skilled"}


def load_params() -> dict[str, Any]:
    """Read params.yaml from the sample root."""
    with (ROOT / "params.yaml").open(encoding="utf-8") as f:
        params: dict[str, Any] = yaml.safe_load(f)
    return params


def validate(raw: pd.DataFrame) -> list[str]:
    """Return every way the raw data breaks the schema; empty when it is fine."""
    if list(raw.columns) != RAW_COLUMNS:
        return [f"columns are {list(raw.columns)}, expected {RAW_COLUMNS}"]
    problems = []
    if raw.isna().any().any():
        problems.append(f"missing values in {sorted(raw.columns[raw.isna().any()])}")
    if not raw["risk"].isin([0, 1]).all():
        problems.append("risk must be 0 (bad) or 1 (good)")
    if not raw["sex"].isin(["female", "male"]).all():
        problems.append("sex must be female or male")
    if not raw["job"].isin(list(JOB)).all():
        problems.append(f"job must be one of {sorted(JOB)}")
    if (raw["age"] < 18).any():
        problems.append("age below 18")
    return problems


def clean(raw: pd.DataFrame, young_age_below: int) -> pd.DataFrame:
    """Give codes their documented meaning and add applicant_id and age_group.

    applicant_id is the 1-based row number in the raw file, so every
    prediction can be traced back to the applicant's raw record.
    """
    data = raw.copy()
    data.insert(0, "applicant_id", range(1, len(data) + 1))
    data["checking_account"] = data["checking_account"].replace(CHECKING_ACCOUNT)
    data["saving_accounts"] = data["saving_accounts"].replace(SAVING_ACCOUNTS)
    data["job"] = data["job"].map(JOB)
    young = data["age"] < young_age_below
    data["age_group"] = young.map({True: f"<{young_age_below}", False: f"{young_age_below}+"})
    return data


def main() -> int:
    """Validate, clean and split; write train.csv and test.csv."""
    params = load_params()
    raw = pd.read_csv(RAW)
    problems = validate(raw)
    if problems:
        for problem in problems:
            print(f"prepare: {RAW.relative_to(ROOT)}: {problem}", file=sys.stderr)
        return 1

    data = clean(raw, params["prepare"]["young_age_below"])
    train, test = train_test_split(
        data,
        test_size=params["prepare"]["test_size"],
        stratify=data["risk"],
        random_state=params["seed"],
    )
    PROCESSED_DIR.mkdir(parents=True, exist_ok=True)
    for name, frame in (("train", train), ("test", test)):
        frame.sort_values("applicant_id").to_csv(PROCESSED_DIR / f"{name}.csv", index=False, lineterminator="\n")
    print(f"prepare: {len(train)} train / {len(test)} test applicants, good rate {data['risk'].mean():.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

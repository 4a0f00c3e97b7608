"""`favourable_outcome: 1` unquoted in auditor.yaml, through `auditor run` as a user writes it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import CliRunner

SPEC = """version: 1
project: {name: fav}
predictions:
  path: predictions.csv
  label_column: label
  prediction_column: prediction
  sensitive_columns: [sex]
  favourable_outcome: 1
  min_group_size: 2
  bootstrap_resamples: 0
"""


def test_an_unquoted_number_is_the_favourable_outcome(tmp_path: Path, cli: CliRunner) -> None:
    rows = ["label,prediction,sex"] + [f"{i % 2},{(i // 2) % 2},{'fm'[i % 3 == 0]}" for i in range(24)]
    (tmp_path / "predictions.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "auditor.yaml").write_text(SPEC)
    done = cli("run", "--", "python", "-c", "pass", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    record = json.loads(cli("show", "latest", "--json", cwd=tmp_path).stdout)
    fairness = record["fairness"]
    assert fairness["state"] == "captured", fairness
    assert fairness["favourable_outcome"] == "1"
    shown = cli("show", "latest", cwd=tmp_path).stdout
    assert "favourable = 1," in shown and "None" not in shown

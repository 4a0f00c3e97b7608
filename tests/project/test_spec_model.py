"""auditor.yaml's model card fields: params and metrics files, and each model's declared facts."""

from __future__ import annotations

import pytest

from auditor.project.spec import SpecError, load_spec, parse_spec
from tests.conftest import SAMPLE

BASE = "version: 1\nproject: {name: p}\n"


def test_the_sample_declares_its_files_and_model_card_text() -> None:
    spec = load_spec(SAMPLE / "auditor.yaml")
    assert spec.params_files == ("params.yaml",) and spec.metrics_files == ("outputs/metrics.json",)
    (model,) = spec.models
    assert model.description and model.limitations and model.ethical_considerations
    assert model.type is None and model.features is None  # read from the model file, as evidence


def test_model_fields() -> None:
    spec = parse_spec(
        BASE + "models:\n  - id: m\n    path: m.pkl\n    features: [a, b]\n    task: regression\n    label: y\n",
        "auditor.yaml",
    )
    assert spec.models[0].features == ("a", "b") and spec.models[0].task == "regression"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BASE + "params_files: [/etc/passwd]\n", "auditor.yaml:3: params_files[0]: '/etc/passwd' is not a path inside"),
        (BASE + "metrics_files: [../m.json]\n", "auditor.yaml:3: metrics_files[0]: '../m.json' is not a path inside"),
        (BASE + "params_files: params.yaml\n", "auditor.yaml:3: params_files"),
        (
            BASE + "models:\n  - id: m\n    path: m.pkl\n    task: clustering\n",
            "auditor.yaml:6: models[0].task: Input should be 'classification' or 'regression'",
        ),
        (
            BASE + "models:\n  - id: m\n    path: m.pkl\n    colour: red\n",
            "auditor.yaml:6: models[0].colour: unknown key",
        ),
    ],
)
def test_bad_fields_name_file_line_and_key(text: str, message: str) -> None:
    with pytest.raises(SpecError) as raised:
        parse_spec(text, "auditor.yaml")
    assert raised.value.exit_code == 2 and str(raised.value).startswith(message), str(raised.value)

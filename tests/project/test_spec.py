from __future__ import annotations

import re
from pathlib import Path

import pytest

from auditor.project.spec import SpecError, load_spec, parse_spec
from tests.conftest import SAMPLE, CliRunner

GOOD = """\
version: 1
project:
  name: p
datasets:
  - id: raw
    role: input
    path: data/raw.csv
  - id: clean
    role: intermediate
    path: data/clean.csv
steps:
  - name: prep
    command: python prep.py
    inputs: [raw]
    outputs: [clean]
"""


def test_the_sample_spec_is_valid() -> None:
    spec = load_spec(SAMPLE / "auditor.yaml")
    assert spec.project.name == "credit-scoring"
    assert {d.id for d in spec.datasets} >= {"german-credit-package", "params", "predictions"}
    assert spec.predictions is not None and spec.predictions.sensitive_columns == ("sex", "age_group")


def test_a_minimal_spec() -> None:
    spec = parse_spec(GOOD, "auditor.yaml")
    assert [s.name for s in spec.steps] == ["prep"]
    assert spec.datasets[0].datasheet.description is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            GOOD.replace("    role: input", "    role: inputt"),
            "auditor.yaml:6: datasets[0].role: Input should be 'input', 'output' or 'intermediate'",
        ),
        (
            GOOD.replace("    path: data/raw.csv", "    path: data/raw.csv\n    colour: red"),
            "auditor.yaml:8: datasets[0].colour: unknown key",
        ),
        (GOOD.replace("  name: p\n", "  owner: q\n"), "auditor.yaml:2: project.name: required key is missing"),
        (
            GOOD.replace("inputs: [raw]", "inputs: [rwa]"),
            "auditor.yaml:14: steps[0].inputs[0]: unknown dataset or model id 'rwa'",
        ),
        (GOOD.replace("  name: p\n", "  name: p\n  name: q\n"), "auditor.yaml:4: project.name: duplicate key"),
        (
            GOOD + "  - name: back\n    command: x\n    inputs: [clean]\n    outputs: [raw]\n",
            "auditor.yaml:12: steps[0]: the steps form a cycle: prep -> back -> prep",
        ),
        (
            GOOD.replace("    path: data/raw.csv", "    path: data/raw.csv\n    uri: s3://bucket/raw.csv"),
            "auditor.yaml:5: datasets[0]: give exactly one of 'path' or 'uri'",
        ),
        (GOOD.replace("  - id: clean", "  - id: raw"), "auditor.yaml:8: datasets[1].id: duplicate id 'raw'"),
        ("project: [unclosed\n", "auditor.yaml:2: not valid YAML: did not find expected ',' or ']'"),
        ("- just a list\n", "auditor.yaml:1: expected a mapping with at least a 'project' section"),
        ("version: 2\nproject: {name: p}\n", "auditor.yaml:1: version: Input should be 1"),
    ],
)
def test_errors_name_file_line_and_key(text: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(text, "auditor.yaml")
    assert info.value.message == message


def test_unreadable_spec(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read"):
        load_spec(tmp_path / "auditor.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('a: &x ["lol"]\nb: [*x, *x]\n', "auditor.yaml:1: YAML anchors and aliases are not supported in auditor.yaml"),
        ("project: !!python/object:os.system {name: p}\n", "auditor.yaml:1: not valid YAML: could not determine"),
        ('version: !!int "abc"\nproject: {name: p}\n', "auditor.yaml: not valid YAML: invalid literal for int()"),
        ("? [a, b]\n: 1\n", "auditor.yaml:1: keys must be plain text"),
        ("x: " + "[" * 40 + "]" * 40 + "\n", "auditor.yaml:1: nested more than 32 levels deep"),
        ("project: {name: p}\n" + "\t:\n", "auditor.yaml:2: not valid YAML:"),
    ],
)
def test_hostile_yaml_is_refused_with_one_line(text: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(text, "auditor.yaml")
    assert info.value.message.startswith(message), info.value.message


GOVERNED = "version: 1\nproject:\n  name: p\ngovernance:\n  provider: Acme\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            GOVERNED + "  risk_tier: high\n",
            "auditor.yaml:6: governance.risk_tier: Input should be 'high-risk', 'limited', 'minimal' or 'not-assessed'",
        ),
        (GOVERNED + "  provder: Acme\n", "auditor.yaml:6: governance.provder: unknown key"),
        (GOVERNED + "  standards: ISO/IEC 42001\n", "auditor.yaml:6: governance.standards: Input should be a valid"),
        (GOVERNED + "  system_version: 1.0\n", "auditor.yaml:6: governance.system_version: Input should be a valid"),
        (
            GOVERNED + "  not_applicable: {2(z): not used}\n",
            "auditor.yaml:6: governance.not_applicable: Value error, '2(z)' is not an Annex IV item",
        ),
        (
            GOVERNED + "  not_applicable: {1(f): ' '}\n",
            "auditor.yaml:6: governance.not_applicable: Value error, '1(f)': say why it does not apply",
        ),
        ("version: 1\nproject: {name: p}\ngovernance: [provider]\n", "auditor.yaml:3: governance: Input should be"),
    ],
)
def test_governance_errors_name_file_line_and_field(text: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(text, "auditor.yaml")
    assert info.value.message.startswith(message), info.value.message


def test_the_sample_declares_governance_and_what_does_not_apply() -> None:
    governance = load_spec(SAMPLE / "auditor.yaml").governance
    assert governance.risk_tier == "not-assessed" and governance.provider
    assert set(governance.not_applicable) == {"1(d)", "1(f)", "1(g)", "2(f)", "8", "9"}


def test_bad_governance_stops_a_run_with_one_line_and_exit_2(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "auditor.yaml").write_text(GOVERNED + "  risk_tier: very high\n")
    done = cli("run", "--", "touch", "ran", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"auditor: error: {tmp_path / 'auditor.yaml'}:6: governance.risk_tier: "
        "Input should be 'high-risk', 'limited', 'minimal' or 'not-assessed'"
    ]
    assert not (tmp_path / "ran").exists()


@pytest.mark.parametrize(("written", "kept"), [("1", "1"), ('"1"', "1"), ("1.0", "1.0"), ("good", "good"), ("0", "0")])
def test_favourable_outcome_is_a_number_or_a_string(written: str, kept: str) -> None:
    text = (
        "version: 1\nproject: {name: x}\ndatasets:\n  - {id: d, role: input, path: d.csv, favourable_label: 1}\n"
        "predictions:\n  path: p.csv\n  label_column: y\n  prediction_column: yhat\n  sensitive_columns: [sex]\n"
        f"  favourable_outcome: {written}\n  reference_groups: {{sex: 2}}\n"
    )
    spec = parse_spec(text, "auditor.yaml")
    assert spec.predictions is not None and spec.predictions.favourable_outcome == kept
    assert spec.predictions.reference_groups == {"sex": "2"} and spec.datasets[0].favourable_label == "1"


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("yes", "predictions.favourable_outcome: a boolean is ambiguous here: quote the value"),
        ("[1]", "predictions.favourable_outcome: expected the value as a string or a number"),
    ],
)
def test_favourable_outcome_refuses_booleans_and_lists(written: str, message: str) -> None:
    text = (
        "version: 1\nproject: {name: x}\npredictions:\n  path: p.csv\n  label_column: y\n"
        f"  prediction_column: yhat\n  sensitive_columns: [sex]\n  favourable_outcome: {written}\n"
    )
    with pytest.raises(SpecError, match=re.escape(f"auditor.yaml:8: {message}")):
        parse_spec(text, "auditor.yaml")

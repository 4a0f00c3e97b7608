from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from auditor.check.checks import cel
from auditor.check.checks.cel import MAX_DEPTH
from auditor.check.checks.expression import EXPRESSION, MAX_LENGTH
from auditor.check.checks.interface import CheckContext
from auditor.record import RunRecord
from auditor.record.lineage import Dataset, Datasheet, Lineage, Missing, ProjectInfo
from tests.factories import make_record

CONTEXT = CheckContext(today=date(2026, 11, 27))
LICENSED = 'has(item.datasheet.licence) && item.datasheet.licence != ""'


def _run(record: RunRecord, **params: Any) -> list[tuple[str, str, str]]:
    verdicts = EXPRESSION.run(record, EXPRESSION.params.model_validate(params), CONTEXT)
    return [(v.subject, v.outcome, v.message) for v in verdicts]


def _with_datasets(*datasets: Dataset) -> RunRecord:
    lineage = Lineage(
        spec_path="auditor.yaml",
        spec_sha256="0" * 64,
        project=ProjectInfo(name="demo"),
        datasets=datasets,
        steps=(),
        models=(),
        observed=Missing(reason="not observed in this test"),
        graph={},
    )
    return make_record().model_copy(update={"lineage": lineage})


def _dataset(id: str, licence: str | None = None) -> Dataset:
    return Dataset(id=id, role="input", path=f"{id}.csv", datasheet=Datasheet(licence=licence))


def _load_error(**params: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        EXPRESSION.params.model_validate(params)
    return str(caught.value.errors()[0]["msg"])


def test_true_and_false_over_the_exit_code() -> None:
    rule = "record.identity.exit_code == 0"
    assert _run(make_record(), expression=rule) == [("run", "pass", f"expression is true: {rule}")]
    failed = make_record(exit_code=2, status="failed")
    assert _run(failed, expression=rule) == [("run", "fail", f"expression is false: {rule}")]
    assert _run(failed, expression=rule, message="the run must exit 0") == [("run", "fail", "the run must exit 0")]
    folded = "record.identity.exit_code == 0\n  && record.identity.status == 'succeeded'\n"
    assert _run(failed, expression=folded) == [
        ("run", "fail", "expression is false: record.identity.exit_code == 0 && record.identity.status == 'succeeded'")
    ]


def test_for_each_dataset_with_a_subject() -> None:
    record = _with_datasets(_dataset("raw", "CC-BY-4.0"), _dataset("scraped"), _dataset("blank", ""))
    verdicts = _run(record, for_each="record.lineage.datasets", subject='"dataset:" + item.id', expression=LICENSED)
    assert [(subject, outcome) for subject, outcome, _ in verdicts] == [
        ("dataset:raw", "pass"),
        ("dataset:scraped", "fail"),
        ("dataset:blank", "fail"),
    ]
    assert verdicts[1][2] == f"expression is false: {LICENSED}"


def test_for_each_package_without_a_subject_numbers_the_items() -> None:
    verdicts = _run(
        make_record(), for_each="record.environment.packages.distributions", expression='item.install_kind == "vcs"'
    )
    assert verdicts == [("item:0", "fail", 'expression is false: item.install_kind == "vcs"')]


def test_a_null_field_is_absent_so_a_forgotten_guard_never_passes() -> None:
    record = _with_datasets(_dataset("scraped"))
    [(subject, outcome, message)] = _run(
        record, for_each="record.lineage.datasets", expression='item.datasheet.licence != ""'
    )
    assert (subject, outcome) == ("item:0", "could_not_evaluate")
    assert message == "cannot evaluate expression: no such member in mapping: 'licence'"


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ("record.identity.no_such_key == 1", "no such member in mapping: 'no_such_key'"),
        ('record.identity.exit_code + "x" == "0x"', "found no matching overload for"),
        ("10 / record.identity.exit_code == 1", "modulus or divide by zero"),
        ("record.params.seed == 1", "no such member in mapping: 'seed'"),
        ("undefined_function(record)", "undeclared reference to 'undefined_function'"),
    ],
)
def test_evaluation_errors_could_not_evaluate_with_the_cel_message(rule: str, reason: str) -> None:
    [(subject, outcome, message)] = _run(make_record(), expression=rule)
    assert (subject, outcome) == ("run", "could_not_evaluate")
    assert message.startswith(f"cannot evaluate expression: {reason}")
    assert "\n" not in message and len(message) < 250


@pytest.mark.parametrize(("rule", "kind"), [("record.identity.exit_code", "int"), ("record.identity.user", "string")])
def test_a_result_that_is_not_a_bool_never_passes(rule: str, kind: str) -> None:
    assert _run(make_record(), expression=rule) == [
        ("run", "could_not_evaluate", f"expression gave {kind}, not a bool")
    ]


def test_for_each_that_is_not_a_list_empty_or_missing() -> None:
    assert _run(make_record(), for_each="record.identity", expression="true") == [
        ("run", "could_not_evaluate", "for_each gave map, not a list")
    ]
    assert _run(_with_datasets(), for_each="record.lineage.datasets", expression="false") == [
        ("run", "not_applicable", "no items in record.lineage.datasets")
    ]
    # make_record() has no lineage: absent, so the list cannot be found, and nothing passes
    assert _run(make_record(), for_each="record.lineage.datasets", expression="true") == [
        ("run", "could_not_evaluate", "cannot evaluate for_each: no such member in mapping: 'lineage'")
    ]


def test_a_subject_that_is_not_a_string_falls_back_and_says_so() -> None:
    record = _with_datasets(_dataset("raw", "MIT"))
    assert _run(record, for_each="record.lineage.datasets", subject="size(item.id)", expression="true") == [
        ("item:0", "pass", "expression is true: true (subject gave int, not a string: using item:0)")
    ]
    [(subject, outcome, message)] = _run(make_record(), subject="record.nope", expression="false")
    assert (subject, outcome) == ("run", "fail")
    assert message.endswith("(subject could not be evaluated: no such member in mapping: 'nope'; using run)")


def test_hostile_run_data_is_only_ever_a_value() -> None:
    hostile = '") || true || ("'
    record = _with_datasets(_dataset(hostile, f'" || {hostile}'), _dataset("approved-raw", "MIT"))
    verdicts = _run(
        record,
        for_each="record.lineage.datasets",
        subject='"dataset:" + item.id',
        expression='item.id.startsWith("approved-") && item.datasheet.licence == "MIT"',
    )
    assert [(subject, outcome) for subject, outcome, _ in verdicts] == [
        (f"dataset:{hostile}", "fail"),
        ("dataset:approved-raw", "pass"),
    ]
    sneaky = make_record(project="1 == 1 || true")
    assert _run(sneaky, expression='record.identity.project == "demo"')[0][1] == "fail"


def test_a_syntax_error_fails_at_load_with_one_line_and_the_column() -> None:
    assert _load_error(expression="record.identity.exit_code ==") == (
        "Value error, CEL syntax error at line 1, column 29: unexpected end in 'record.identity.exit_code =='"
    )
    assert _load_error(expression="(record.identity.exit_code == 0\n  && true") == (
        "Value error, CEL syntax error at line 2, column 10: unexpected end, expected ')' in '&& true'"
    )
    assert "unexpected character" in _load_error(expression="record.x == 'unterminated")
    with pytest.raises(ValidationError) as caught:
        EXPRESSION.params.model_validate({"expression": "true", "for_each": "record.lineage.datasets["})
    assert caught.value.errors()[0]["loc"] == ("for_each",)
    assert _load_error(expression="record.lineage.datasets.all(d)") == (
        "Value error, CEL macro all() at line 1, column 25 takes a variable name and an expression,"
        ' e.g. list.all(x, x != "")'
    )
    assert "CEL macro map()" in _load_error(expression="[1].map(1, x)")


def test_long_or_deeply_nested_expressions_are_refused_at_load() -> None:
    long_rule = " && ".join(["record.identity.exit_code == 0"] * 100)
    assert len(long_rule) > MAX_LENGTH
    assert _load_error(expression=long_rule) == f"String should have at most {MAX_LENGTH} characters"
    assert _load_error(expression="(" * 30 + "true" + ")" * 30) == (
        f"Value error, CEL expression nested too deeply: syntax tree 310 levels deep, at most {MAX_DEPTH}"
    )
    # what is accepted evaluates without exhausting the stack
    assert _run(make_record(), expression="(" * 20 + "true" + ")" * 20)[0][1] == "pass"
    assert _load_error(expression="true", message="") == "String should have at least 1 character"
    assert "Extra inputs" in _load_error(expression="true", when="record.x")


def test_the_record_is_converted_once_for_all_rules_and_items(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    convert = cel.json_to_cel

    def counting(document: Any) -> Any:
        calls.append(document)
        return convert(document)

    monkeypatch.setattr(cel, "json_to_cel", counting)
    monkeypatch.setattr(cel, "_converted", None)
    record = _with_datasets(_dataset("a", "MIT"), _dataset("b", "MIT"))
    for _ in range(3):
        assert [o for _, o, _ in _run(record, for_each="record.lineage.datasets", expression=LICENSED)] == ["pass"] * 2
    assert len(calls) == 1
    _run(make_record(), expression="true")
    assert len(calls) == 2

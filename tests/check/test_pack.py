from __future__ import annotations

from pathlib import Path

import pytest

from auditor.check.checks import REGISTRY
from auditor.check.packs import PackError, load_pack
from tests.conftest import REPO

RULE = """\
  - id: T-{name}-{n}
    title: t
    severity: low
    rationale: r
    remediation: m
    references: [x]
    check: {check}
"""


def _pack(folder: Path, name: str, rules: list[str], includes: tuple[str, ...] = (), ids: str = "") -> Path:
    body = "".join(RULE.format(name=ids or name.upper(), n=i, check=check) for i, check in enumerate(rules))
    path = folder / f"{name}.yaml"
    path.write_text(
        f"pack: {name}\nversion: 1\ndescription: d\nincludes: [{', '.join(includes)}]\n"
        f"rules:{chr(10) + body if body else ' []'}\n"
    )
    return path


def test_the_default_pack_loads_and_uses_every_check_kind() -> None:
    pack = load_pack(REPO / "rules" / "default.yaml")
    assert pack.name == "default" and len(pack.rules) >= 12
    assert {r.rule.check.kind for r in pack.rules} == set(REGISTRY) - {"expression"}  # custom rules only
    assert all(r.rule.references and r.rule.rationale for r in pack.rules)
    fair = next(r for r in pack.rules if r.rule.id == "AUD-FAIR-002")
    assert "not the right threshold in every context" in fair.rule.rationale


def test_includes_collect_rules_in_order(tmp_path: Path) -> None:
    _pack(tmp_path, "base", ["{kind: run_succeeded}"])
    top = _pack(tmp_path, "top", ["{kind: source_clean}"], includes=("base",))
    pack = load_pack(top)
    assert [(r.pack, r.rule.check.kind) for r in pack.rules] == [("base", "run_succeeded"), ("top", "source_clean")]


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ("{kind: run_suceeded}", "top.yaml:12: rules[0].check.kind: unknown check kind 'run_suceeded' (known: "),
        (
            "{kind: fairness_threshold, params: {metric: demographic_parity_difference}}",
            "top.yaml:12: rules[0].check.params: Value error, give exactly one of 'max' or 'min'",
        ),
        ("{kind: fairness_threshold, params: {metric: dpd, max: 0.1}}", "top.yaml:12: rules[0].check.params.metric:"),
        (
            "{kind: run_succeeded, params: {strict: true}}",
            "top.yaml:12: rules[0].check.params.strict: unknown parameter",
        ),
    ],
)
def test_bad_checks_fail_at_load_time(tmp_path: Path, check: str, message: str) -> None:
    with pytest.raises(PackError) as info:
        load_pack(_pack(tmp_path, "top", [check]))
    assert info.value.message.startswith(f"{tmp_path}/{message}")


def test_bad_rules_and_includes(tmp_path: Path) -> None:
    path = _pack(tmp_path, "top", ["{kind: run_succeeded}"])
    path.write_text(path.read_text().replace("severity: low", "severity: catastrophic"))
    with pytest.raises(PackError, match=r"top.yaml:8: rules\[0\].severity: Input should be 'critical'"):
        load_pack(path)
    _pack(tmp_path, "a", ["{kind: run_succeeded}"], includes=("b",))
    _pack(tmp_path, "b", ["{kind: source_clean}"], includes=("a",))
    with pytest.raises(PackError, match=r"b.yaml:4: includes\[0\]: including 'a' makes a cycle: a -> b -> a"):
        load_pack(tmp_path / "a.yaml")
    _pack(tmp_path, "dup", ["{kind: run_succeeded}"], includes=("base",), ids="SAME")
    _pack(tmp_path, "base", ["{kind: source_clean}"], ids="SAME")
    with pytest.raises(PackError, match=r"rules\[0\].id: T-SAME-0 is already defined at base.yaml:6"):
        load_pack(tmp_path / "dup.yaml")
    with pytest.raises(PackError, match=r"c\.yaml:4: includes\[0\]: no pack .missing. beside this file or shipped"):
        load_pack(_pack(tmp_path, "c", [], includes=("missing",)))

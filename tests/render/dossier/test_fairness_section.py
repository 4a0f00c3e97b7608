"""The dossier's fairness views: small intersectional groups shown with their intervals and the rules'
marks, the marks agreeing with the findings, and a record from before 1.4 still shown."""

from __future__ import annotations

from pathlib import Path

from auditor.capture.fairness import compute_fairness
from auditor.check.evaluate import run_check
from auditor.check.packs import load_pack, packs_folder
from auditor.record.fairness import Fairness
from auditor.render.dossier.build_fairness import fairness_views
from tests.check.test_fairness_outcomes import EVEN, predictions
from tests.render.dossier.test_report import _request


def _draw(*_: object) -> str:
    return "<svg></svg>"


def _fairness(tmp_path: Path) -> Fairness:
    groups = {(s, a): EVEN for s in "fm" for a in ("young", "old")}
    groups[("f", "young")] = (2, 1, 1, 8)  # 12 rows: below the minimum of 30
    return compute_fairness(
        predictions(tmp_path, groups),
        display_path="p.csv",
        label_column="label",
        prediction_column="prediction",
        score_column=None,
        sensitive_columns=["sex", "age_group"],
        favourable_outcome="1",
        min_group_size=30,
        reference_groups={"sex": "m", "age_group": "old"},
        resamples=300,
        seed=2,
    )


def test_a_small_intersection_is_shown_with_its_intervals_and_marks(tmp_path: Path) -> None:
    request = _request(tmp_path)
    fairness = _fairness(tmp_path)
    record = request.record.model_copy(update={"fairness": fairness})
    report = run_check(
        request.__class__(**{**request.__dict__, "record": record, "pack": load_pack(packs_folder() / "default.yaml")})
    )
    views = {v.attributes: v for v in fairness_views(fairness, report, _draw)}
    both = views["sex & age_group"]
    assert both.reference == "m & old (declared)"
    small = next(g for g in both.groups if g.group == "f & young")
    assert small.small and small.count == 12
    assert small.selection.value == "75.0" and "–" in small.selection.interval
    assert small.selection_difference.mark == "inconclusive" and small.selection_difference.interval
    outcomes = {r.rule_id: r.outcome for r in both.rules}
    assert outcomes["AUD-FAIR-001"] == "inconclusive" and outcomes["AUD-FAIR-004"] == "fail"
    # the marks agree with the findings: a subject passes only when every mark is a pass
    sex = views["sex"]
    marks = {g.selection_difference.mark for g in sex.groups if not g.reference}
    assert marks == {"pass"} and {r.rule_id: r.outcome for r in sex.rules}["AUD-FAIR-001"] == "pass"
    assert next(g for g in sex.groups if g.reference).group == "m"


def test_a_record_from_before_comparisons_is_still_shown(tmp_path: Path) -> None:
    request = _request(tmp_path)
    fairness = _fairness(tmp_path)
    old = fairness.model_copy(
        update={
            "by_attributes": tuple(
                b.model_copy(update={"reference": None, "reference_basis": None, "comparisons": None})
                for b in fairness.by_attributes
            )
        }
    )
    record = request.record.model_copy(update={"fairness": old})
    report = run_check(request.__class__(**{**request.__dict__, "record": record}))
    (sex, *_) = fairness_views(old, report, _draw)
    assert sex.reference == "not recorded (a record before 1.4)"
    assert all(g.selection_difference.value == "" for g in sex.groups)
    assert sex.groups[0].selection.interval  # per-group intervals are there when the record has them

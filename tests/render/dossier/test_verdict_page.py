"""The verdict page says what to do: ready or not, blockers with owners and fixes, checks not performed.

Built from real check reports (the EU AI Act pack over a hand-built record), not from hand-made findings.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from auditor.check.evaluate import run_check
from auditor.check.vulns.sources import SourceChoice
from auditor.record import Missing
from auditor.record.lineage import Lineage, ProjectInfo
from auditor.render.dossier.build_verdict import NO_OWNER, UNEVALUATED_REMEDY, verdict_page
from auditor.render.dossier.paths import LOCAL_REMOTE, shown_command, shown_folder, shown_path, shown_remote
from tests.render.dossier.test_report import _request


def test_a_failing_run_is_not_ready_and_lists_its_blockers_worst_first(tmp_path: Path) -> None:
    request = _request(tmp_path)
    report = run_check(request)
    page = verdict_page(request.record, report)
    assert (page.ready, page.headline) == (False, "Not ready for sign-off")
    failing = [f for f in report.findings if f.outcome in ("fail", "inconclusive")]  # fail_on is low: all block
    causes = {(f.rule_id, f.message) for f in failing}  # one row per rule and cause, its subjects listed
    assert len(page.blockers) == len(causes) and [b.number for b in page.blockers] == list(range(1, len(causes) + 1))
    assert sum(len(b.subject.split(", ")) for b in page.blockers) == len(failing)
    ranks = ["critical", "high", "medium", "low"]
    assert [ranks.index(b.severity) for b in page.blockers] == sorted(ranks.index(b.severity) for b in page.blockers)
    assert page.reason.startswith(f"{len(failing)} blocking findings (")
    assert page.reason.endswith("`auditor check` exits 1.")
    # Every blocker has a fix in plain words: the rule's remediation.
    assert all(b.fix and b.title and b.what for b in page.blockers)
    # Counts per severity and outcome add up to the findings that are not "not applicable".
    total = sum(sum(row) for _, row in page.counts)
    assert total == sum(1 for f in report.findings if f.outcome != "not_applicable")


def test_the_owner_is_the_projects_and_is_said_once(tmp_path: Path) -> None:
    request = _request(tmp_path)
    record = request.record
    assert isinstance(record.lineage, Lineage)
    owned = record.lineage.model_copy(update={"project": ProjectInfo(name="demo", owner="Risk Team <r@x.invalid>")})
    record = record.model_copy(update={"lineage": owned})
    page = verdict_page(record, run_check(request))
    assert page.owner == "Risk Team <r@x.invalid>" and {b.owner for b in page.blockers} == {page.owner}
    unowned = verdict_page(request.record, run_check(request))
    assert unowned.owner == NO_OWNER


def test_a_failed_vulnerability_source_is_one_check_not_performed_with_its_remedy(tmp_path: Path) -> None:
    request = _request(tmp_path)
    missing_db = tmp_path / "no-such-db"
    missing_db.mkdir()
    broken = dataclasses.replace(request, vuln_source=SourceChoice(source="local", database=missing_db))
    report = run_check(broken)
    page = verdict_page(broken.record, report)
    vuln_check = ("No recorded package has a known vulnerability", "AUD-VULN-001")
    vulns = [n for n in page.not_performed if vuln_check in n.checks]
    assert len(vulns) == 1, page.not_performed
    (row,) = vulns
    assert row.checks == (vuln_check,) and row.subjects == 1 and "none of the 3 packages was audited" in row.why
    assert "--advisory-db" in row.fix and row.fix != UNEVALUATED_REMEDY
    assert page.ready is False


def test_paths_are_shown_relative_to_the_project() -> None:
    project, repo = "/home/alice/work/repo/samples/credit", "/home/alice/work/repo"
    assert shown_path("/home/alice/work/repo/samples/credit/.venv/bin/python", project, repo) == ".venv/bin/python"
    assert shown_path("/home/alice/work/repo/tools/x.py", project, repo) == "../../tools/x.py"
    assert shown_path("/usr/bin/python3", project, repo) == "/usr/bin/python3"  # the platform's, not the user's
    command = shown_command(
        ["/home/alice/work/repo/samples/credit/.venv/bin/python", "train.py", "--out=/home/alice/work/repo/m"],
        project,
        repo,
    )
    assert command == ".venv/bin/python train.py --out=../../m"
    assert "/home/alice" not in command
    assert shown_folder(project, repo) == "samples/credit/ in the repository"
    assert shown_folder(repo, repo) == "the repository's root folder"
    assert shown_remote("/home/alice/origin.git") == LOCAL_REMOTE
    assert shown_remote("file:///srv/git/x") == LOCAL_REMOTE
    assert shown_remote("https://github.com/org/repo.git") == "https://github.com/org/repo.git"
    assert shown_remote(None) == "none"


def test_one_cause_that_stops_several_checks_is_one_row(tmp_path: Path) -> None:
    request = _request(tmp_path)
    record = request.record.model_copy(update={"fairness": Missing(reason="no predictions file was declared")})
    report = run_check(dataclasses.replace(request, record=record))
    page = verdict_page(record, report)
    rows = [n for n in page.not_performed if "no predictions file was declared" in n.why]
    assert len(rows) == 1
    assert {rule_id for _, rule_id in rows[0].checks} == {
        "AUD-FAIR-001",
        "AUD-FAIR-002",
        "AUD-FAIR-003",
        "AUD-FAIR-004",
    }
    assert rows[0].fix == UNEVALUATED_REMEDY  # an executed run: nothing tool-specific to say


def test_each_fairness_attribute_says_whether_the_model_takes_it_as_input(tmp_path: Path) -> None:
    from auditor.record.model_card import Feature
    from auditor.render.dossier.build import _model_inputs
    from tests.render.dossier.model_card_data import model_card

    card = model_card()
    (model, *rest) = card.models
    features = (
        Feature(name="age", flags=("sensitive attribute is a direct model input ('age' and 'age_group' ...)",)),
        Feature(name="housing", flags=("likely proxy: association 0.37 with age_group in the declared data",)),
        Feature(name="job"),
    )
    card = card.model_copy(update={"models": (model.model_copy(update={"features": features}), *rest)})
    record = _request(tmp_path).record.model_copy(update={"model_card": card})
    text = _model_inputs(record, "sex & age_group")
    assert text == (
        "Model inputs: sex is not a model input; age_group is a direct model input (as age); likely proxies"
        " among the inputs: housing (see the model card)."
    )
    assert _model_inputs(record.model_copy(update={"model_card": None}), "sex") == ""  # no model card: nothing said


def test_the_reason_tells_failures_from_inconclusive_findings_and_advises_each(tmp_path: Path) -> None:
    from auditor.render.dossier.build_verdict import INCONCLUSIVE_REMEDY

    request = _request(tmp_path)
    report = run_check(request)
    page = verdict_page(request.record, report)
    failed = sum(1 for f in report.findings if f.outcome == "fail")
    unsure = sum(1 for f in report.findings if f.outcome == "inconclusive")
    assert unsure, "the golden record has an inconclusive fairness finding"
    assert f"{failed} failed" in page.reason and f"{unsure} inconclusive" in page.reason
    for blocker in page.blockers:
        rule = report.rule(blocker.rule_id)
        assert rule is not None
        if blocker.outcome == "inconclusive":
            assert blocker.fix == INCONCLUSIVE_REMEDY  # no "investigate the gap" for a gap not established
        elif blocker.rule_id != "AUD-VULN-001":
            assert blocker.fix == rule.remediation

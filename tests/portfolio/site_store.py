"""A store for the portfolio site's tests: factory records with lineage over four projects (one with a
hostile name and owner), a reproduction, two planted duplicate projects, notes with hostile text and a
reply, a sign-off that covers one project's latest run and one that covers an older record, and a
waivers file with one waiver expiring soon and one far away. Everything committed through the real
store, notes and sign-offs through their real writers."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from auditor.check.digest import findings_digest
from auditor.check.evaluate import run_check
from auditor.check.options import CheckOptions
from auditor.portfolio.site.checks import request_for, resolve_policy
from auditor.record.ids import new_ulid
from auditor.record.note import Note
from auditor.record.signoff import SignOff
from auditor.store.notes import add_note
from auditor.store.runs import RunStore
from auditor.store.signoffs import signoff_bytes, write_signoff
from tests.conftest import ADVISORY_SNAPSHOT
from tests.factories import START
from tests.portfolio.xrun_records import Run, store_of

HOSTILE = (
    "<script>document.title='pwned';fetch('http://127.0.0.1:{port}/x')</script><img src=http://127.0.0.1:{port}/i>"
)
CODE_A = "def train(frame):\n    model = fit(frame['income'], frame['default'])\n    return model.score(frame)\n"
CODE_B = CODE_A.replace("frame", "table").replace("model", "clf")


def rid(n: int) -> str:  # a new id each call (its random part): call once per run
    return new_ulid(int(START.timestamp() * 1000) + n * 1000)


@dataclass(frozen=True)
class SiteStore:
    root: Path
    waivers: Path
    hostile_project: str
    signed: str  # a latest run a sign-off covers
    stale: str  # a latest run whose only sign-off covers an older record
    older: str  # an older run of the signed project
    reproduction: str
    noted: str  # a run with notes (one hostile, one reply)
    twins: tuple[str, str]  # the planted duplicate projects
    latest: dict[str, str]  # project -> its latest run


def options(root: Path, waivers: Path, cwd: Path) -> list[str]:
    return [
        "--store",
        str(root),
        "--waivers",
        str(waivers),
        "--vuln-source",
        "local",
        "--advisory-db",
        str(ADVISORY_SNAPSHOT),
    ]


def build(folder: Path, port: int = 9) -> SiteStore:
    ids = [rid(n) for n in range(9)]
    hostile = HOSTILE.format(port=port)
    shared = (("data/applicants.csv", "the same applicants"), ("data/reference.csv", "public reference"))
    twin_steps = (("prepare", "python prepare.py"), ("train", "python train.py --target default"))
    runs = [
        Run(
            ids[1],
            "credit-scoring",
            "alice",
            inputs=(("data/a.csv", "a1"),),
            outputs=(("out/p.csv", "p1"),),
            models=(("model.pkl", "m1"),),
            day=1,
        ),
        Run(
            ids[2],
            "credit-scoring",
            "alice",
            inputs=(("data/a.csv", "a2"),),
            outputs=(("out/p.csv", "p2"),),
            models=(("model.pkl", "m2"),),
            day=5,
        ),
        Run(
            ids[3],
            "credit-scoring",
            "alice",
            reproduces=ids[2],
            inputs=(("data/a.csv", "a2"),),
            day=6,
        ),
        Run(
            ids[4],
            hostile,
            hostile,
            inputs=(("data/" + hostile, "h"),),
            models=((hostile, "hm"),),
            steps=(("s", hostile),),
            day=3,
        ),
        Run(
            ids[5],
            "churn-emea",
            "bob",
            inputs=shared,
            steps=twin_steps,
            label="default",
            sensitive=("sex",),
            code=(("train.py", CODE_A),),
            day=2,
        ),
        Run(
            ids[6],
            "attrition-apac",
            "carol",
            inputs=shared,
            steps=twin_steps,
            label="default",
            sensitive=("sex",),
            code=(("fit.py", CODE_B),),
            day=4,
        ),
        Run(ids[7], "weather", "dave", inputs=(("data/reference.csv", "public reference"),), day=7),
        Run(ids[8], "weather", "dave", inputs=(("data/reference.csv", "public reference"),), day=8),
    ]
    root = folder / "store"
    store = store_of(root, runs)
    today = datetime.now(UTC).date()
    waivers = folder / "waivers.yaml"
    soon, later = (today + timedelta(days=5)).isoformat(), (today + timedelta(days=300)).isoformat()
    people = "owner: erin, approver: frank"
    waivers.write_text(
        "version: 1\nwaivers:\n"
        f"  - {{id: W-SOON, rule: AUD-ENV-001, justification: 'vendor fix is due', {people}, expires: '{soon}'}}\n"
        f"  - {{id: W-LATER, rule: AUD-ENV-002, justification: 'accepted, a year', {people}, expires: '{later}'}}\n",
        encoding="utf-8",
    )
    checking = CheckOptions(
        run_ref="latest", store=root, cwd=folder, waivers=waivers, vuln_source="local", advisory_db=ADVISORY_SNAPSHOT
    )
    policy = resolve_policy(checking, dict(os.environ))
    _sign(store, policy, ids[8], ids[8])  # covers weather's latest run
    _sign(store, policy, ids[6], ids[6], stale=True)  # names another record: does not cover it
    first = Note(
        note_id=new_ulid(),
        run_id=ids[2],
        author=hostile,
        created_at=START + timedelta(days=6),
        text=hostile + "\nsecond line",
        source="auditor",
    )
    add_note(store, first)
    reply = Note(
        note_id=new_ulid(),
        run_id=ids[2],
        reply_to=first.note_id,
        author="alice",
        created_at=START + timedelta(days=7),
        text="Agreed: retrain on the new data.",
        source="auditor",
    )
    add_note(store, reply)
    latest = {
        "credit-scoring": ids[3],
        hostile: ids[4],
        "churn-emea": ids[5],
        "attrition-apac": ids[6],
        "weather": ids[8],
    }
    return SiteStore(
        root, waivers, hostile, ids[8], ids[6], ids[1], ids[3], ids[2], ("attrition-apac", "churn-emea"), latest
    )


def _sign(store: RunStore, policy: object, run_id: str, checked: str, *, stale: bool = False) -> None:
    from auditor.portfolio.site.checks import Policy

    assert isinstance(policy, Policy)
    report = run_check(request_for(policy, store, checked))
    signoff = SignOff(
        signoff_id=new_ulid(),
        run_id=run_id,
        record_sha256=("0" * 64) if stale else report.run.record_sha256,
        findings_sha256=findings_digest(report),
        verdict=report.with_waivers.verdict,
        decision="approve",
        role="model risk",
        name="Grace",
        comment="reviewed",
        decided_at=datetime.now(UTC),
        tool_version="0.1.0",
    )
    write_signoff(store, signoff, signoff_bytes(signoff))

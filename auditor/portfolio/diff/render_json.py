"""The diff as one versioned JSON document (sorted keys), for scripts and CI.

    {
      "kind": "auditor.run-diff", "version": "1.0",
      "a": RUN, "b": RUN,           # run_id, project, name, status, started_at (ISO 8601),
                                    # record_sha256, verdict (the check with `policy`)
      "policy": "eu-ai-act",        # the packs both runs were checked against
      "tolerances": {"*": "rel:0.001, abs:1e-09"},   # as given; absent names use the default
      "differs": true,              # some section is not "same"
      "headline": "changed: data, params",
      "substantial_modification": {
        "indicated": true, "wording": "...",
        "criteria": [{"criterion": "training data" | "model type" | "intended purpose",
                      "verdict": "indicated" | "not indicated" | "could not tell",
                      "evidence": ["..."]}]},
      "sections": [{                # always all nine, in this order: project, code, environment, hardware,
                                    # data, params, metrics, fairness, findings
        "name": "data", "title": "Data and models",
        "state": "same" | "changed" | "not recorded in A" | "not recorded in B" | "not recorded in A or B",
        "counts": {"added": 1, ...},
        "changes": [{"kind": "added" | "removed" | "changed" | "within" | "missing" | "note",
                     "what": "dataset raw (input)", "a": "sha256:..." | null, "b": ..., "detail": ... | null,
                     "missing_in": "A" | "B" | "A and B" | null}],
        "notes": ["..."]}]
    }

"within" is a difference inside the metric's tolerance or inside overlapping intervals: it does not
make a section "changed". In the findings section "added" is a new finding and "removed" a fixed one.
Version 1.x only adds keys; a key's meaning never changes within a major version.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from auditor.portfolio.diff.model import DIFF_KIND, DIFF_VERSION, RunDiff, RunSide
from auditor.portfolio.diff.order import headline
from auditor.portfolio.diff.substantial import WORDING


def _side(side: RunSide) -> dict[str, Any]:
    data = asdict(side)
    data["started_at"] = side.started_at.isoformat()
    return data


def document(diff: RunDiff) -> dict[str, Any]:
    return {
        "kind": DIFF_KIND,
        "version": DIFF_VERSION,
        "a": _side(diff.a),
        "b": _side(diff.b),
        "policy": diff.policy,
        "tolerances": dict(diff.tolerances),
        "differs": diff.differs,
        "headline": headline(diff),
        "substantial_modification": {
            "indicated": diff.substantial_indicated,
            "wording": WORDING,
            "criteria": [asdict(i) | {"evidence": list(i.evidence)} for i in diff.substantial],
        },
        "sections": [
            {
                "name": s.name,
                "title": s.title,
                "state": s.state,
                "counts": s.counts(),
                "changes": [asdict(c) for c in s.changes],
                "notes": list(s.notes),
            }
            for s in diff.sections
        ],
    }


def render_json(diff: RunDiff) -> str:
    return json.dumps(document(diff), sort_keys=True, indent=2) + "\n"

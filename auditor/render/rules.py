"""Plain-text views of rule packs for `auditor rules`. Pure: packs in, text out."""

from __future__ import annotations

from auditor.check.checks import REGISTRY
from auditor.check.packs import LoadedRule, Pack
from auditor.text import safe, table


def render_list(pack: Pack) -> str:
    rows = [[r.rule.id, r.rule.severity, r.rule.check.kind, safe(r.rule.title)] for r in pack.rules]
    header = f"pack {pack.name} (version {pack.version}): {len(pack.rules)} rules"
    return header + "\n" + table(["RULE", "SEVERITY", "CHECK", "TITLE"], rows)


def render_explain(loaded: LoadedRule) -> str:
    rule = loaded.rule
    params = loaded.params.model_dump(mode="json")
    lines = [
        f"{rule.id}: {safe(rule.title)}",
        f"  severity     {rule.severity}",
        f"  defined in   {loaded.source} (pack {loaded.pack})",
        f"  check        {rule.check.kind}: {REGISTRY[rule.check.kind].summary}",
    ]
    lines += [f"  parameter    {name} = {value}" for name, value in params.items() if value is not None]
    lines += ["", "Why it matters", f"  {safe(rule.rationale)}", "", "What to do", f"  {safe(rule.remediation)}"]
    lines += ["", "References", *(f"  - {safe(ref)}" for ref in rule.references)]
    return "\n".join(lines)

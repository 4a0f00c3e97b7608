"""Plain-text views of rule packs for `auditor rules`. Pure: packs in, text out."""

from __future__ import annotations

from pathlib import Path

from auditor.policy.checks import REGISTRY
from auditor.policy.pack import LoadedRule, Pack
from auditor.summary import safe, table

DEFAULT_PACK = "default"


def packs_folder() -> Path:
    """The shipped packs: auditor/packs in the installed package, a link to rules/ in a checkout."""
    return Path(__file__).resolve().parents[1] / "packs"


def shipped_packs() -> list[str]:
    return sorted(p.stem for p in packs_folder().glob("*.yaml"))


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

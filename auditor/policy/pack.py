"""Rule packs: versioned YAML files of rules, each naming a built-in check kind.

A pack may include other packs (by name, from the same folder); rules are
collected depth-first and an id may appear only once. Every check kind must be in
the registry and its parameters must validate, or the pack does not load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from auditor.policy.checks import REGISTRY
from auditor.policy.findings import Severity
from auditor.record.base import Frozen
from auditor.yamlfile import YamlFileError, line_of, load_model, read_text

PACK_SUFFIX = ".yaml"


class PackError(YamlFileError):
    """A rule pack is malformed: one line with file, line, key and what was expected."""


class CheckSpec(Frozen):
    kind: str
    params: dict[str, Any] = Field(default_factory=dict)


class Rule(Frozen):
    id: str = Field(pattern=r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
    title: str
    severity: Severity
    rationale: str
    remediation: str
    references: tuple[str, ...] = Field(min_length=1)
    check: CheckSpec


class Clause(Frozen):
    """A clause of a regulation or standard, and the rules whose findings show it is met."""

    id: str = Field(min_length=1, description="As the text cites it, e.g. 'Art. 10(2)(f)'")
    title: str
    rules: tuple[str, ...] = Field(min_length=1)


class PackFile(Frozen):
    pack: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: int = Field(ge=1)
    description: str
    includes: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()
    clauses: tuple[Clause, ...] = ()


class LoadedRule(Frozen):
    rule: Rule
    params: Frozen = Field(description="The check's parameters, validated by its registry entry")
    pack: str
    source: str = Field(description="file:line where the rule is defined")


class Pack(Frozen):
    name: str
    version: int
    rules: tuple[LoadedRule, ...]
    clauses: tuple[Clause, ...] = ()


def load_pack(path: Path) -> Pack:
    """A pack and everything it includes, validated against the check registry."""
    rules: dict[str, LoadedRule] = {}
    clauses: list[Clause] = []
    top = _load(path, rules, clauses, chain=())
    return Pack(name=top.pack, version=top.version, rules=tuple(rules.values()), clauses=tuple(clauses))


def _load(path: Path, rules: dict[str, LoadedRule], clauses: list[Clause], chain: tuple[str, ...]) -> PackFile:
    expected = "'pack', 'version', 'description' and 'rules'"
    pack, root = load_model(read_text(path, PackError), path, PackFile, PackError, expected)
    for index, name in enumerate(pack.includes):
        if name in (*chain, pack.pack):
            raise PackError(
                path,
                line_of(root, ("includes", index)),
                f"includes[{index}]",
                f"including {name!r} makes a cycle: {' -> '.join([*chain, pack.pack, name])}",
            )
        _load(path.with_name(name + PACK_SUFFIX), rules, clauses, (*chain, pack.pack))
    for index, rule in enumerate(pack.rules):
        where = ("rules", index)
        if rule.id in rules:
            raise PackError(
                path,
                line_of(root, (*where, "id")),
                f"rules[{index}].id",
                f"{rule.id} is already defined at {rules[rule.id].source}",
            )
        definition = REGISTRY.get(rule.check.kind)
        if definition is None:
            known = ", ".join(sorted(REGISTRY))
            raise PackError(
                path,
                line_of(root, (*where, "check", "kind")),
                f"rules[{index}].check.kind",
                f"unknown check kind {rule.check.kind!r} (known: {known})",
            )
        try:
            params = definition.params.model_validate(rule.check.params)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = (*where, "check", "params", *first["loc"])
            key = f"rules[{index}].check.params" + "".join(f".{p}" for p in first["loc"])
            problem = "unknown parameter" if first["type"] == "extra_forbidden" else str(first["msg"])
            raise PackError(path, line_of(root, loc), key, problem) from exc
        rules[rule.id] = LoadedRule(
            rule=rule, params=params, pack=pack.pack, source=f"{path.name}:{line_of(root, where)}"
        )
    for index, clause in enumerate(pack.clauses):
        for position, rule_id in enumerate(clause.rules):
            if rule_id not in rules:
                raise PackError(
                    path,
                    line_of(root, ("clauses", index, "rules", position)),
                    f"clauses[{index}].rules[{position}]",
                    f"no rule {rule_id!r} in this pack or its includes",
                )
        clauses.append(clause)
    return pack

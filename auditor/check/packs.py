"""Rule packs: versioned YAML files of rules, each naming a built-in check kind.

A pack may include other packs (by name, from the same folder); rules are
collected depth-first and an id may appear only once. Every check kind must be in
the registry and its parameters must validate, or the pack does not load.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, model_validator

from auditor.check.checks import REGISTRY
from auditor.errors import UsageError
from auditor.files import exists
from auditor.project.policy import Override
from auditor.project.yamlfile import YamlFileError, line_of, load_model, read_text
from auditor.record.base import Frozen
from auditor.vocabulary import Severity

PACK_SUFFIX = ".yaml"
MAX_PACK_BYTES = 1 << 20  # the shipped default pack is 12 KB


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
    """A clause of a regulation or standard, and the rules whose findings show it is met.

    A clause that no run can evidence (Art. 12's logs are the deployed system's, over its lifetime)
    names what it needs in `outside_run` instead of rules: its status is then always "not evidenced
    by a run", however the run's rules turn out."""

    id: str = Field(min_length=1, description="As the text cites it, e.g. 'Art. 10(2)(f)'")
    title: str
    rules: tuple[str, ...] = ()
    outside_run: str | None = Field(
        None, min_length=1, description="The evidence it needs that a run cannot give; exclusive with rules"
    )

    @model_validator(mode="after")
    def _rules_or_outside_run(self) -> Clause:
        if bool(self.rules) == (self.outside_run is not None):
            raise ValueError("give either 'rules' (evidenced by a run) or 'outside_run' (what it needs instead)")
        return self


class PackFile(Frozen):
    pack: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: int = Field(ge=1)
    description: str
    includes: tuple[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")], ...] = Field(
        (), description="Pack names: beside this file first, then the packs shipped with auditor"
    )
    rules: tuple[Rule, ...] = ()
    clauses: tuple[Clause, ...] = ()
    overrides: dict[str, Override] = Field(default_factory=dict, description="By rule id, for included rules")


class LoadedRule(Frozen):
    rule: Rule
    params: Frozen = Field(description="The check's parameters, validated by its registry entry")
    pack: str
    source: str = Field(description="file:line where the rule is defined")


class PackFileRef(Frozen):
    name: str
    version: int
    file: str
    sha256: str


class AppliedOverride(Frozen):
    rule_id: str
    changed: dict[str, str]
    reason: str
    source: str = Field(description="file:line of the override")


class Pack(Frozen):
    name: str
    version: int
    rules: tuple[LoadedRule, ...]
    clauses: tuple[tuple[str, Clause], ...] = Field((), description="(pack name, clause)")
    files: tuple[PackFileRef, ...] = Field((), description="Every pack file loaded, includes too")
    overrides: tuple[AppliedOverride, ...] = ()


class _Loading:
    """What loading one or more packs has collected so far."""

    def __init__(self) -> None:
        self.rules: dict[str, LoadedRule] = {}
        self.clauses: list[tuple[str, Clause]] = []
        self.files: dict[Path, PackFileRef] = {}
        self.overrides: list[AppliedOverride] = []


def load_pack(path: Path) -> Pack:
    """A pack and everything it includes, validated against the check registry."""
    return load_packs([path])


def load_packs(paths: list[Path], overrides: tuple[tuple[str, Override, str], ...] = ()) -> Pack:
    """Several packs as one (a pack included twice loads once), then a project's overrides.

    Each override is (rule id, override, where it was written as 'file:line') for messages."""
    state = _Loading()
    tops = [_load(path, state, chain=()) for path in paths]
    for rule_id, override, source in overrides:
        if rule_id not in state.rules:
            raise PackError(source, None, f"overrides.{rule_id}", "no rule with this id in the selected packs")
        _apply(state, rule_id, override, source)
    if not state.rules:  # checking nothing must not read as compliant
        raise PackError(paths[0], None, "rules", "the selected packs define no rules")
    name = "+".join(t.pack for t in tops)
    return Pack(
        name=name,
        version=tops[0].version if len(tops) == 1 else 1,
        rules=tuple(state.rules.values()),
        clauses=tuple(state.clauses),
        files=tuple(state.files.values()),
        overrides=tuple(state.overrides),
    )


def _load(path: Path, state: _Loading, chain: tuple[str, ...]) -> PackFile:
    expected = "'pack', 'version', 'description' and 'rules'"
    text = read_text(path, PackError, "a rule pack", MAX_PACK_BYTES)
    pack, root = load_model(text, path, PackFile, PackError, expected)
    resolved = path.resolve()
    if resolved in state.files:  # a diamond (two packs include the same one) is fine: load it once
        return pack
    state.files[resolved] = PackFileRef(
        name=pack.pack, version=pack.version, file=str(path), sha256=hashlib.sha256(text.encode()).hexdigest()
    )
    rules, clauses = state.rules, state.clauses
    for index, name in enumerate(pack.includes):
        if name in (*chain, pack.pack):
            raise PackError(
                path,
                line_of(root, ("includes", index)),
                f"includes[{index}]",
                f"including {name!r} makes a cycle: {' -> '.join([*chain, pack.pack, name])}",
            )
        _load(_include_path(path, name, root, index), state, (*chain, pack.pack))
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
        clauses.append((pack.pack, clause))
    for rule_id, override in pack.overrides.items():
        line = line_of(root, ("overrides", rule_id))
        if rule_id not in rules:
            raise PackError(path, line, f"overrides.{rule_id}", "no rule with this id in this pack or its includes")
        _apply(state, rule_id, override, f"{path}:{line}")
    return pack


def _include_path(path: Path, name: str, root: Any, index: int) -> Path:
    """An included pack: beside the including file, else shipped with auditor (`includes: [default]`)."""
    for candidate in (path.with_name(name + PACK_SUFFIX), packs_folder() / (name + PACK_SUFFIX)):
        if exists(candidate):  # present but not a regular file: refused when read, never skipped
            return candidate
    where = line_of(root, ("includes", index))
    raise PackError(path, where, f"includes[{index}]", f"no pack {name!r} beside this file or shipped with auditor")


def _apply(state: _Loading, rule_id: str, override: Override, source: str) -> None:
    """Merge an override into a loaded rule and validate the result as the pack would."""
    loaded = state.rules[rule_id]
    merged = {**loaded.rule.check.params, **override.params}
    try:
        params = REGISTRY[loaded.rule.check.kind].params.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = f"overrides.{rule_id}.params" + "".join(f".{p}" for p in first["loc"])
        problem = "unknown parameter" if first["type"] == "extra_forbidden" else str(first["msg"])
        raise PackError(source, None, key, problem) from exc
    changed = {f"params.{k}": str(v) for k, v in override.params.items()}
    rule = loaded.rule.model_copy(update={"check": CheckSpec(kind=loaded.rule.check.kind, params=merged)})
    if override.severity is not None:
        changed["severity"] = override.severity
        rule = rule.model_copy(update={"severity": override.severity})
    state.rules[rule_id] = loaded.model_copy(update={"rule": rule, "params": params})
    state.overrides.append(AppliedOverride(rule_id=rule_id, changed=changed, reason=override.reason, source=source))


DEFAULT_PACK = "default"


def packs_folder() -> Path:
    """The shipped packs: auditor/packs in the installed package, a link to rules/ in a checkout."""
    return Path(__file__).resolve().parents[1] / "packs"


def shipped_packs() -> list[str]:
    return sorted(p.stem for p in packs_folder().glob(f"*{PACK_SUFFIX}"))


def pack_path(name: str, folder: Path) -> Path:
    """A pack file (a path, or a name ending .yaml) or a shipped pack's name. What is found is
    read later, by `load_packs`, which refuses a FIFO or a device with one line."""
    if "/" in name or name.endswith((".yaml", ".yml")) or (exists(folder / name) and (folder / name).is_file()):
        path = folder / name
        if not exists(path):
            raise UsageError(f"{path}: no such rule pack file")
        return path
    if name not in shipped_packs():
        raise UsageError(f"unknown rule pack {name!r} (shipped: {', '.join(shipped_packs())}; or give a file)")
    return packs_folder() / f"{name}{PACK_SUFFIX}"

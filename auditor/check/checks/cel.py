"""Custom rules written in CEL, the expression language of Kubernetes ValidatingAdmissionPolicy.

A pack author writes `expression: record.identity.exit_code == 0`, or with `for_each` one
verdict per element of a list. Expressions are policy code from the pack (written by the
compliance team, compiled when the pack loads); run data only ever flows in as the values of
`record` and `item`, and is never parsed as CEL.

The record is bound in its JSON form without null fields, as Kubernetes omits unset fields:
`has(item.datasheet.licence)` then means "set", and an expression that forgets the guard
fails to evaluate rather than passing on a null.

Cost. A pack is not always the compliance team's: a repository's auditor.yaml names packs
beside it, so whoever can change the repository can hand `auditor check` a rule. cel-python has no
cost limit of its own, and five nested comprehensions over 20 items take minutes. So each rule
(with all its items) gets a budget: MAX_STEPS steps, one per syntax-tree node visited and
BIND_COST per variable bound, where a `+` that builds a list or string also pays its length
(`[l].map(x, x + x)` nested doubles a list at each level), and MAX_SECONDS of wall clock; all the
custom rules of one check share MAX_CUSTOM_SECONDS (interface.Allowance). A rule over budget is
"could not evaluate", with the reason, never a pass; the other rules go on. Each expression's
length and nesting are capped when the pack loads, so that a typo cannot exhaust the stack.
"""

from __future__ import annotations

import functools
import logging
import sys
import time
from typing import Any, Protocol

import celpy
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import Activation, CELEvalError, CELFunction, Context, Evaluator
from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedToken

from auditor.check.checks.interface import CheckContext, cannot
from auditor.record import RunRecord
from auditor.record.findings import Verdict

# The interpreter recurses about 5 frames per level of syntax tree and celpy allows 2500 frames;
# a realistic rule is 20-50 levels deep (each pair of parentheses adds 10).
MAX_DEPTH = 250
# cel-python visits about 250,000 nodes a second here, and binding a variable (each item, each
# element a macro visits) costs as much as 50 nodes. The README's licence rule over 10,000 datasets
# costs about 2,700,000 steps (10 s here, 3-6 s on a developer's laptop).
MAX_STEPS = 4_000_000
BIND_COST = 50
MAX_SECONDS = 30.0  # a backstop for steps that are slow in themselves
_CLOCK_EVERY = 4096  # steps between two looks at the clock
_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
_PUNCTUATION = {"RPAR": "')'", "RSQB": "']'", "RBRACE": "'}'", "COLON": "':'", "COMMA": "','"}
_converted: tuple[RunRecord, celtypes.Value] | None = None


class CelRule(Protocol):
    """The CEL texts of an `expression` rule (its parameters, validated where the check is declared)."""

    @property
    def expression(self) -> str: ...
    @property
    def for_each(self) -> str | None: ...
    @property
    def subject(self) -> str | None: ...
    @property
    def message(self) -> str | None: ...


class _Runner(celpy.InterpretedRunner):
    """cel-python's interpreter, with the base activation (the well-known type annotations) built once.

    The stock runner rebuilds it on every evaluation: a third of the time of a simple rule. Not
    the CompiledRunner: in cel-python 0.5 its has() gives a Python bool that &&, || and ! refuse.
    """

    def __init__(
        self, environment: celpy.Environment, ast: Tree[Token], functions: dict[str, CELFunction] | None
    ) -> None:
        super().__init__(environment, ast, functions)
        self._base = self.new_activation()

    def evaluate(self, context: Context) -> celtypes.Value:
        return self.run(context, Budget())

    def run(self, context: Context, budget: Budget) -> celtypes.Value:
        return _Metered(self.ast, self._base, budget).evaluate(context)  # clones _base, never changes it


class OverBudget(Exception):
    """A rule spent its evaluation budget. Not a CELEvalError, so no `||`, `has()` or `exists()`
    inside the expression can swallow it."""


class Budget:
    """What one rule may still spend: steps, and time until its deadline."""

    def __init__(self, steps: int = MAX_STEPS, seconds: float = MAX_SECONDS) -> None:
        self.left = steps
        self.steps = steps
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def spend(self, cost: int) -> None:
        before = self.left
        self.left -= cost
        if self.left < 0:
            raise OverBudget(f"more than {self.steps:,} evaluation steps: too costly to evaluate")
        if before // _CLOCK_EVERY != self.left // _CLOCK_EVERY and time.monotonic() > self.deadline:
            raise OverBudget(f"more than {self.seconds:.3g} s of evaluation: too costly to evaluate")


class _Metered(Evaluator):
    """cel-python's evaluator, paying one step per syntax-tree node it visits, macros included (each
    macro's body gets an evaluator of this class that shares the budget)."""

    def __init__(self, ast: Tree[Token], activation: Activation, budget: Budget) -> None:
        super().__init__(ast=ast, activation=activation)
        self.budget = budget

    def sub_evaluator(self, ast: Tree[Token]) -> Evaluator:
        return _Metered(ast, self.activation, self.budget)

    def evaluate(self, context: Context | None = None) -> celtypes.Value:
        if context:
            self.budget.spend(BIND_COST)  # the activation is cloned to bind the item or the macro's variable
        return super().evaluate(context)

    def _visit_tree(self, tree: Tree[Token]) -> Any:
        self.budget.spend(1)
        return super()._visit_tree(tree)

    def addition(self, tree: Tree[Token]) -> Any:
        value = super().addition(tree)
        if len(tree.children) == 2 and isinstance(value, str | bytes | list | dict):
            self.budget.spend(len(value))  # a new value as long as both sides: pay for its size
        return value


@functools.cache
def _environment() -> celpy.Environment:
    """Built on first use: the parser takes a moment, and most `auditor` commands never need it."""
    limit = sys.getrecursionlimit()
    env = celpy.Environment(runner_class=_Runner)
    sys.setrecursionlimit(max(limit, sys.getrecursionlimit()))  # celpy sets 2500: never lower a higher one
    # celpy logs some evaluation errors with their arguments (the whole record); here they become verdicts.
    logging.getLogger("celpy").setLevel(logging.CRITICAL)
    return env


@functools.lru_cache(maxsize=512)
def program(text: str) -> _Runner:
    """Compile once per distinct text; raises ValueError with a one-line reason."""
    env = _environment()
    try:
        ast = env.compile(text)
    except CELParseError as exc:
        raise ValueError(_syntax_error(text, exc)) from None
    if (depth := _depth(ast)) > MAX_DEPTH:
        raise ValueError(f"CEL expression nested too deeply: syntax tree {depth} levels deep, at most {MAX_DEPTH}")
    _check_macros(ast)
    runner = env.program(ast)
    if not isinstance(runner, _Runner):  # the environment is built with runner_class=_Runner
        raise TypeError(f"unexpected CEL runner {type(runner).__name__}")
    return runner


def _depth(ast: Tree[Token]) -> int:
    deepest, stack = 0, [(ast, 1)]
    while stack:  # not recursive: the point is to refuse what would exhaust the stack
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack += [(child, depth + 1) for child in node.children if isinstance(child, Tree)]
    return deepest


def _check_macros(ast: Tree[Token]) -> None:
    """The interpreter meets a malformed macro only when it runs: refuse it when the pack loads."""
    for node in ast.find_data("member_dot_arg"):
        name = node.children[1]
        if not isinstance(name, Token) or name.value not in _MACROS:
            continue
        args = node.children[2] if len(node.children) > 2 else None
        if isinstance(args, Tree) and len(args.children) == 2 and _is_identifier(args.children[0]):
            continue
        raise ValueError(
            f"CEL macro {name.value}() at line {name.line}, column {name.column} takes a variable name and an "
            f'expression, e.g. list.{name.value}(x, x != "")'
        )


def _is_identifier(tree: Tree[Token] | Token) -> bool:
    tokens = list(tree.scan_values(lambda v: isinstance(v, Token))) if isinstance(tree, Tree) else [tree]
    return len(tokens) == 1 and tokens[0].type == "IDENT"


def _syntax_error(text: str, exc: CELParseError) -> str:
    """One line; celpy raises CELParseError while handling lark's exception, which says what was met."""
    lines = text.splitlines() or [""]
    line, column, cause = exc.line or 1, exc.column or 1, exc.__context__
    if isinstance(cause, UnexpectedToken) and cause.token.type == "$END":
        lines = text.rstrip().splitlines() or [""]
        line, column, what = len(lines), len(lines[-1]) + 1, "unexpected end"  # lark gives a token's place
    elif isinstance(cause, UnexpectedToken):
        what = f"unexpected {cause.token.value!r}"
    elif isinstance(cause, UnexpectedCharacters):
        what = f"unexpected character {cause.char!r}"
    else:
        what = _one_line(str(exc))
    if isinstance(cause, UnexpectedToken) and cause.expected and cause.expected <= _PUNCTUATION.keys():
        what += ", expected " + " or ".join(sorted(_PUNCTUATION[e] for e in cause.expected))
    source = lines[line - 1] if line <= len(lines) else lines[-1]
    return f"CEL syntax error at line {line}, column {column}: {what} in {source.strip()!r}"


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class _CelError(Exception):
    """An evaluation failed; the message is one line, fit for a verdict."""


def _record_value(record: RunRecord) -> celtypes.Value:
    """The record as CEL, converted once however many rules and items use it.

    One entry suffices: the engine runs every rule on a record before the next. The entry holds
    the record itself, so the identity test cannot be fooled by a reused id().
    """
    global _converted
    cached = _converted
    if cached is None or cached[0] is not record:
        cached = (record, json_to_cel(record.model_dump(mode="json", exclude_none=True)))
        _converted = cached
    return cached[1]


def _evaluate_cel(text: str, values: dict[str, celtypes.Value], budget: Budget) -> celtypes.Value:
    runner = program(text)
    try:
        return runner.run(values, budget)
    except OverBudget:
        raise  # the rule as a whole cannot be evaluated: not one item's error
    except Exception as exc:  # CELEvalError mostly; a broken rule must not stop the others
        raise _CelError(_eval_reason(exc)) from exc


def _eval_reason(exc: Exception) -> str:
    text = str(exc.args[0]) if isinstance(exc, CELEvalError) and exc.args else f"{type(exc).__name__}: {exc}"
    return _one_line(text.split(" (in activation")[0])  # never dump the whole activation (the record)


def _type_name(value: object) -> str:
    """CEL's name for a value's type: celpy's classes are BoolType, IntType, StringType, MapType..."""
    return "null" if value is None else type(value).__name__.removesuffix("Type").lower()


def _verdict(params: CelRule, values: dict[str, celtypes.Value], default_subject: str, budget: Budget) -> Verdict:
    subject, note = default_subject, ""
    if params.subject is not None:
        try:
            named = _evaluate_cel(params.subject, values, budget)
            if isinstance(named, str):
                subject = str(named)
            else:
                note = f" (subject gave {_type_name(named)}, not a string: using {default_subject})"
        except _CelError as exc:
            note = f" (subject could not be evaluated: {exc}; using {default_subject})"
    try:
        result = _evaluate_cel(params.expression, values, budget)
    except _CelError as exc:
        return cannot(subject, f"cannot evaluate expression: {exc}{note}")
    if not isinstance(result, bool | celtypes.BoolType):
        return cannot(subject, f"expression gave {_type_name(result)}, not a bool{note}")
    if result:
        return Verdict(
            subject=subject, outcome="pass", message=f"expression is true: {_one_line(params.expression)}{note}"
        )
    failed = params.message or f"expression is false: {_one_line(params.expression)}"
    return Verdict(subject=subject, outcome="fail", message=failed + note)


def evaluate(record: RunRecord, params: CelRule, ctx: CheckContext, budget: Budget | None = None) -> list[Verdict]:
    """The rule's verdicts; over its budget, one "could not evaluate" for the whole rule (the
    verdicts of the items before would tell only part of the story). The time it takes is
    charged to what the check's custom rules may spend together."""
    allowance = ctx.custom
    left = allowance.seconds - allowance.spent
    if left <= 0:
        return [cannot("run", f"not evaluated: the custom rules of this check took {allowance.seconds:g} s already")]
    start = time.monotonic()
    try:
        return _verdicts(record, params, budget or Budget(seconds=min(MAX_SECONDS, left)))
    except OverBudget as exc:
        return [cannot("run", f"the rule was stopped: {exc}")]
    finally:
        allowance.spent += time.monotonic() - start


def _verdicts(record: RunRecord, params: CelRule, budget: Budget) -> list[Verdict]:
    values = {"record": _record_value(record)}
    if params.for_each is None:
        return [_verdict(params, values, "run", budget)]
    try:
        items = _evaluate_cel(params.for_each, values, budget)
    except _CelError as exc:
        return [cannot("run", f"cannot evaluate for_each: {exc}")]
    if not isinstance(items, list):
        return [cannot("run", f"for_each gave {_type_name(items)}, not a list")]
    if not items:
        return [Verdict(subject="run", outcome="not_applicable", message=f"no items in {_one_line(params.for_each)}")]
    return [_verdict(params, {**values, "item": item}, f"item:{index}", budget) for index, item in enumerate(items)]

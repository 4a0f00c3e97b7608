"""Custom rules written in CEL, the expression language of Kubernetes ValidatingAdmissionPolicy.

A pack author writes `expression: record.identity.exit_code == 0`, or with `for_each` one
verdict per element of a list. Expressions are policy code from the pack (written by the
compliance team, compiled when the pack loads); run data only ever flows in as the values of
`record` and `item`, and is never parsed as CEL.

The record is bound in its JSON form without null fields, as Kubernetes omits unset fields:
`has(item.datasheet.licence)` then means "set", and an expression that forgets the guard
fails to evaluate rather than passing on a null.

Trust: cel-python has no evaluation time budget or cost limit, so an expression's cost is the
pack author's responsibility (nested comprehensions over 10,000 datasets are slow). We only cap
each expression's length and nesting, so that a typo cannot exhaust the stack.
"""

from __future__ import annotations

import functools
import logging
import sys
from typing import Protocol

import celpy
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError, CELFunction, Context, Evaluator
from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedToken

from auditor.check.checks.interface import CheckContext, cannot
from auditor.record import RunRecord
from auditor.record.findings import Verdict

# The interpreter recurses about 5 frames per level of syntax tree and celpy allows 2500 frames;
# a realistic rule is 20-50 levels deep (each pair of parentheses adds 10).
MAX_DEPTH = 250
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
        return Evaluator(ast=self.ast, activation=self._base).evaluate(context)  # clones _base, never changes it


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
def program(text: str) -> celpy.Runner:
    """Compile once per distinct text; raises ValueError with a one-line reason."""
    env = _environment()
    try:
        ast = env.compile(text)
    except CELParseError as exc:
        raise ValueError(_syntax_error(text, exc)) from None
    if (depth := _depth(ast)) > MAX_DEPTH:
        raise ValueError(f"CEL expression nested too deeply: syntax tree {depth} levels deep, at most {MAX_DEPTH}")
    _check_macros(ast)
    return env.program(ast)


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


def _evaluate_cel(text: str, values: dict[str, celtypes.Value]) -> celtypes.Value:
    try:
        return program(text).evaluate(values)
    except Exception as exc:  # CELEvalError mostly; a broken rule must not stop the others
        raise _CelError(_eval_reason(exc)) from exc


def _eval_reason(exc: Exception) -> str:
    text = str(exc.args[0]) if isinstance(exc, CELEvalError) and exc.args else f"{type(exc).__name__}: {exc}"
    return _one_line(text.split(" (in activation")[0])  # never dump the whole activation (the record)


def _type_name(value: object) -> str:
    """CEL's name for a value's type: celpy's classes are BoolType, IntType, StringType, MapType..."""
    return "null" if value is None else type(value).__name__.removesuffix("Type").lower()


def _verdict(params: CelRule, values: dict[str, celtypes.Value], default_subject: str) -> Verdict:
    subject, note = default_subject, ""
    if params.subject is not None:
        try:
            named = _evaluate_cel(params.subject, values)
            if isinstance(named, str):
                subject = str(named)
            else:
                note = f" (subject gave {_type_name(named)}, not a string: using {default_subject})"
        except _CelError as exc:
            note = f" (subject could not be evaluated: {exc}; using {default_subject})"
    try:
        result = _evaluate_cel(params.expression, values)
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


def evaluate(record: RunRecord, params: CelRule, _ctx: CheckContext) -> list[Verdict]:
    values = {"record": _record_value(record)}
    if params.for_each is None:
        return [_verdict(params, values, "run")]
    try:
        items = _evaluate_cel(params.for_each, values)
    except _CelError as exc:
        return [cannot("run", f"cannot evaluate for_each: {exc}")]
    if not isinstance(items, list):
        return [cannot("run", f"for_each gave {_type_name(items)}, not a list")]
    if not items:
        return [Verdict(subject="run", outcome="not_applicable", message=f"no items in {_one_line(params.for_each)}")]
    return [_verdict(params, {**values, "item": item}, f"item:{index}") for index, item in enumerate(items)]

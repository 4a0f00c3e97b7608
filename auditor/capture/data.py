"""Data evidence around one command: the spec, content hashes, observed access, logged
events and fairness metrics, folded into the record's lineage, fairness, params and
metrics sections.

Order matters for trust: the spec is validated and declared inputs are hashed
*before* the command starts (so a bad spec costs nothing and the hashes describe
what the command was given); outputs are hashed after it ends.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from auditor.capture.codeprint import executed_code
from auditor.capture.hashing import HashCache, Walk, hash_paths
from auditor.capture.lineage import build_lineage, declared
from auditor.capture.observe.classify import classify
from auditor.capture.observe.session import ObservationSession, SessionResult
from auditor.capture.observe.treediff import MAX_ENTRIES, Snapshot, changed, snapshot
from auditor.capture.profile import profile_declared
from auditor.files import UntrustedFileError, read_regular_file, within
from auditor.project.spec import DatasetSpec, PredictionsSpec, ProjectSpec, SpecError, find_spec, load_spec
from auditor.record.base import Missing
from auditor.record.code import Code
from auditor.record.fairness import Fairness
from auditor.record.governance import Governance
from auditor.record.lineage import Datasheet, Hash, Lineage, Observation, ProjectInfo
from auditor.record.model_card import ModelCard
from auditor.record.models import Metric, ParamValue
from auditor.record.profile import Profile

HASH_CACHE_FILE = "hash-cache.json"
MAX_PREDICTIONS_BYTES = 1024 * 1024 * 1024
OUTSIDE_MOUNTS = "logged path outside the container's mounts: ignored"


@dataclass
class DataEvidence:
    lineage: Lineage | Missing
    fairness: Fairness | Missing
    params: dict[str, ParamValue] = field(default_factory=dict)
    metrics: tuple[Metric, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    governance: Governance | Missing | None = None
    model_card: ModelCard | Missing | None = None
    code: Code | Missing | None = None


class DataCapture:
    """Wraps one command: `prepare()` before it, `environment()` for it, `finish()` after, `close()` last
    (`finish` starts removing the observation folder, `close` waits for that)."""

    def __init__(
        self,
        root: Path,
        store_root: Path,
        clock: Callable[[], datetime],
        *,
        allowed_roots: tuple[Path, ...] | None = None,
        owner: tuple[int, int] | None = None,
        argv: Sequence[str] = (),
    ) -> None:
        """`allowed_roots`: in a container run, the folders the command sees at their own paths
        (logged paths elsewhere are refused); None for a local run. `owner`: the container's
        uid and gid when they are not auditor's own (see ObservationSession.grant). `argv`: the
        command, whose code files are fingerprinted with the ones its processes read."""
        self.root = root
        self.argv = tuple(argv)
        self.store_root = store_root
        self.clock = clock
        self.allowed_roots = allowed_roots
        self.owner = owner
        self.spec_file = find_spec(root)
        self.spec: ProjectSpec | None = load_spec(self.spec_file) if self.spec_file else None
        if self.spec is not None and self.spec.predictions is not None:
            _check_predictions_header(root, self.spec.predictions)
        self.cache = HashCache.load(store_root / HASH_CACHE_FILE)
        self.before: dict[str, Hash] = {}
        self.profiles: dict[str, Profile] = {}  # of the inputs, as hashed before the command
        self.tree: Snapshot = {}
        self.session: ObservationSession | None = None
        self.cancel: threading.Event | None = None  # see finish()

    def prepare(self, cancel: threading.Event | None = None) -> None:
        """`cancel` set (an interrupt: nothing will run) stops hashing the inputs. The project tree's
        snapshot takes the input folders as hashing listed them: one listing each, not two."""
        walks: dict[str, Walk] = {}
        if self.spec is not None:
            inputs = [d for d in self.spec.datasets if d.role == "input" and d.path]
            hashes = hash_paths(
                [self.root / d.path for d in inputs if d.path],
                display_root=self.root,
                cache=self.cache,
                now=self.clock(),
                cancel=cancel,
                walks=walks,
            )
            self.before = {d.id: h for d, h in zip(inputs, hashes, strict=True)}
            self.profiles = profile_declared(inputs, self.before, self.root, self.spec.predictions, cancel)
        self.tree = snapshot(self.root, skip=(self.store_root,), walks=walks)
        self.session = ObservationSession()
        if self.owner is not None:
            self.session.grant(self.owner)

    def environment(self, env: Mapping[str, str]) -> dict[str, str]:
        return self.session.environment(env) if self.session else dict(env)

    def finish(self, run_id: str, project: str, cancel: threading.Event | None = None) -> DataEvidence:
        """`cancel` set (a second interrupt) gives up hashing the outputs and computing fairness;
        the record then names them as missing."""
        if self.session is None:
            raise RuntimeError("DataCapture.finish() before prepare()")
        self.cancel = cancel
        try:
            result = self.session.collect()
            evidence = self._evidence(run_id, project, result)
        finally:
            self.session.close_soon()  # the caller's close() waits for it (see ObservationSession.close_soon)
            unsaved = self._save_cache()
        if unsaved:
            evidence.warnings.append(unsaved)
        return evidence

    def _save_cache(self) -> str | None:
        """The hash cache only saves time: a store too full to take it costs the next run a
        re-hash, never this run's evidence."""
        try:
            self.cache.save()
        except OSError as exc:
            return f"{self.cache.path}: the hash cache could not be saved ({exc.strerror or exc})"
        return None

    def close(self) -> None:
        if self.session is not None:
            self.session.close()

    # -- after the command ----------------------------------------------------

    def _evidence(self, run_id: str, project: str, result: SessionResult) -> DataEvidence:
        notes = list(result.problems)
        logged = _logged_datasets(result.events, self.root, notes, self._mounted)
        spec = self.spec or ProjectSpec(project=ProjectInfo(name=project))
        walks: dict[str, Walk] = {}  # the declared folders as hashing listed them, for the tree's snapshot
        after = self._hash_after(spec, logged, walks)
        produced = [*(d for d in spec.datasets if d.role != "input"), *logged]  # logged ones are hashed after
        profiles = {**self.profiles, **profile_declared(produced, after, self.root, spec.predictions, self.cancel)}
        observation = self._observation(spec, logged, result, walks)
        if len(self.tree) >= MAX_ENTRIES:
            notes.append(f"the project tree has more than {MAX_ENTRIES} files: changes past them were not seen")
        lineage = build_lineage(
            spec,
            spec_path=self.spec_file.name if self.spec_file else None,
            spec_sha256=hashlib.sha256(self.spec_file.read_bytes()).hexdigest() if self.spec_file else None,
            run_id=run_id,
            before=self.before,
            after=after,
            observation=observation,
            logged=logged,
            profiles=profiles,
        )
        if notes:
            lineage = lineage.model_copy(update={"notes": tuple(notes)})
        fairness, warnings = self._fairness(spec, result)
        params = _params(result.events)
        return DataEvidence(
            lineage=lineage,
            fairness=fairness,
            params=params,
            metrics=_metrics(result.events),
            tags=_tags(result.events),
            warnings=warnings + notes,
            governance=self._governance(),
            model_card=self._model_card(spec, params, result, _proxies(lineage)),
            code=self._code(result),
        )

    def _code(self, result: SessionResult) -> Code | Missing:
        """The code files the command executed: named in its argv, or read by its Python processes."""
        if self.cancel is not None and self.cancel.is_set():
            return Missing(reason="not computed: auditor was interrupted again while collecting evidence")
        reads = [p for proc in result.processes for p in proc.reads] if result.processes else None
        exclude = [p for proc in result.processes for p in proc.prefixes]
        exclude += [str(self.store_root), str(self.session.root) if self.session else ""]
        return executed_code(self.root, self.argv, reads, exclude=exclude)

    def _governance(self) -> Governance | Missing:
        """auditor.yaml's governance section as it is now, at capture: the record keeps what was declared."""
        if self.spec is None:
            return Missing(reason="no auditor.yaml in the project: no governance section declared")
        if "governance" not in self.spec.model_fields_set:
            return Missing(reason="auditor.yaml has no governance section")
        return Governance(**self.spec.governance.model_dump())

    def _model_card(
        self, spec: ProjectSpec, params: dict[str, ParamValue], result: SessionResult, proxies: dict[str, str]
    ) -> ModelCard | Missing:
        """The model card's evidence: declared facts, model files read without executing them, params
        and metrics files, and performance from the declared predictions file."""
        if self.cancel is not None and self.cancel.is_set():
            return Missing(reason="not computed: auditor was interrupted again while collecting evidence")
        predictions = self._performance_input(spec, result)
        if self.spec_file is None and isinstance(predictions, str):
            return Missing(reason="no auditor.yaml and no logged predictions: no model, params, metrics or predictions")
        from auditor.capture.model.card import MAX_MODEL_BYTES, build_model_card  # numpy: only when there is work

        def read(path: str) -> bytes | str:
            return self._read_project_file(self.root / path, MAX_MODEL_BYTES)

        return build_model_card(spec, read, predictions, params, associations=proxies)

    def _performance_input(self, spec: ProjectSpec, result: SessionResult) -> tuple[PredictionsSpec, str, bytes] | str:
        """The predictions the model card evaluates: declared in auditor.yaml, else the last logged with
        auditor.log_predictions (as fairness chooses), or why there are none."""
        options = spec.predictions
        if options is not None:
            path, display = self.root / options.path, options.path
        else:
            logged = [e for e in result.events if e.get("kind") == "predictions"]
            if not logged:
                return "no predictions declared in auditor.yaml or logged with auditor.log_predictions"
            try:
                options = PredictionsSpec.model_validate(
                    {k: v for k, v in logged[-1].items() if k in PredictionsSpec.model_fields}
                )
            except ValidationError as exc:
                return f"logged predictions are invalid: {exc.errors()[0]['msg']}"
            path = Path(str(logged[-1]["path"]))
            display = self._display(path)
        data = self._read_predictions(path)
        return (options, display, data) if isinstance(data, bytes) else f"{display}: {data}"

    def _read_project_file(self, path: Path, limit: int) -> bytes | str:
        """A declared file's bytes, or why not: as the predictions file is read."""
        if not os.path.lexists(path):
            return "the file does not exist"
        if not self._mounted(str(path)) or not self._links_stay_mounted(path):
            return OUTSIDE_MOUNTS
        try:
            return read_regular_file(os.path.realpath(path), limit)
        except FileNotFoundError:
            return "the file does not exist"
        except UntrustedFileError as exc:
            return exc.why
        except OSError as exc:
            return f"cannot read the file: {exc.strerror or exc}"
        except ValueError:
            return "unusable path"

    def _hash_after(self, spec: ProjectSpec, logged: list[DatasetSpec], walks: dict[str, Walk]) -> dict[str, Hash]:
        items: list[tuple[str, str]] = [(d.id, d.path) for d in (*spec.datasets, *logged) if d.path]
        items += [(m.id, m.path) for m in spec.models]
        escaped = {p for _, p in items if not self._links_stay_mounted(self.root / p)}
        hashes = hash_paths(
            [self.root / p for _, p in items if p not in escaped],
            display_root=self.root,
            cache=self.cache,
            now=self.clock(),
            cancel=self.cancel,
            walks=walks,
        )
        found = iter(hashes)
        out: dict[str, Hash] = {}
        for item_id, path in items:
            out[item_id] = (
                Missing(reason=f"cannot hash {path}: it is or holds a link outside the container's mounts")
                if path in escaped
                else next(found)
            )
        return out

    def _links_stay_mounted(self, path: Path) -> bool:
        """In a container run, whether hashing `path` reads only files the command could see: a link
        the command left in an output folder must not make the host hash a host file."""
        if self.allowed_roots is None:
            return True
        if not os.path.lexists(path):
            return True  # absent: hash_paths says so
        if not self._mounted(str(path)):
            return False
        pending = [os.path.realpath(path)] if path.is_dir() else []
        while pending:
            try:
                with os.scandir(pending.pop()) as entries:
                    for entry in entries:
                        if entry.is_symlink():
                            if not self._mounted(entry.path):
                                return False
                        elif entry.is_dir(follow_symlinks=False):
                            pending.append(entry.path)
            except OSError:
                continue  # hash_paths names what cannot be read
        return True

    def _observation(
        self, spec: ProjectSpec, logged: list[DatasetSpec], result: SessionResult, walks: dict[str, Walk]
    ) -> Observation:
        session_root = str(self.session.root) if self.session else ""
        tree_after = snapshot(self.root, skip=(self.store_root,), walks=walks)
        tree_writes = changed(self.tree, tree_after)
        reads = [p for proc in result.processes for p in proc.reads]
        writes = [p for proc in result.processes for p in proc.writes] + tree_writes
        prefixes = {p for proc in result.processes for p in proc.prefixes}
        return classify(
            reads,
            writes,
            declared=declared(spec, self.root, logged),
            project_root=self.root,
            environment_prefixes=prefixes,
            ignore=[session_root, str(self.store_root)],
            method="audit-hook" if result.processes else "tree-diff",
            processes=len(result.processes),
            existed_before=_real_files(self.tree, self.root),
            regular=tree_after,
        )

    def _fairness(self, spec: ProjectSpec, result: SessionResult) -> tuple[Fairness | Missing, list[str]]:
        if self.cancel is not None and self.cancel.is_set():
            return Missing(reason="not computed: auditor was interrupted again while collecting evidence"), []
        options = spec.predictions
        if options is not None:
            path, display = self.root / options.path, options.path
        else:
            logged = [e for e in result.events if e.get("kind") == "predictions"]
            if not logged:
                return Missing(
                    reason="no predictions declared in auditor.yaml or logged with auditor.log_predictions"
                ), []
            event = logged[-1]
            try:
                options = PredictionsSpec.model_validate(
                    {k: v for k, v in event.items() if k in PredictionsSpec.model_fields}
                )
            except ValidationError as exc:
                return Missing(reason=f"logged predictions are invalid: {exc.errors()[0]['msg']}"), []
            path = Path(str(event["path"]))
            display = self._display(path)
        data = self._read_predictions(path)
        if isinstance(data, str):
            reason = f"{display}: {data}"
            return Missing(reason=reason), [reason]
        from auditor.capture.fairness import fairness_of_bytes  # numpy: only when there is work

        fairness = fairness_of_bytes(data, display, options)
        del data
        return fairness, [fairness.reason] if isinstance(fairness, Missing) else []

    def _mounted(self, path: str) -> bool:
        """Whether the command could have named `path` as the host sees it: always in a local run;
        in a container run only inside the project or an output folder, outside the hidden store."""
        if self.allowed_roots is None:
            return True
        return within(path, self.allowed_roots, hidden=(self.store_root,))

    def _read_predictions(self, path: Path) -> bytes | str:
        """The predictions file's bytes, or why it is not read. A FIFO or device would hang the
        reader, a link written by a containerised command could point at any host file."""
        try:
            if self.session is not None and self.session.artifact(str(path)):
                return self.session.read_artifact(path, MAX_PREDICTIONS_BYTES)
            if not os.path.lexists(path):
                return "the predictions file was not written"
            if not self._mounted(str(path)):
                return OUTSIDE_MOUNTS
            return read_regular_file(os.path.realpath(path), MAX_PREDICTIONS_BYTES)
        except FileNotFoundError:
            return "the predictions file was not written"
        except UntrustedFileError as exc:
            return exc.why
        except OSError as exc:
            return f"cannot read predictions file: {exc.strerror or exc}"
        except ValueError:  # a NUL in a logged path
            return "unusable predictions path"

    def _display(self, path: Path) -> str:
        if self.session is not None and self.session.artifact(str(path)):
            return f"(logged DataFrame) {path.name}"
        try:
            return str(Path(os.path.realpath(path)).relative_to(os.path.realpath(self.root)))
        except ValueError:
            return str(path)


def _real_files(tree: Snapshot, root: Path) -> frozenset[str]:
    """The real paths of a snapshot's files, as RealPaths would resolve them then: the snapshot lists
    no link and enters no link to a folder, so each is the root's real path joined with the rest."""
    top = str(root)
    real = os.path.realpath(top)
    if real == top:
        return frozenset(tree)
    cut, real = len(top.rstrip("/")), real.rstrip("/")
    return frozenset(real + path[cut:] for path in tree)


def _proxies(lineage: Lineage) -> dict[str, str]:
    """Columns of the declared tabular data strongly associated with a sensitive column (the data
    profiles' measures): a model input among them is flagged as a likely proxy in the model card."""
    from auditor.record.profile import likely_proxies

    return {
        column: "; ".join(
            f"association {value:.2f} with {sensitive} in the declared data" for sensitive, value in found.items()
        )
        for column, found in likely_proxies(lineage).items()
    }


def _check_predictions_header(root: Path, options: PredictionsSpec) -> None:
    """A predictions file left by an earlier run must still have the declared columns."""
    path = root / options.path
    if not path.is_file():
        return  # the run will write it
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SpecError(options.path, None, None, f"cannot read the predictions file: {exc}") from exc
    wanted = [options.label_column, options.prediction_column, *options.sensitive_columns]
    wanted += [options.score_column] if options.score_column else []
    for column in wanted:
        if column not in header:
            raise SpecError(
                options.path,
                1,
                None,
                f"column {column!r} declared in auditor.yaml is not in the file (columns: {', '.join(header)})",
            )


def _logged_datasets(
    events: list[dict[str, Any]], root: Path, notes: list[str], mounted: Callable[[str], bool] = lambda _: True
) -> list[DatasetSpec]:
    out: list[DatasetSpec] = []
    for index, event in enumerate(e for e in events if e.get("kind") == "dataset"):
        raw = str(event.get("path", ""))
        if not raw or "\0" in raw:
            notes.append(f"auditor.log_dataset: unusable path {raw!r}; ignored")
            continue
        if not mounted(raw):  # the host would hash a host file the command named: an oracle on it
            notes.append(f"auditor.log_dataset({raw!r}): {OUTSIDE_MOUNTS}")
            continue
        try:
            relative = str(Path(os.path.realpath(raw)).relative_to(os.path.realpath(root)))
        except ValueError:
            relative = raw
        try:
            out.append(
                DatasetSpec(
                    id=f"logged-{index + 1}",
                    role=event.get("role", "input"),
                    path=relative,
                    datasheet=Datasheet.model_validate(event.get("datasheet") or {}),
                )
            )
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"])
            notes.append(f"auditor.log_dataset({relative!r}): {where}: {error['msg']}; ignored")
    return out


def _params(events: list[dict[str, Any]]) -> dict[str, ParamValue]:
    params: dict[str, ParamValue] = {}
    for event in events:
        if event.get("kind") == "params" and isinstance(event.get("params"), dict):
            for key, value in event["params"].items():
                plain = isinstance(value, str | int | bool) or value is None
                finite = isinstance(value, float) and math.isfinite(value)
                params[str(key)] = value if plain or finite else str(value)
    return dict(sorted(params.items()))


def _tags(events: list[dict[str, Any]]) -> dict[str, str]:
    """auditor.set_tag(s): the last value per name (tag names and values are text)."""
    tags: dict[str, str] = {}
    for event in events:
        if event.get("kind") == "tags" and isinstance(event.get("tags"), dict):
            tags.update((str(key), str(value)) for key, value in event["tags"].items())
    return dict(sorted(tags.items()))


def _metrics(events: list[dict[str, Any]]) -> tuple[Metric, ...]:
    from datetime import UTC

    out = []
    for event in events:
        if event.get("kind") != "metric":
            continue
        try:
            value = float(event["value"])
            if not math.isfinite(value):  # JSON has no NaN or infinity: keep the record valid JSON
                continue
            out.append(
                Metric(
                    name=str(event["name"]),
                    value=value,
                    step=event.get("step"),
                    logged_at=datetime.fromtimestamp(float(event["time"]), UTC),
                )
            )
        except (KeyError, TypeError, ValueError, OverflowError, ValidationError):
            continue
    return tuple(out)

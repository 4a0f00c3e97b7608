"""The command-line conventions (README "Command-line conventions"), on the real command tree and
through the installed CLI: an AUDITOR_* variable for every option, shown in --help; choices listed,
never a Python type name; --format where data is printed; `-` for stdin and stdout; several formats
from one check; --exit-zero; --quiet and --verbose; progress; NO_COLOR; shell completion."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from junitparser import JUnitXml

from auditor.check.vulns.sources import SOURCES
from auditor.cli.app import app, env_name
from auditor.cli.commands import load_all
from auditor.record.io import dump_record
from auditor.render.formats import CHECK_FORMATS
from auditor.sign.keys import KEY_ALGORITHMS
from auditor.store.runs import RunStore
from auditor.vocabulary import SEVERITY_ORDER
from tests.check.test_check_cli import PACK
from tests.conftest import AUDITOR, CliRunner, base_env
from tests.factories import make_record
from tests.render.test_formats import sarif_validator

# Actions, not settings: a variable that prints the version or installs completion would hijack every command.
NO_VARIABLE = {"--help", "--version", "--install-completion", "--show-completion"}
# Their values differ from command to command: one variable for all would break some command.
COMMAND_SPECIFIC = {"--format", "--output", "--project", "--name", "--head"}
TYPE_NAMES = re.compile(r"<(str|int|float|bool|path|text|list\[[^>]*\]|tuple[^>]*|dict[^>]*|\w+ range|uuid)>", re.I)
PRINTS_DATA = ("runs", "show", "check", "notes", "diff", "lineage", "duplicates", "report")
FIXED_SETS = {  # (command, option): the values --help must list
    ("check", "--fail-on"): tuple(reversed(SEVERITY_ORDER)),
    ("check", "--vuln-source"): tuple(SOURCES),
    ("runs", "--status"): ("succeeded", "failed", "interrupted", "unfinished"),
    ("runs", "--verdict"): ("compliant", "violations", "could_not_evaluate", "unchecked"),
    ("run", "--network"): ("none", "bridge"),
    ("reproduce", "--network"): ("none", "bridge"),
    ("keys generate", "--algorithm"): tuple(KEY_ALGORITHMS),
    ("approve", "--decision"): ("approve", "reject"),
    ("portfolio", "--dossiers"): ("latest", "all", "none"),
    ("duplicates", "--by"): ("project", "owner"),
    ("runs", "--format"): ("text", "json"),
    ("show", "--format"): ("text", "json"),
    ("notes", "--format"): ("text", "json"),
    ("diff", "--format"): ("text", "json", "html"),
    ("lineage", "--format"): ("text", "json", "dot", "svg", "html"),
    ("duplicates", "--format"): ("text", "json"),
}
SGR = re.compile(rb"\x1b\[[0-9;]*m")  # a colour or style: NO_COLOR forbids them


def _tree() -> Any:
    load_all()
    return typer.main.get_command(app)


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    yield " ".join(path), command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _commands(sub, (*path, name))


def _options() -> Iterator[tuple[str, Any, Any, str]]:
    """(command path, click option, its context, its long name) for every visible option."""
    for path, command in _commands(_tree()):
        ctx = type(command).context_class(command, info_name=path or "auditor")
        for param in command.params:
            if param.param_type_name != "option" or param.hidden:
                continue
            long = next((o for o in param.opts if o.startswith("--")), param.opts[0])
            yield path, param, ctx, long


def test_the_walk_sees_every_command() -> None:
    paths = {path for path, _ in _commands(_tree())}
    assert {"check", "runs", "show", "rules validate", "keys generate", "log verify", "index status"} <= paths
    assert len(list(_options())) > 100


def test_every_option_has_its_variable_shown_in_help() -> None:
    for path, param, ctx, long in _options():
        if long in NO_VARIABLE:
            assert not param.envvar, f"{path} {long}"
            continue
        where = f"auditor {path} {long}"
        assert isinstance(param.envvar, str) and param.envvar.startswith("AUDITOR_"), where
        record = param.get_help_record(ctx)
        assert record is not None and f"env var: {param.envvar}" in record[1], where
        words = path.split()
        specific = {env_name(long, " ".join(words[:n])) for n in range(1, len(words) + 1)}  # the command or its group
        if long in COMMAND_SPECIFIC:
            assert param.envvar in specific, where
        else:
            assert param.envvar in {env_name(long), *specific} or param.envvar == "AUDITOR_AUTHOR", where


def test_a_shared_variable_takes_one_kind_of_value() -> None:
    kinds: dict[str, set[tuple[object, ...]]] = defaultdict(set)
    for _, param, _, _ in _options():
        if param.envvar:
            choices = getattr(param.callback, "choices", None)
            kinds[param.envvar].add((param.bare_type(), param.multiple, param.is_flag, choices))
    mixed = {name: kind for name, kind in kinds.items() if len(kind) > 1}
    assert not mixed, f"one variable for options that take different values: {mixed}"


def test_help_shows_values_not_python_types() -> None:
    for path, param, ctx, long in _options():
        record = param.get_help_record(ctx)
        assert record is not None
        assert not TYPE_NAMES.search(record[0]), f"auditor {path}: {record[0]}"
        if not param.is_flag and long not in NO_VARIABLE:
            assert param.metavar, f"auditor {path} {long}: no metavar, --help would show the type"


def test_fixed_sets_list_their_choices() -> None:
    found = {(path, long): (param, ctx) for path, param, ctx, long in _options()}
    for (path, long), values in FIXED_SETS.items():
        param, ctx = found[(path, long)]
        assert getattr(param.callback, "choices", None) == values, f"{path} {long}"
        assert param.get_help_record(ctx)[0].endswith("<" + "|".join(values) + ">"), f"{path} {long}"
    check_format, ctx = found[("check", "--format")]
    help_text = " ".join(check_format.get_help_record(ctx)[1].split())
    assert all(name in help_text for name in CHECK_FORMATS)


def test_every_command_that_prints_data_takes_format() -> None:
    found = {(path, long) for path, _, _, long in _options()}
    assert {(command, "--format") for command in PRINTS_DATA} <= found


def test_real_help_of_every_command(cli: CliRunner, tmp_path: Path) -> None:
    """What a user sees: every variable named, no type names, on every command's --help."""
    expected: dict[str, set[str]] = defaultdict(set)
    for path, param, _, _ in _options():
        if param.envvar:
            expected[path].add(param.envvar)
    for path, variables in expected.items():
        done = cli(*path.split(), "--help", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert not TYPE_NAMES.search(done.stdout), f"auditor {path} --help"
        assert variables <= set(re.findall(r"AUDITOR_[A-Z0-9_]+", done.stdout)), f"auditor {path} --help"


# --- real runs ---------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A store with one succeeded run that logged no seed (a low failure under mini.yaml)."""
    (tmp_path / "mini.yaml").write_text(PACK)
    store = RunStore.create(tmp_path / "store")
    record = make_record()
    store.commit(store.begin(record.identity.run_id), record)
    (tmp_path / "record.json").write_bytes(dump_record(record))
    return tmp_path


def _env(project: Path, **extra: str) -> dict[str, str]:
    return base_env(AUDITOR_CACHE_DIR=str(project / "cache"), **extra)


def test_variables_change_behaviour(cli: CliRunner, project: Path) -> None:
    args = ("check", "latest", "--policy", "mini.yaml")
    env = _env(project, AUDITOR_STORE=str(project / "store"))
    assert cli(*args, cwd=project, env=env).returncode == 1  # low fails by default
    done = cli(*args, cwd=project, env={**env, "AUDITOR_FAIL_ON": "medium"})
    assert done.returncode == 0 and "VERDICT: COMPLIANT" in done.stdout
    done = cli(*args, cwd=project, env={**env, "AUDITOR_CHECK_FORMAT": "json"})
    assert json.loads(done.stdout)["with_waivers"]["verdict"] == "violations"
    runs = cli("runs", cwd=project, env={**env, "AUDITOR_RUNS_FORMAT": "json"})
    assert json.loads(runs.stdout.splitlines()[0])["run_id"] == make_record().identity.run_id
    # a check variable does not leak into another command
    assert cli("runs", cwd=project, env={**env, "AUDITOR_CHECK_FORMAT": "sarif"}).stdout.startswith("RUN")
    bad = cli(*args, cwd=project, env={**env, "AUDITOR_FAIL_ON": "severe"})
    assert bad.returncode == 2
    assert bad.stderr == (
        "auditor: error: --fail-on (from $AUDITOR_FAIL_ON): 'severe' is not one of critical, high, medium, low\n"
    )


def test_output_dash_is_stdout(cli: CliRunner, project: Path) -> None:
    env = _env(project)
    done = cli(
        "check",
        "latest",
        "--store",
        "store",
        "--policy",
        "mini.yaml",
        "--format",
        "json",
        "-o",
        "-",
        cwd=project,
        env=env,
    )
    assert done.returncode == 1 and json.loads(done.stdout)["run"]["run_id"] == make_record().identity.run_id
    lineage = cli("lineage", "--store", "store", "--format", "json", "-o", "-", cwd=project, env=env)
    assert lineage.returncode == 0 and json.loads(lineage.stdout) is not None
    assert not (project / "-").exists()


def test_dash_reads_stdin(cli: CliRunner, project: Path) -> None:
    env = _env(project)
    record = (project / "record.json").read_text()
    done = cli("check", "-", "--policy", "mini.yaml", "--format", "json", cwd=project, env=env, input=record)
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["run"]["run_id"] == make_record().identity.run_id
    waivers = (
        "waivers:\n  - id: no-seed\n    rule: T-SEED-1\n    justification: nothing random here\n"
        "    owner: a@example.invalid\n    approver: b@example.invalid\n    expires: 2099-12-31\n"
    )
    done = cli(
        "check",
        "latest",
        "--store",
        "store",
        "--policy",
        "mini.yaml",
        "--waivers",
        "-",
        cwd=project,
        env=env,
        input=waivers,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    valid = cli("rules", "validate", "-", cwd=project, env=env, input=PACK)
    assert valid.returncode == 0 and "valid pack mini" in valid.stdout
    broken = cli("rules", "validate", "-", cwd=project, env=env, input="pack: [")
    assert broken.returncode == 2 and len(broken.stderr.splitlines()) == 1
    both = cli("check", "-", "--waivers", "-", cwd=project, env=env, input=record)
    assert both.returncode == 2 and "only one of them can read stdin" in both.stderr


def test_several_formats_from_one_check(cli: CliRunner, project: Path) -> None:
    env = _env(project)
    base = ("check", "latest", "--store", "store", "--policy", "mini.yaml")
    done = cli(
        *base, "--format", "sarif=out.sarif", "--format", "junit=out.xml", "--format", "json", cwd=project, env=env
    )
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["with_waivers"]["verdict"] == "violations"
    sarif = json.loads((project / "out.sarif").read_text())
    sarif_validator().validate(sarif)
    junit = JUnitXml.fromfile(str(project / "out.xml"))
    assert junit.tests >= 1 and junit.failures >= 1
    two = cli(*base, "--format", "text", "--format", "json", "--format", "sarif=again.sarif", cwd=project, env=env)
    assert two.returncode == 2 and two.stderr.startswith("auditor: error: --format: at most one format")
    assert not (project / "again.sarif").exists()
    files = cli(*base, "--format", "sarif=a.sarif", "--format", "junit=a.xml", cwd=project, env=env)
    assert files.stdout == "" and "auditor: verdict: violations (exit 1)" in files.stderr
    unknown = cli(*base, "--format", "yaml=x.yaml", cwd=project, env=env)
    assert unknown.returncode == 2 and "'yaml' is not one of" in unknown.stderr


def test_exit_zero_soft_fails_violations_only(cli: CliRunner, project: Path) -> None:
    env = _env(project)
    done = cli("check", "latest", "--store", "store", "--policy", "mini.yaml", "--exit-zero", cwd=project, env=env)
    assert done.returncode == 0 and "VERDICT: VIOLATIONS" in done.stdout
    assert "violations found; exiting 0 because of --exit-zero" in done.stderr
    (project / "vuln.yaml").write_text(
        PACK.split("  - id: T-RUN-1")[0]
        + "  - id: T-VULN-1\n    title: v\n    severity: high\n    rationale: r\n    remediation: m\n"
        "    references: [x]\n    check: {kind: no_known_vulnerabilities}\n"
    )
    args = ("check", "latest", "--store", "store", "--policy", "vuln.yaml", "--advisory-db", str(project / "nope"))
    cannot = cli(*args, cwd=project, env={**env, "AUDITOR_EXIT_ZERO": "1"})
    assert cannot.returncode == 3, cannot.stdout
    assert "COULD NOT EVALUATE" in cannot.stdout
    assert "auditor: error: compliance could not be established" in cannot.stderr
    usage = cli("check", "latest", "--store", "store", "--exit-zero", "--policy", "no-such-pack", cwd=project, env=env)
    assert usage.returncode == 2


def test_quiet_keeps_only_errors_and_data(cli: CliRunner, project: Path) -> None:
    env = _env(project)
    loud = cli("run", "--", "sh", "-c", "echo data", cwd=project, env=env)
    assert loud.returncode == 0 and "auditor: log head" in loud.stderr and "auditor: run " in loud.stderr
    quiet = cli("-q", "run", "--", "sh", "-c", "echo data", cwd=project, env=env)
    assert quiet.returncode == 0 and quiet.stdout == "data\n" and quiet.stderr == ""
    listed = cli("runs", cwd=project, env={**env, "AUDITOR_QUIET": "1"})
    assert listed.returncode == 0 and listed.stdout.startswith("RUN") and listed.stderr == ""
    failed = cli("-q", "show", "nope", cwd=project, env=env)
    assert failed.returncode == 2 and failed.stderr.startswith("auditor: error:")


def test_verbose_progress_as_plain_lines_and_quiet_none(cli: CliRunner, tmp_path: Path) -> None:
    from tests.ingest.test_openlineage import produce

    events = tmp_path / "events.jsonl"
    produce(events, "append")
    env = base_env()
    done = cli("-v", "ingest", "openlineage", str(events), "--store", "a", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    ingested = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("ingested")]
    assert len(ingested) >= 2
    assert f"auditor: reading openlineage runs from {events}...\n" in done.stderr
    assert re.search(r"auditor: reading openlineage runs from .*: done in [0-9.]+ s", done.stderr)
    for number, run_id in enumerate(ingested, 1):
        assert f"auditor: wrote {run_id} ({number}/{len(ingested)}, source run " in done.stderr
    quiet = cli("-q", "ingest", "openlineage", str(events), "--store", "b", cwd=tmp_path, env=env)
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout.count("ingested") == len(ingested)
    plain = cli("ingest", "openlineage", str(events), "--store", "c", cwd=tmp_path, env=env)
    assert "auditor: wrote" not in plain.stderr  # not a terminal, not --verbose: no progress


def _on_terminal(args: list[str], env: dict[str, str]) -> tuple[int, bytes]:
    """Run with stdin, stdout and stderr on a pseudo-terminal; return the exit code and all it wrote."""
    import pty

    main, child = pty.openpty()
    process = subprocess.Popen(args, stdin=child, stdout=child, stderr=child, env=env, close_fds=True)
    os.close(child)
    out = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        out += chunk
    code = process.wait(timeout=120)
    os.close(main)
    return code, out


HASH_PROGRESS = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from auditor import progress
from auditor.capture.hashing import hash_paths
progress.configure(quiet=False, verbose=True)
hash_paths([Path(sys.argv[1])], display_root=Path(sys.argv[1]).parent, cache=None, now=datetime.now(UTC), progress=True)
"""


def test_no_color_on_a_terminal(tmp_path: Path) -> None:
    """The hashing bar is the one coloured thing auditor draws: in colour on a terminal, plain with NO_COLOR."""
    big = tmp_path / "big.bin"
    with big.open("wb") as handle:  # sparse: 768 MiB to hash (well over a tenth of a second), no disk used
        handle.truncate(768 << 20)
    script = tmp_path / "hash.py"
    script.write_text(HASH_PROGRESS)
    env = {**base_env(), "TERM": "xterm-256color", "COLUMNS": "100"}
    env.pop("NO_COLOR", None)
    code, coloured = _on_terminal([sys.executable, str(script), str(big)], env)
    assert code == 0 and b"hashing" in coloured
    assert SGR.search(coloured), "the bar should be in colour on a terminal without NO_COLOR"
    code, plain = _on_terminal([sys.executable, str(script), str(big)], {**env, "NO_COLOR": "1"})
    assert code == 0 and b"hashing" in plain
    assert not SGR.search(plain), plain[:400]


def test_no_colour_in_auditors_own_progress_on_a_terminal(tmp_path: Path) -> None:
    env = {**base_env(), "TERM": "xterm-256color", "NO_COLOR": "1"}
    code, out = _on_terminal([str(AUDITOR), "-v", "run", "--", "sh", "-c", "echo data"], env)
    assert code == 0 and b"data" in out and b"auditor: log head" in out
    assert not SGR.search(out)


def test_bash_completion(tmp_path: Path) -> None:
    env = {**base_env(), "PATH": f"{AUDITOR.parent}:{os.environ['PATH']}"}
    script = subprocess.run(
        [str(AUDITOR), "--show-completion", "bash"], capture_output=True, text=True, env=env, check=True, timeout=60
    ).stdout
    assert "complete " in script and "_AUDITOR_COMPLETE" in script

    def complete(*words: str) -> list[str]:
        line = " ".join(f"'{w}'" for w in words)
        body = f"{script}\nCOMP_WORDS=({line}); COMP_CWORD={len(words) - 1}\n_auditor_completion auditor\n"
        body += 'printf "%s\\n" "${COMPREPLY[@]}"\n'
        done = subprocess.run(["bash", "-c", body], capture_output=True, text=True, env=env, timeout=60, check=True)
        return done.stdout.split()

    assert "check" in complete("auditor", "ch")
    assert complete("auditor", "check", "x", "--fail-on", "h") == ["high"]
    assert "--exit-zero" in complete("auditor", "check", "x", "--exit")
    assert set(complete("auditor", "runs", "--format", "")) == {"text", "json"}


def test_a_bundle_piped_from_stdout_to_stdin(cli: CliRunner, project: Path) -> None:
    """`auditor bundle -o - | auditor verify -`: the archive on stdout, what is said on stderr."""
    env = _env(project)
    keys = cli(
        "keys",
        "generate",
        "--name",
        "T",
        "--no-passphrase",
        "--algorithm",
        "ecdsa-p256",
        "-o",
        "k",
        cwd=project,
        env=env,
    )
    assert keys.returncode == 0, keys.stderr
    bundle = subprocess.run(
        [str(AUDITOR), "bundle", "latest", "--store", "store", "--sign", "k.key", "-o", "-"],
        cwd=project,
        env=env,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert bundle.returncode == 0, bundle.stderr
    assert bundle.stdout[257:262] == b"ustar"  # a tar archive, nothing else on stdout
    assert b"auditor: wrote stdout (" in bundle.stderr and not (project / "-").exists()
    verified = subprocess.run(
        [str(AUDITOR), "verify", "-", "--key", "k.crt"],
        cwd=project,
        env=env,
        input=bundle.stdout,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    assert b"verified: <stdin> (sha256 " in verified.stdout
    tampered = bundle.stdout[: len(bundle.stdout) // 2]  # cut short in transit
    refused = subprocess.run(
        [str(AUDITOR), "verify", "-", "--key", "k.crt"],
        cwd=project,
        env=env,
        input=tampered,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert refused.returncode == 4 and refused.stderr.startswith(b"auditor: error: <stdin>")

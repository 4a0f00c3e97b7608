"""The dossier of a hostile run record, end to end: `auditor report` through the installed CLI, then read the
way a reviewer reads it (headless Chromium, poppler-utils), while a loopback HTTP server counts every request.

One record carries markup, script, CSS and SVG payloads, `javascript:` and `file:` URLs, URL credentials,
control characters, a bidi override and lone surrogates in every text field a dossier shows (plus a log path
that climbs out of the run folder to /etc/passwd). It is reported once per module (HTML, PDF/A with the record
and findings attached, `--fail-on low`, a local advisory folder so no network is needed).

Chromium, as found on the Debian 12 machine this was written on (`chromium` 156.0.8078.108):
- plain `--headless` is already the new headless mode (the old one is gone from the browser binary), so
  `--headless=new` is not needed; `--no-sandbox` is (tests run as root, in a container).
- `--dump-dom` and `--screenshot` each take a whole process, so the dossier is loaded twice.
- `/usr/bin/chromium` is a shell wrapper that `exec`s the browser; its `/etc/chromium.d/dev-shm` snippet prints
  `[: ...: unexpected operator` to stderr on this machine, and without D-Bus the browser logs many
  `ERROR:dbus/...` lines. Neither is about the page, so neither is asserted on.
- With `--enable-logging=stderr --v=0`, every console message of a page goes to stderr as
      [PID:TID:MMDD/HHMMSS.micros:INFO:CONSOLE:LINE] "MESSAGE", source: URL (LINE)
  at INFO whatever its level: `console.error` and a Content-Security-Policy violation ("Loading the image
  '...' violates the following Content Security Policy directive ...") print exactly like `console.log`. The
  level cannot be told from the log, so the test asserts that no CONSOLE line is printed at all: the dossier
  has no script, so any console message would be the browser reporting a blocked load or an error. A control
  page proves that such lines appear, that scripts run (so a title that stayed put means something), and that
  a loopback load reaches the counting server.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from auditor.capture.fairness import compute_fairness
from auditor.capture.lineage import lineage_graph
from auditor.record import RunRecord
from auditor.record.fairness import Fairness
from auditor.record.io import dump_record
from auditor.record.lineage import (
    ContentHash,
    Dataset,
    Datasheet,
    FileAccess,
    FileHash,
    Lineage,
    ModelArtifact,
    Observation,
    ProjectInfo,
    Step,
)
from auditor.record.models import (
    Container,
    CpuInfo,
    Distribution,
    GitSource,
    Gpu,
    Gpus,
    LogFile,
    Metric,
    OsInfo,
    Packages,
    PythonInfo,
)
from auditor.render.dossier.html import SECTIONS
from auditor.store.migrate import migrate
from auditor.store.runs import RunStore
from tests.conftest import AUDITOR, FIXTURES, base_env
from tests.factories import START, make_record

pytestmark = pytest.mark.slow

RUN_ID = "01JGZ0000000000000000000HX"
PASSWD_LINE = "root:x:0:0"
SURROGATE = "@@LONE-SURROGATE@@"  # becomes JSON-escaped lone surrogates in the stored bytes (UTF-8 cannot hold one)
LONE_SURROGATES = b"\\ud800 \\udcff"
CONTROLS = "nul\x00bell\x07esc\x1b[31m\u202eflipped\x7f\x85"
VULNERABLE = ("acme-hostile", "1.0")
PLAIN_LINK = "https://example.invalid/data.csv"
CREDENTIAL_URI = "https://user:pass@example.invalid/x"
TIMEOUT = 60
# Tagged fields that the dossier shows whole; the other tagged fields are in the record but not in the dossier,
# or only cut short (diagram labels), or quoted (argv through shlex, parameter values through repr).
HIDDEN = {"env-prefix", "installer", "lineage-project", "package-location", "package-url", "spec-path"}
# Machine paths: the dossier shows where the project sits in its repository, not these folders whole.
HIDDEN |= {"cwd", "git-root"}
QUOTED = {"argv-1", "argv-3", "param-value"}
FORBIDDEN_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "form", "link"}
FORBIDDEN_TAGS |= {"img", "image", "picture", "source", "video", "audio", "track", "input", "button", "textarea"}
FORBIDDEN_TAGS |= {"use", "foreignobject", "animate", "set", "portal", "noscript", "template", "canvas", "math"}
URL_ATTRIBUTES = {"action", "formaction", "data", "poster", "background", "srcset", "ping", "srcdoc", "codebase"}
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
RAW_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
CONSOLE_LINE = re.compile(r":CONSOLE[:(]")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--enable-logging=stderr",
    "--v=0",
)


# --- the loopback server ---------------------------------------------------------------------------------


@dataclass
class Server:
    port: int = 0
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self) -> list[str]:
        with self.lock:
            return list(self.requests)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """Records `METHOD PATH` of every request, whatever the method, and answers it with an empty 200."""
    state = Server()

    class Handler(BaseHTTPRequestHandler):
        def count(self) -> None:
            with state.lock:
                state.requests.append(f"{self.command} {self.path}")
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_HEAD = do_PUT = do_OPTIONS = count  # http.server's naming

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


# --- the hostile record ----------------------------------------------------------------------------------


def payloads(port: int, tag: str) -> list[str]:
    """Every payload; each loopback path names `tag` (the field it was put in), so a leak says where it came from."""
    base = f"http://127.0.0.1:{port}"
    return [
        f"<script>document.title='pwned';fetch('{base}/script/{tag}')</script>",
        '" onmouseover="alert(1)',
        f"<img src={base}/img/{tag} onerror=alert(1)>",
        "<img src=file:///etc/passwd>",
        "<link rel=attachment href=file:///etc/passwd>",
        '<a href="javascript:alert(1)">x</a>',
        f"</style><style>body{{background:url({base}/css/{tag})}}</style>",
        f"url({base}/cssurl/{tag})",
        f'<svg><image href="{base}/svg/{tag}"/></svg>',
    ]


class Hostile:
    """Field values: the script and attribute-breakout payloads in every field, and the others in turn.

    Every payload in every field makes the PDF take half a minute (WeasyPrint's automatic table layout is
    quadratic in a cell's text), so each field gets one of the other seven, in rotation: every one of them
    lands in several fields of every kind.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.turn = 0

    def __call__(self, tag: str, controls: bool = True) -> str:
        every = payloads(self.port, tag)
        self.turn += 1
        extra = every[2 + self.turn % (len(every) - 2)]
        text = f"{tag} {every[0]} {every[1]} {extra}"
        return text + (f" {CONTROLS} {SURROGATE}" if controls else "")


def fairness_section(h: Hostile, folder: Path) -> Fairness:
    """Computed by auditor.capture.fairness from a predictions file whose column names and group values are hostile."""
    attribute, label, prediction = h("fair-attr", False), h("fair-label", False), h("fair-pred", False)
    group_a, group_b = h("group-a", False), h("group-b", False)
    rows = [[attribute, label, prediction]]
    for group, tp, fp in ((group_a, 8, 2), (group_b, 4, 1)):
        rows += [[group, "1", str(int(i < tp))] for i in range(10)]
        rows += [[group, "0", str(int(i < fp))] for i in range(10)]
    rows += [[h("group-small", False), "0", "1"]] * 2  # below the minimum group size: shown, flagged
    path = folder / "predictions.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return compute_fairness(
        path,
        display_path=h("fair-path"),
        label_column=label,
        prediction_column=prediction,
        score_column=None,
        sensitive_columns=[attribute],
        favourable_outcome="1",
        min_group_size=5,
        reference_groups={attribute: group_a},
        resamples=20,
    )


def hostile_lineage(h: Hostile) -> Lineage:
    sheet = Datasheet(
        description=h("sheet-description"),
        source=h("sheet-source"),
        owner=h("sheet-owner"),
        licence=h("sheet-licence"),
        collection_period=h("sheet-period"),
        collection_process=h("sheet-process"),
        preprocessing=h("sheet-preprocessing"),
        personal_data=True,
        legal_basis=h("sheet-legal-basis"),
        limitations=h("sheet-limitations"),
    )
    hashed = ContentHash(
        kind="tree",
        sha256="b" * 64,
        size=10,
        files=(FileHash(path=h("hash-file"), sha256="c" * 64, size=10),),
        hashed_at=START,
    )
    datasets = (
        Dataset(id=h("ds-id"), role="input", path=h("ds-path"), datasheet=sheet, before=hashed),
        Dataset(id="ds-javascript", role="input", uri="javascript:alert(1)", datasheet=Datasheet()),
        Dataset(id="ds-credentials", role="input", uri=CREDENTIAL_URI, datasheet=Datasheet()),
        Dataset(id="ds-plain", role="output", uri=PLAIN_LINK, datasheet=Datasheet(description="plain")),
    )
    models = (ModelArtifact(id=h("model-id"), path=h("model-path"), after=hashed),)
    steps = (
        Step(name=h("step-name"), command=h("step-command"), inputs=(datasets[0].id,), outputs=(models[0].id,)),
        Step(name="export", command="python export.py", inputs=(models[0].id,), outputs=("ds-plain",)),
    )
    undeclared = FileAccess(path=h("undeclared"), read=True, written=False, dataset=None, verdicts=("undeclared_read",))
    observed = Observation(
        method="audit-hook",
        processes=1,
        files=(undeclared,),
        declared_unread=(h("declared-unread"),),
        environment_reads={h("env-prefix"): 3},
    )
    return Lineage(
        spec_path=h("spec-path"),
        spec_sha256="d" * 64,
        project=ProjectInfo(
            name=h("lineage-project"),
            owner=h("project-owner"),
            intended_use=h("intended-use"),
            out_of_scope_uses=(h("out-of-scope"),),
        ),
        datasets=datasets,
        steps=steps,
        models=models,
        observed=observed,
        graph=lineage_graph(datasets, steps, models, RUN_ID, observed).node_link_data(),
        notes=(h("lineage-note"),),
    )


def hostile_record(port: int, folder: Path) -> RunRecord:
    h = Hostile(port)
    record = make_record(
        RUN_ID,
        # No lone surrogate in the project name: it becomes the PDF's title, and that crashes the PDF writer
        # (test_a_lone_surrogate_in_the_project_name_does_not_crash_the_pdf); everything else carries one.
        project=h("project", controls=False) + " " + CONTROLS,
        name=h("run-name"),
        argv=("python", h("argv-1"), "--lr", h("argv-3")),
        cwd=h("cwd"),
        user=h("user"),
        host=h("host"),
        error=h("error"),
    )
    env = record.environment
    assert isinstance(env.os, OsInfo) and isinstance(env.python, PythonInfo)
    assert isinstance(record.source, GitSource)
    vulnerable = Distribution(
        name=VULNERABLE[0], version=VULNERABLE[1], installer="pip", requested=True, install_kind="index", location="/v"
    )
    odd = Distribution(
        name=h("package-name"),
        version=h("package-version"),
        installer=h("installer"),
        requested=True,
        install_kind="url",
        url=h("package-url"),
        location=h("package-location"),
    )
    gpu = Gpu(
        index=0,
        name=h("gpu-name"),
        uuid=h("gpu-uuid"),
        memory_total_bytes=2**34,
        pci_bus_id=None,
        compute_capability=h("gpu-cc"),
    )
    updates = {
        "environment": env.model_copy(
            update={
                "packages": Packages(distributions=(vulnerable, odd)),
                "os": env.os.model_copy(update={"pretty_name": h("os-name"), "kernel": h("kernel"), "libc": h("libc")}),
                "python": env.python.model_copy(update={"executable": h("python-executable"), "version": h("py-ver")}),
            }
        ),
        "hardware": record.hardware.model_copy(
            update={
                "cpu": CpuInfo(model=h("cpu-model"), architecture=h("cpu-arch"), physical_cores=2, logical_cores=4),
                "gpus": Gpus(
                    source="nvml",
                    driver_version=h("gpu-driver"),
                    cuda_driver_version=h("cuda"),
                    nvml_version=None,
                    devices=(gpu,),
                ),
            }
        ),
        "source": record.source.model_copy(
            update={"root": h("git-root"), "branch": h("git-branch"), "remote_url": h("git-remote"), "dirty": True}
        ),
        "outputs": record.outputs.model_copy(
            update={
                "stdout": LogFile(path="stdout.log", bytes=10, sha256="e" * 64, redactions=0),
                # A log "beside the record" that is not: the dossier must not copy a local file into itself.
                "stderr": LogFile(path="../" * 12 + "etc/passwd", bytes=10, sha256="f" * 64, redactions=0),
            }
        ),
        "container": Container(image_ref=h("image-ref"), engine=h("engine")),
        "lineage": hostile_lineage(h),
        "fairness": fairness_section(h, folder),
        "params": {h("param-key"): h("param-value"), "seed": 42},
        "metrics": (Metric(name=h("metric-name"), value=0.5, step=1, logged_at=START),),
    }
    return record.model_copy(update=updates)


def tags_in(raw: bytes) -> set[str]:
    """The fields (tags) that carry payloads in a stored record."""
    return set(re.findall(r"/script/([a-z0-9-]+)", raw.decode()))


ADVISORY = """\
id: TEST-2099-1
summary: "{summary}"
details: a hostile advisory, for the dossier's vulnerability section
affected:
- package:
    name: {name}
    ecosystem: PyPI
  ranges:
  - type: ECOSYSTEM
    events:
    - introduced: "0"
    - fixed: "2.0"
modified: "2099-01-01T00:00:00Z"
"""


# --- the report, once per module -------------------------------------------------------------------------


def write_store(root: Path, raw: bytes, run_id: str) -> Path:
    """STORE/runs/RUN_ID/record.json, as auditor keeps it (the raw bytes, in the store's log as a
    migration adopts them)."""
    run_folder = root / "store" / "runs" / run_id
    run_folder.mkdir(parents=True)
    (run_folder / "record.json").write_bytes(raw)
    assert migrate(RunStore.open(root / "store"), adopt_unindexed=True).migrated == [run_id]
    return run_folder


def auditor_report(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`auditor report latest` on root/store: the installed console script, AUDITOR_ADVISORY_DB unset."""
    if not AUDITOR.exists():
        pytest.fail(f"{AUDITOR} is missing: install auditor with `./dev setup`")
    return subprocess.run(
        [str(AUDITOR), "report", "latest", "--store", str(root / "store"), "--fail-on", "low", *args],
        cwd=root,
        env=base_env(AUDITOR_CACHE_DIR=str(root / "cache")),  # base_env keeps no AUDITOR_* variable
        capture_output=True,
        text=True,
        errors="replace",
        timeout=180,
        check=False,
    )


@dataclass(frozen=True)
class Report:
    port: int
    record_bytes: bytes
    out: Path
    html: str
    requests: tuple[str, ...]  # what the server had seen once the report was written

    @property
    def html_path(self) -> Path:
        return self.out / "dossier.html"

    @property
    def pdf_path(self) -> Path:
        return self.out / "dossier.pdf"


@pytest.fixture(scope="module")
def report(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Report:
    root = tmp_path_factory.mktemp("hostile-report")
    raw = dump_record(hostile_record(server.port, root)).replace(SURROGATE.encode(), LONE_SURROGATES)
    assert LONE_SURROGATES in raw
    run_folder = write_store(root, raw, RUN_ID)
    log = [*payloads(server.port, "stdout-log"), CONTROLS]
    (run_folder / "stdout.log").write_text("\n".join(log) + "\n", encoding="utf-8", errors="surrogatepass")
    advisory = root / "advisories" / "vulns" / VULNERABLE[0]
    advisory.mkdir(parents=True)
    summary = payloads(server.port, "advisory")[0].replace('"', "'")
    (advisory / "TEST-2099-1.yaml").write_text(ADVISORY.format(summary=summary, name=VULNERABLE[0]))
    out = root / "out"
    done = auditor_report(
        root,
        *("-o", str(out), "--format", "html,pdf", "--pdfa"),
        *("--vuln-source", "local", "--advisory-db", str(root / "advisories")),
    )
    assert done.returncode == 0, f"auditor report exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return Report(
        port=server.port,
        record_bytes=raw,
        out=out,
        html=(out / "dossier.html").read_text(encoding="utf-8"),  # strict: the file must be valid UTF-8
        requests=tuple(server.seen()),
    )


# --- reading HTML with the standard library --------------------------------------------------------------


class Page(HTMLParser):
    """Start tags with their attributes in document order, the text outside <style>, and the first <title>."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.starts: list[tuple[str, dict[str, str | None]]] = []
        self.attributes: list[tuple[str, str, str | None]] = []  # (tag, name, value), duplicates included
        self.texts: list[str] = []
        self.title: str | None = None
        self._in: list[str] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts.append((tag, dict(attrs)))
        self.attributes += [(tag, name, value) for name, value in attrs]
        if tag in ("style", "title", "script"):
            self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        if "title" in self._in and self.title is None:
            self.title = data
        if "style" not in self._in:
            self.texts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.texts)

    def tags(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.starts if tag == name]


@pytest.fixture(scope="module")
def page(report: Report) -> Page:
    return Page(report.html)


def csp_directives(content: str) -> dict[str, list[str]]:
    directives = {}
    for part in content.split(";"):
        name, *sources = part.split()
        directives[name.lower()] = sources
    return directives


# --- the HTML file -----------------------------------------------------------------------------------------


def test_report_made_no_request(report: Report) -> None:
    assert report.requests == ()


def test_html_has_no_active_or_loading_element(page: Page) -> None:
    found = {tag for tag, _ in page.starts} & FORBIDDEN_TAGS
    assert not found, f"elements that run, load or submit: {sorted(found)}"
    assert len(page.tags("style")) == 1  # our own stylesheet, and no second one opened by a value
    equivs = [(m.get("http-equiv") or "").lower() for m in page.tags("meta") if m.get("http-equiv")]
    assert equivs == ["content-security-policy"]  # no refresh, no second policy


def test_html_has_no_event_handler_or_url_attribute(page: Page) -> None:
    handlers = [(tag, name) for tag, name, _ in page.attributes if name.startswith("on")]
    assert handlers == []
    assert [(t, n) for t, n, _ in page.attributes if n in URL_ATTRIBUTES] == []
    assert [(t, v) for t, n, v in page.attributes if n == "src" and not (v or "").startswith("data:")] == []
    styles = [v or "" for _, n, v in page.attributes if n == "style"]
    assert [s for s in styles if re.search(r"url\(|@import|expression\(", s, flags=re.IGNORECASE)] == []
    scripted = [(t, n, v) for t, n, v in page.attributes if re.search(r"(java|vb)script:", v or "", re.IGNORECASE)]
    assert scripted == []


def test_every_link_is_a_fragment_or_the_one_allowed_https_url(page: Page) -> None:
    ids = {attrs["id"] for _, attrs in page.starts if attrs.get("id")}
    external = []
    for tag, name, value in page.attributes:
        if name not in ("href", "xlink:href"):
            continue
        assert value, f"empty {name} on <{tag}>"
        if value.startswith("#"):
            assert value[1:] in ids, f"{value} points at no element"
        else:
            external.append((tag, value))
    assert external == [("a", PLAIN_LINK)]  # not the javascript: URI, not the one with credentials
    rel = next(a.get("rel") or "" for a in page.tags("a") if a.get("href") == PLAIN_LINK).split()
    assert {"noopener", "noreferrer"} <= set(rel)
    assert "javascript:alert(1)" in page.text  # both are still shown, as text
    assert CREDENTIAL_URI in page.text


def test_csp_meta_comes_first_and_forbids_every_remote_load(page: Page) -> None:
    metas = [m for m in page.tags("meta") if (m.get("http-equiv") or "").lower() == "content-security-policy"]
    assert len(metas) == 1
    # A meta policy applies only to what follows it: nothing but <html>, <head> and <meta> may come before.
    position = next(i for i, (tag, attrs) in enumerate(page.starts) if attrs is metas[0])
    assert {tag for tag, _ in page.starts[:position]} <= {"html", "head", "meta"}
    directives = csp_directives(metas[0].get("content") or "")
    assert directives["default-src"] == ["'none'"]
    assert directives["img-src"] == ["data:"]
    assert directives["font-src"] == ["data:"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["form-action"] == ["'none'"]
    assert directives.get("script-src", ["'none'"]) == ["'none'"]
    allowed = {"'none'", "'unsafe-inline'", "data:"}
    assert {(name, s) for name, sources in directives.items() for s in sources if s not in allowed} == set()
    assert directives["style-src"] == ["'unsafe-inline'"]  # inline only: no remote stylesheet


def test_hostile_values_are_shown_as_escaped_text(report: Report, page: Page) -> None:
    base = f"http://127.0.0.1:{report.port}"
    assert "&lt;script&gt;document.title=&#39;pwned&#39;" in report.html
    assert "&lt;/style&gt;&lt;style&gt;body{background:url(" in report.html
    assert "<script" not in report.html.lower()
    assert "<img" not in report.html.lower()
    shown = tags_in(report.record_bytes) - HIDDEN
    assert len(shown) > 50  # the record really reaches the dossier's fields
    whole = "<script>document.title='pwned';fetch('{base}/script/{tag}')</script>"
    missing = {t for t in shown - QUOTED if whole.format(base=base, tag=t) not in page.text}
    assert missing == set(), f"fields not shown whole, as text: {sorted(missing)}"
    assert {t for t in QUOTED if f"{base}/script/{t}" not in page.text} == set()
    for kind in range(2, len(payloads(report.port, ""))):  # each payload of the rotation, whole, in some field
        assert any(payloads(report.port, t)[kind] in page.text for t in shown), payloads(report.port, "TAG")[kind]
    for payload in payloads(report.port, "stdout-log"):
        assert payload in page.text  # the log excerpt, every payload verbatim


def test_control_characters_and_lone_surrogates_become_replacement_characters(report: Report) -> None:
    assert RAW_CONTROLS.findall(report.html) == []
    assert "nul\ufffdbell\ufffdesc\ufffd[31m" in report.html


def test_no_bidi_override_reaches_the_page(report: Report) -> None:
    """U+202E in a value reverses the text after it, auditor's own words included (Chromium shows a finding's
    "... is not declared" as "deralced ton si ..."). Expected: replaced like the other control characters."""
    found = sorted({f"U+{ord(c):04X}" for c in BIDI_CONTROLS.findall(report.html)})
    assert found == []


def test_html_does_not_copy_a_local_file_named_by_the_record(report: Report) -> None:
    assert PASSWD_LINE not in report.html


# --- Chromium ----------------------------------------------------------------------------------------------


def chromium(workdir: Path, *args: str) -> tuple[str, str]:
    """Run headless Chromium with a fresh profile; (stdout, stderr). Fails with stderr on error or timeout."""
    exe = shutil.which("chromium")
    if exe is None:
        pytest.fail("chromium is missing: `./dev setup` installs it (Debian package chromium)")
    profile = tempfile.mkdtemp(prefix="profile-", dir=workdir)
    argv = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir), "LANG": "C.UTF-8"}
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the browser and its helpers: the session this call started
        out, err = process.communicate()
        pytest.fail(f"chromium {' '.join(args)} timed out after {TIMEOUT} s:\n{err.decode(errors='replace')[-6000:]}")
    stderr = err.decode(errors="replace")
    if process.returncode != 0:
        pytest.fail(f"chromium {' '.join(args)} exited {process.returncode}:\n{stderr[-6000:]}")
    return out.decode(errors="replace"), stderr


def console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if CONSOLE_LINE.search(line)]


CONTROL_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; \
img-src http://127.0.0.1:{port}/control-canary">
<title>control</title>
<script>document.title = "control-ran"; console.error("control-console-error");</script>
</head><body><p>control</p>
<img src="http://127.0.0.1:{port}/control-canary" alt=""><img src="http://127.0.0.1:{port}/control-blocked" alt="">
</body></html>
"""


@dataclass(frozen=True)
class Browser:
    control_dom: str
    control_stderr: str
    control_requests: tuple[str, ...]
    dom: str
    dom_stderr: str
    screenshot: Path
    screenshot_stderr: str
    requests: tuple[str, ...]  # made while Chromium had the dossier open


@pytest.fixture(scope="module")
def browser(report: Report, server: Server, tmp_path_factory: pytest.TempPathFactory) -> Browser:
    workdir = tmp_path_factory.mktemp("chromium")
    control = workdir / "control.html"
    control.write_text(CONTROL_PAGE.format(port=server.port), encoding="utf-8")
    before = len(server.seen())
    control_dom, control_stderr = chromium(workdir, "--dump-dom", control.as_uri())
    middle = len(server.seen())
    url = report.html_path.as_uri()
    dom, dom_stderr = chromium(workdir, "--dump-dom", url)
    shot = workdir / "shot.png"
    _, shot_stderr = chromium(workdir, f"--screenshot={shot}", "--window-size=1280,2400", url)
    seen = server.seen()
    return Browser(
        control_dom=control_dom,
        control_stderr=control_stderr,
        control_requests=tuple(seen[before:middle]),
        dom=dom,
        dom_stderr=dom_stderr,
        screenshot=shot,
        screenshot_stderr=shot_stderr,
        requests=tuple(seen[middle:]),
    )


def test_the_control_page_proves_each_browser_check(browser: Browser) -> None:
    """Scripts run, loopback loads arrive, and console errors and CSP violations are printed as CONSOLE lines."""
    assert Page(browser.control_dom).title == "control-ran"
    assert browser.control_requests == ("GET /control-canary",)
    lines = console_lines(browser.control_stderr)
    assert any('"control-console-error"' in line for line in lines), browser.control_stderr
    assert any("control-blocked" in line and "Content Security Policy" in line for line in lines), lines


def test_chromium_loads_nothing_from_the_network(browser: Browser) -> None:
    assert browser.requests == ()


def test_chromium_prints_no_console_message_about_the_dossier(browser: Browser) -> None:
    assert console_lines(browser.dom_stderr) == []
    assert console_lines(browser.screenshot_stderr) == []


def test_dom_keeps_the_title_and_shows_the_payloads_as_text(browser: Browser, report: Report, page: Page) -> None:
    dom = Page(browser.dom)
    assert page.title is not None and page.title.startswith("Audit dossier: project <script>document.title=")
    assert dom.title == page.title  # not 'pwned': no script ran
    assert {tag for tag, _ in dom.starts} & FORBIDDEN_TAGS == set()
    assert [(t, n) for t, n, _ in dom.attributes if n.startswith("on")] == []
    base = f"http://127.0.0.1:{report.port}"
    for tag in ("project", "step-command", "group-a", "sheet-limitations", "metric-name"):
        assert f"<script>document.title='pwned';fetch('{base}/script/{tag}')</script>" in dom.text
    assert "&lt;script&gt;document.title=" in browser.dom  # serialised back as escaped text


def test_screenshot_is_a_full_size_page_with_content(browser: Browser) -> None:
    """Pixels counted with Pillow (installed with WeasyPrint): a near-blank page is also over 14 KB as a PNG."""
    data = browser.screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    assert struct.unpack(">II", data[16:24]) == (1280, 2400)
    assert len(data) > 20_000
    with Image.open(browser.screenshot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 24) or []
    background = max(count for count, _ in colours)
    assert len(colours) > 200  # text, tables, the verdict box: a near-blank page has under 100
    assert 1 - background / (1280 * 2400) > 0.02


# --- the PDF -----------------------------------------------------------------------------------------------


def poppler(tool: str, *args: str | Path) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is missing: `./dev setup` installs poppler-utils")
    done = subprocess.run([path, *map(str, args)], capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert done.returncode == 0, f"{tool} exited {done.returncode}: {done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def pdf_text(report: Report) -> str:
    return poppler("pdftotext", "-enc", "UTF-8", report.pdf_path, "-")


def test_pdf_embeds_exactly_the_record_and_the_findings(report: Report, tmp_path: Path) -> None:
    lines = poppler("pdfdetach", "-list", report.pdf_path).splitlines()
    assert lines[0] == "2 embedded files"
    assert sorted(line.split(": ", 1)[1] for line in lines[1:]) == ["findings.json", "record.json"]
    poppler("pdfdetach", "-saveall", "-o", tmp_path, report.pdf_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.json", "record.json"]
    assert (tmp_path / "record.json").read_bytes() == report.record_bytes
    findings = json.loads((tmp_path / "findings.json").read_text(encoding="utf-8"))
    assert findings["kind"] == "auditor.check-report"
    assert findings["run"]["record_sha256"] in report.html


def test_pdf_has_every_section_and_no_local_file(pdf_text: str, report: Report) -> None:
    lines = {line.strip() for line in pdf_text.splitlines()}
    titles = [title for _, title in SECTIONS]
    for name in ("Verdict and what to do", "Data lineage", "Datasheets", "Fairness", "Policy findings"):
        assert any(title.endswith(name) for title in titles)
    assert [title for title in titles if title not in lines] == []  # each as a heading line, not only in contents
    assert "<script>document.title='pwned'" in pdf_text
    assert PASSWD_LINE not in pdf_text
    assert report.requests == ()


def test_pdf_info_pages_title_and_only_the_allowed_link(report: Report, page: Page) -> None:
    info = {
        key: value.strip()
        for key, _, value in (line.partition(":") for line in poppler("pdfinfo", report.pdf_path).splitlines())
    }
    assert int(info["Pages"]) > 5
    assert info["JavaScript"] == "no"
    assert info["Form"] == "none"
    assert info["Title"].startswith("Audit dossier: project <script>document.title='pwned'")
    assert RAW_CONTROLS.findall(info["Title"]) == [], f"the PDF's title keeps control characters: {info['Title']!r}"
    urls = poppler("pdfinfo", "-url", report.pdf_path).splitlines()[1:]
    assert [line.split()[-1] for line in urls] == [PLAIN_LINK]


# --- a lone surrogate where the PDF writer meets it raw ----------------------------------------------------


def test_a_lone_surrogate_in_the_project_name_does_not_crash_the_pdf(tmp_path: Path) -> None:
    raw = dump_record(make_record(project=f"demo {SURROGATE}")).replace(SURROGATE.encode(), LONE_SURROGATES)
    write_store(tmp_path, raw, "01JGZ0000000000000000000AA")
    done = auditor_report(
        tmp_path,
        *("-o", str(tmp_path / "out"), "--format", "html,pdf"),
        *("--vuln-source", "local", "--advisory-db", str(FIXTURES / "advisories" / "small")),
    )
    assert done.returncode == 0, f"auditor report exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    title = Page((tmp_path / "out" / "dossier.html").read_text(encoding="utf-8")).title
    assert title is not None and title.startswith("Audit dossier: demo ")
    info = poppler("pdfinfo", "-enc", "UTF-8", tmp_path / "out" / "dossier.pdf")
    assert "Title:           Audit dossier: demo " in info

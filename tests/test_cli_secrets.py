"""Every common shape of secret, through a real `auditor run`, `check` and `report`: none may reach
any file auditor writes (the store, the logs, the record, every check format, the dossier's HTML,
its PDF text and the files attached to it), while the evidence beside them survives.

The secrets are fake but shaped as real ones are: a flag's value, a URL's user info and password,
pre-signed URL signatures, a token in a requirement URL and in an installed distribution's
direct_url.json, a logged param, and the values of secret-named variables that look like a
number, hex or a path."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, CliRunner, base_env, git

PY = sys.executable
SMALL_DB = FIXTURES / "advisories" / "small"

# Each one distinctive, 8 characters or more (shorter ones are masked only where their place shows them).
ARGV = {
    "flag=": "flagpw-Vn4k2Qx8",  # --password=X
    "flag": "apikey-Hc73Lp0s",  # --api-key X
    "mysql": "mysqlpw-7Tq3Zx",  # mysql -pX
    "extra": "licence-Bw81Mf",  # AUDITOR_SECRET_FLAGS
    "query": "cbtoken-Pz5Rt9Kd",  # ?token=X
    "hydra": "hydrapw-Lm26Sa",  # db.password=X
}
URLS = {
    "redis": "redispw-Qw93Jd",  # redis://:pw@host
    "postgres": "pgpass-Xy48Hn2",  # postgresql://user:pw@host
    "amz-signature": "6c1f9e2a7b3d5f80aa91c4e7d2b6f3a81c0e5d9f7a2b4c6e8d0f1a3b5c7e9d1f",
    "amz-credential": "ASIAFAKECREDENTIAL7",
    "amz-token": "FwoGZXIvYXdzEFAKESESSIONTOKEN",
    "goog-signature": "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
    "sas": "sasSIGfake0123456789abcdefXYZ",
}
REQUIREMENTS = {
    "user": "reqtoken-Gk72Ws9d",  # git+https://TOKEN@github.com/...
    "oauth": "reqoauth-Nd83Kq1z",  # https://TOKEN:x-oauth-basic@...
    "query": "reqquery-Tv51Bm8c",  # https://host/pkg.whl?token=X
    "index": "idxpass-Ry62Fp0w",  # --extra-index-url https://user:pw@...
    "direct": "directurl-Jc94Vh3e",  # an installed distribution's direct_url.json
}
ENV = {
    "DB_PASSWORD": "73910482",  # a number
    "API_KEY": "a3f09c1d7e5b2a8c4f6d0e9b1a7c3e5f",  # hex
    "SERVICE_CREDENTIALS": "/run/secrets/svc-credential-7f3a9",  # a path
    "HF_TOKEN": "hftokenfake-Ux82Lm4q",
}
PARAM = "parampw-Ka39Ds7n"  # log_params({"db_password": ...})
SHORT_PIN = "4821"  # MYSQL_PWD: too short to search for as bare text, masked after `MYSQL_PWD=`
SECRETS = [*ARGV.values(), *URLS.values(), *REQUIREMENTS.values(), *ENV.values(), PARAM]

SCRIPT = textwrap.dedent("""\
    import os, sys
    import auditor
    auditor.log_params({
        "db_password": "@PARAM@", "max_tokens": 512, "token_count": 2048,
        "tokenizer": "bert-base-uncased", "key_metric": "auc", "primary_key": "applicant_id",
        "signature": "(features) -> (score)", "epochs": 10,
    })
    auditor.log_metric("token_count", 2048.0)
    auditor.log_metric("auc", 0.91)
    print("argv:", " ".join(sys.argv[1:]))
    for name in ("DB_PASSWORD", "API_KEY", "SERVICE_CREDENTIALS", "HF_TOKEN", "MYSQL_PWD"):
        print(name + "=" + os.environ[name])
        print("value of", name, "is", os.environ[name], file=sys.stderr)
    print("connecting to redis://:@REDIS@@cache.example.invalid:6379/0")
""")


def _project(root: Path) -> None:
    git(root, "remote", "add", "origin", f"https://{REQUIREMENTS['user']}@git.example.invalid/acme/credit.git")
    # Written into the script, not passed in the environment (where every value not kept is masked anyway).
    (root / "train.py").write_text(SCRIPT.replace("@PARAM@", PARAM).replace("@REDIS@", URLS["redis"]))
    s3 = (
        "https://credit-data.s3.eu-west-1.amazonaws.com/train.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Credential={URLS['amz-credential']}%2F20240501%2Feu-west-1%2Fs3%2Faws4_request"
        f"&X-Amz-Date=20240501T120000Z&X-Amz-Expires=3600&X-Amz-Security-Token={URLS['amz-token']}"
        f"&X-Amz-SignedHeaders=host&X-Amz-Signature={URLS['amz-signature']}"
    )
    gcs = (
        "https://storage.googleapis.com/credit-data/eval.csv?X-Goog-Algorithm=GOOG4-RSA-SHA256"
        f"&X-Goog-Credential=reader%40acme.iam.gserviceaccount.com&X-Goog-Signature={URLS['goog-signature']}"
    )
    sas = f"https://acme.blob.core.windows.net/credit/holdout.csv?sv=2022-11-02&se=2024-06-01&sp=r&sig={URLS['sas']}"
    (root / "auditor.yaml").write_text(
        textwrap.dedent(f"""\
        version: 1
        project: {{name: credit}}
        environment: {{requirements: [requirements.txt]}}
        datasets:
          - {{id: train, role: input, uri: "{s3}"}}
          - {{id: eval, role: input, uri: "{gcs}"}}
          - {{id: holdout, role: input, uri: "{sas}"}}
          - {{id: features, role: input, uri: "postgresql://analyst:{URLS["postgres"]}@db.example.invalid/credit"}}
          - {{id: cache, role: intermediate, uri: "redis://:{URLS["redis"]}@cache.example.invalid:6379/0"}}
        steps:
          - name: export
            command: "mysql -uanalyst -p{ARGV["mysql"]} credit -e 'select 1'"
            outputs: [cache]
        """)
    )
    (root / "requirements.txt").write_text(
        f"--extra-index-url https://ci:{REQUIREMENTS['index']}@pypi.example.invalid/simple\n"
        "numpy==1.26.4\n"
        f"git+https://{REQUIREMENTS['user']}@github.com/acme/features.git@v1.2#egg=features\n"
        f"scorer @ https://{REQUIREMENTS['oauth']}:x-oauth-basic@github.com/acme/scorer/archive/v2.zip\n"
        f"https://files.example.invalid/calib-1.0-py3-none-any.whl?token={REQUIREMENTS['query']}\n"
    )
    dist = root / "vendor" / "calib-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: calib\nVersion: 1.0\n")
    (dist / "INSTALLER").write_text("pip\n")
    direct = {"url": f"https://{REQUIREMENTS['direct']}@github.com/acme/calib.git", "vcs_info": {"vcs": "git"}}
    (dist / "direct_url.json").write_text(json.dumps(direct))


def _every_file(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_no_secret_shape_reaches_any_output(cli: CliRunner, git_repo: Path, tmp_path: Path) -> None:
    _project(git_repo)
    env = base_env(
        **ENV,
        MYSQL_PWD=SHORT_PIN,
        PYTHONPATH=str(git_repo / "vendor"),
        AUDITOR_SECRET_FLAGS="--licence-code",
    )
    argv = [
        PY, "train.py", f"--password={ARGV['flag=']}", "--api-key", ARGV["flag"], "--licence-code", ARGV["extra"],
        "--epochs", "10", "--max-tokens", "512", f"db.password={ARGV['hydra']}",
        "--notify", f"https://hooks.example.invalid/done?run=credit&token={ARGV['query']}",
        "--export-with", "mysql", "-uanalyst", f"-p{ARGV['mysql']}",
    ]  # fmt: skip
    done = cli("run", "--", *argv, cwd=git_repo, env=env)
    assert done.returncode == 0, done.stderr
    assert ARGV["flag"] in done.stdout  # the live terminal is the user's own
    store = git_repo / ".auditor"
    (run_dir,) = (store / "runs").iterdir()

    out = tmp_path / "out"
    out.mkdir()
    common = ("latest", "--store", str(store), "--vuln-source", "local", "--advisory-db", str(SMALL_DB))
    said: dict[str, str] = {}
    for fmt in ("json", "sarif", "junit", "github"):
        checked = cli("check", *common, "--format", fmt, "-o", str(out / f"check.{fmt}"), cwd=git_repo, env=env)
        assert checked.returncode in (0, 1), checked.stderr
        said[f"check {fmt}"] = checked.stdout + checked.stderr
    reported = cli(
        "report", *common, "--format", "html,pdf", "--pdfa", "-o", str(out), cwd=git_repo, env=env, timeout=300
    )
    assert reported.returncode in (0, 1), reported.stderr
    said["report"] = reported.stdout + reported.stderr
    for args in (("show", "latest"), ("runs",)):
        shown = cli(*args, "--store", str(store), cwd=git_repo, env=env)
        assert shown.returncode == 0, shown.stderr
        said[" ".join(args)] = shown.stdout + shown.stderr
    pdf = out / "dossier.pdf"
    said["pdf text"] = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    detached = tmp_path / "detached"
    detached.mkdir()
    subprocess.run(["pdfdetach", "-saveall", "-o", str(detached), str(pdf)], check=True)
    assert sorted(p.name for p in detached.iterdir()) == ["findings.json", "record.json"]

    written = {**_every_file(store), **_every_file(out), **_every_file(detached)}
    written.update({name: text.encode() for name, text in said.items()})
    assert len(written) >= 15
    leaks = {s: [Path(n).name for n, content in written.items() if s.encode() in content] for s in SECRETS}
    if any(leaks.values()):
        pytest.fail("\n".join(f"{s} leaked into {', '.join(names)}" for s, names in leaks.items() if names))
    stdout_log = (run_dir / "stdout.log").read_text()
    assert f"MYSQL_PWD={SHORT_PIN}" not in stdout_log and "MYSQL_PWD=[REDACTED" in stdout_log

    record = json.loads((run_dir / "record.json").read_text())
    argv_kept = record["identity"]["argv"]
    assert argv_kept[3:6] == ["--api-key", "[REDACTED:secret-flag]", "--licence-code"]
    assert argv_kept[7:11] == ["--epochs", "10", "--max-tokens", "512"]
    assert "https://hooks.example.invalid/done?run=credit&token=[REDACTED:url-secret]" in argv_kept
    params = record["params"]
    assert params["db_password"] == "[REDACTED:secret-name]"
    for name, value in [("max_tokens", 512), ("token_count", 2048), ("tokenizer", "bert-base-uncased"),
                        ("key_metric", "auc"), ("primary_key", "applicant_id"), ("epochs", 10)]:  # fmt: skip
        assert params[name] == value, name
    assert {m["name"] for m in record["metrics"]} == {"token_count", "auc"}
    uris = {d["id"]: d["uri"] for d in record["lineage"]["datasets"]}
    assert "X-Amz-Date=20240501T120000Z&X-Amz-Expires=3600" in uris["train"]  # what is not secret stays
    assert uris["holdout"].startswith(
        "https://acme.blob.core.windows.net/credit/holdout.csv?sv=2022-11-02&se=2024-06-01"
    )
    assert uris["features"] == "postgresql://analyst@db.example.invalid/credit"
    assert uris["cache"] == "redis://cache.example.invalid:6379/0"
    pins = {p["name"]: p for f in record["environment"]["declared"]["files"] for p in f["pins"]}
    assert pins["numpy"]["version"] == "1.26.4"
    assert pins["features"]["url"] == "git+https://github.com/acme/features.git@v1.2#egg=features"
    calib = [d for d in record["environment"]["packages"]["distributions"] if d["name"] == "calib"]
    assert calib and calib[0]["url"] == "https://github.com/acme/calib.git"
    assert record["source"]["remote_url"] == "https://git.example.invalid/acme/credit.git"
    assert record["source"]["commit"] in said["show latest"] or record["source"]["commit"][:12] in said["show latest"]
    variables = {v["name"]: v for v in record["environment"]["variables"]}
    assert all(variables[name]["disposition"] == "fingerprinted" for name in ENV)

"""Values are evidence as the tool recorded them: params, tags and annotations are kept byte for
byte, through ingest (stores real MLflow wrote) and through capture (`auditor.log_params`), and
masking a secret inside a value replaces only the secret's characters."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.capture.redact import TextRedactor
from auditor.capture.secretnames import SECRET_MASK, looks_secret, masked_mapping
from tests.conftest import CliRunner, base_env, git
from tests.ingest.conftest import tool_python

PRODUCER = Path(__file__).parent / "mlflow_values_producer.py"

# Ordinary ML vocabulary: never a secret, whatever it contains.
PLAIN_NAMES = (
    "signature", "token_count", "max_tokens", "key_metric", "tokenizer", "num_tokens", "keypoints",
    "primary_key", "passage", "authors", "secretary", "author", "keyword", "tokens", "tokenized", "n_tokens",
    "token_ids", "pad_token", "eos_token", "bos_token_id", "max_new_tokens", "total_tokens", "token_type_ids",
    "keyframes", "key_frames", "monkey", "keyboard_layout", "authored_by", "authority", "pass_at_k", "passes",
    "compass", "bypass", "sort_key", "rng_key", "attention_key", "key_dim", "hotkey", "keys", "model_signature",
    "signature_name", "tokenizer_name", "mlflow.log-model.history", "cookiecutter_template", "secretariat_size",
    "secret_name", "token_url", "password_file", "api_version",
)  # fmt: skip
# Names whose values are credentials.
SECRET_NAMES = (
    "db_password", "AWS_SECRET_ACCESS_KEY", "fs.s3a.secret.key", "api_key", "hf_token", "access_token",
    "private_key", "client_secret", "password", "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_PASSWORD",
    "aws_session_token", "GITHUB_TOKEN", "SLACK_BOT_TOKEN", "DATABRICKS_TOKEN", "WANDB_API_KEY",
    "OPENAI_API_KEY", "HUGGING_FACE_HUB_TOKEN", "AZURE_STORAGE_CONNECTION_STRING", "MYSQL_PWD", "db_pass",
    "sas_token", "clientSecret", "apiKey", "secretKey", "bearer_token", "refresh_token", "jwt",
    "ssh_private_key", "spark.hadoop.fs.s3a.secret.key", "AZURE_CLIENT_SECRET", "secret", "token",
)  # fmt: skip


@pytest.mark.parametrize("name", PLAIN_NAMES)
def test_ml_words_are_not_secret_names(name: str) -> None:
    assert not looks_secret(name)


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_credential_names_are_secret(name: str) -> None:
    assert looks_secret(name)


def test_masking_json_replaces_only_the_secret() -> None:
    text = '{"z": 1,  "opt": {"lr": 1e-3, "token": "abc\\"d"}, "rows": [{"password": {"a": 1}}, NaN], "api_key": ""}'
    masked = masked_mapping({"config": text, "layers": "[64, 32]"})
    mask = json.dumps(SECRET_MASK)
    assert masked["config"] == (
        f'{{"z": 1,  "opt": {{"lr": 1e-3, "token": {mask}}}, "rows": [{{"password": {mask}}}, NaN], "api_key": ""}}'
    )
    assert masked["layers"] == "[64, 32]"
    assert masked_mapping({"c": '{"b": 2, "a": 1}'}) == {"c": '{"b": 2, "a": 1}'}
    assert masked_mapping({"c": "{not json, api_key: x"}) == {"c": "{not json, api_key: x"}
    deep = "[" * 300 + '{"password": "pw"}' + "]" * 300
    assert masked_mapping({"c": deep}) == {"c": deep.replace('"pw"', mask)}
    too_deep = "[" * 900 + '{"password": "pw"}' + "]" * 900  # deeper than the scanner goes: masked whole
    assert masked_mapping({"c": too_deep}) in ({"c": SECRET_MASK}, {"c": too_deep.replace('"pw"', mask)})
    unreadable = "[" * 100_000 + "]" * 100_000
    assert masked_mapping({"c": unreadable}) == {"c": SECRET_MASK}


def _record(store: Path) -> dict[str, object]:
    [path] = store.glob("runs/*/record.json")
    return dict(json.loads(path.read_text()))


@pytest.mark.parametrize(("tool", "kind"), [("mlflow3", "sqlite"), ("mlflow2", "files")])
def test_ingested_mlflow_values_are_verbatim(tool: str, kind: str, tmp_path: Path, cli: CliRunner) -> None:
    work = tmp_path / "work"
    work.mkdir()
    uri = f"sqlite:///{work}/mlflow.db" if kind == "sqlite" else f"file://{work}/mlruns"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work), "USER": "analyst"}
    env |= {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "GIT_PYTHON_REFRESH": "quiet"}
    script = shutil.copy(PRODUCER, work / "producer.py")
    subprocess.run(
        [str(tool_python(tool)), str(script), uri, str(work / "client.json")],
        cwd=work, env=env, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    client = json.loads((work / "client.json").read_text())
    source = str(work / "mlflow.db") if kind == "sqlite" else str(work / "mlruns")
    done = cli("ingest", "mlflow", source, "--store", str(tmp_path / "store"), cwd=work)
    assert done.returncode == 0, done.stderr
    record = _record(tmp_path / "store")
    params, tags = record["params"], record["tags"]
    assert isinstance(params, dict) and isinstance(tags, dict)

    expected = dict(client["params"])
    expected["db_password"] = SECRET_MASK
    expected["config"] = client["params"]["config"].replace('"sk-not-a-real-one"', json.dumps(SECRET_MASK))
    assert params == expected
    assert params["hidden_sizes"] == "[64, 32]"
    assert params["signature"] == "v2" and params["max_tokens"] == "512"
    assert tags["data_filter"] == client["tags"]["data_filter"] == '{"region": "EU", "age": [18, 65]}'
    for name, value in client["tags"].items():
        if name in tags:
            assert tags[name] == value, name
    if tool == "mlflow2":
        assert tags["mlflow.log-model.history"] == client["tags"]["mlflow.log-model.history"]
    lineage = record["lineage"]
    assert isinstance(lineage, dict)
    [model] = lineage["models"]
    assert model["annotations"]["signature"] == "yes"


def test_captured_params_are_verbatim(git_repo: Path, cli: CliRunner) -> None:
    config = '{"z": 1,  "a": [64, 32], "password": "pw-not-real-1"}'
    (git_repo / "train.py").write_text(
        "import auditor\n"
        f"auditor.log_params({{'hidden': '[64, 32]', 'layers': [64, 32], 'config': {config!r},"
        " 'signature': 'v1', 'token_count': 7, 'db_password': 'hunter2', 'acts': ('relu', 'tanh'),"
        " 'opt': {'name': 'adam', 'betas': [0.9, 0.999]}})\n"
    )
    git(git_repo, "commit", "-qam", "log params")
    done = cli("run", "--store", str(git_repo / ".auditor"), "--", "python", "train.py", cwd=git_repo, env=base_env())
    assert done.returncode == 0, done.stderr
    params = _record(git_repo / ".auditor")["params"]
    assert params == {
        "hidden": "[64, 32]",
        "layers": "[64, 32]",
        "config": '{"z": 1,  "a": [64, 32], "password": ' + json.dumps(SECRET_MASK) + "}",
        "signature": "v1",
        "token_count": 7,
        "db_password": SECRET_MASK,
        "acts": '["relu", "tanh"]',
        "opt": '{"name": "adam", "betas": [0.9, 0.999]}',
    }


def test_ingested_dvc_params_are_as_dvc_shows_them(tmp_path: Path, cli: CliRunner) -> None:
    repo = tmp_path / "pipeline"
    repo.mkdir()
    (repo / "params.yaml").write_text(
        "train:\n  layers: [64, 32]\n  schedule: [{warmup: 5, lr: 0.1}, {step: 10}]\n  db_password: hunter2\n"
    )
    (repo / "train.py").write_text("open('model.txt', 'w').write('m')\n")
    git(repo, "init", "-q", "-b", "main")
    dvc = str(tool_python("dvc").parent / "dvc")
    stage = ["-n", "train", "-d", "train.py", "-p", "train", "-o", "model.txt", "python train.py"]
    for argv in ([dvc, "init", "-q"], [dvc, "stage", "add", "-q", *stage], [dvc, "repro", "-q"]):
        subprocess.run(argv, cwd=repo, env=base_env(), check=True, capture_output=True, timeout=120)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "pipeline")
    shown = subprocess.run(
        [dvc, "params", "diff", "--all", "--json"], cwd=repo, env=base_env(), check=True, capture_output=True, text=True
    )
    dvc_view = {k: v["new"] for k, v in json.loads(shown.stdout)["params.yaml"].items()}
    assert dvc_view["train.layers"] == "[64, 32]"
    done = cli("ingest", "dvc", str(repo), "--store", str(tmp_path / "store"), cwd=repo)
    assert done.returncode == 0, done.stderr
    params = _record(tmp_path / "store")["params"]
    assert isinstance(params, dict)
    assert params["train.layers"] == dvc_view["train.layers"]
    assert params["train.schedule"] == '[{"warmup": 5, "lr": 0.1}, {"step": 10}]'  # file order, as JSON
    assert params["train.db_password"] == SECRET_MASK


@pytest.mark.parametrize(
    "value",
    [
        "[64, 32]", '{"b": 1,  "a": 2}', "max_tokens=512 key_metric=auc", "signature: {inputs: [a, b]}",
        "token_count: 12", "--tokenizer bert --max-tokens 512", "primary_key: id", "secretary: ana", "1e-3",
    ],
)  # fmt: skip
def test_the_text_redactor_leaves_ml_values_as_they_are(value: str) -> None:
    assert TextRedactor(()).data({"v": value}) == {"v": value}

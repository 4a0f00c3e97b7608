from __future__ import annotations

import json

import pytest

from auditor.capture.redact import RedactionPolicy, TextRedactor, clean_url, mask
from auditor.capture.scrub import secret_flags
from auditor.capture.secretnames import SECRET_MASK, looks_secret, mask_named
from auditor.ingest.masking import mask_named as ingest_mask_named

GITHUB = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
AWS = "AKIA" + "IOSFODNN7EXAMPLE"
HF = "hf_" + "abcdefghijklmnopqrstuvwxyzABCDEFGH"
OPENAI = "sk-proj-" + "abcdefghijklmnopqrstuvwxyz012345"
SLACK = "xoxb-" + "1234567890-abcdefghij"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----"


@pytest.mark.parametrize(
    ("secret", "label"),
    [
        (GITHUB, "github-token"),
        (AWS, "aws-access-key"),
        ("ASIA" + "IOSFODNN7EXAMPLE", "aws-access-key"),
        ("gho_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8", "github-token"),
        ("rk_live_" + "abcdefghijklmnopqrstuvwxyz", "api-key"),
        ("AIza" + "SyA1234567890abcdefghijklmnopqrstuv", "google-api-key"),
        (HF, "huggingface-token"),
        (OPENAI, "api-key"),
        (SLACK, "slack-token"),
        (JWT, "jwt"),
        (PEM, "private-key"),
        ("github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnop", "github-token"),
    ],
)
def test_token_shapes_are_masked(secret: str, label: str) -> None:
    padding = "plain words " * 200  # a long text is first scanned for TOKEN_LITERALS: the same answer
    assert mask(f"{padding} {secret} {padding}") == (f"{padding} [REDACTED:{label}] {padding}", 1)
    text, count = mask(f"before {secret} after")
    assert secret not in text
    assert f"[REDACTED:{label}]" in text
    assert text.startswith("before ") and text.endswith(" after")
    assert count == 1


@pytest.mark.parametrize(
    "harmless",
    [
        "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2",
        "/usr/local/bin:/usr/bin",
        "task-scheduler-for-risk-models",
        "en_US.UTF-8",
        "https://pypi.org/simple",
    ],
)
def test_ordinary_values_are_left_alone(harmless: str) -> None:
    assert mask(harmless) == (harmless, 0)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pa55word@github.com/org/repo.git", "https://github.com/org/repo.git"),
        (f"https://{GITHUB}@github.com/org/repo.git", "https://github.com/org/repo.git"),
        ("https://oauth2:tok@gitlab.example/x.git", "https://gitlab.example/x.git"),
        ("ssh://git@github.com/org/repo.git", "ssh://git@github.com/org/repo.git"),
        ("ssh://git:hunter2@host/repo.git", "ssh://git@host/repo.git"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
        ("git+https://u:p@example.invalid/pkg.git@v1", "git+https://example.invalid/pkg.git@v1"),
        ("file:///home/me/pkg", "file:///home/me/pkg"),
    ],
)
def test_clean_url(url: str, expected: str) -> None:
    assert clean_url(url) == expected


def test_environment_allow_list_and_fingerprints() -> None:
    policy = RedactionPolicy(salt=b"s" * 32)
    env = {
        "PATH": "/usr/bin",
        "LANG": "C.UTF-8",
        "CUDA_VISIBLE_DEVICES": "0",
        "PYTHONHASHSEED": "0",
        "DATABASE_URL": "postgres://app:hunter2hunter2@db/prod",
        "HF_TOKEN": HF,
        "MY_CUSTOM": "x" * 32,
        "PYTHON_API_KEY": "not-kept-even-if-python-prefixed",
        "PYTHONPATH": f"/src:https://me:{GITHUB}@host/x",
    }
    variables = {v.name: v for v in policy.environment(env)}
    assert variables["PATH"].value == "/usr/bin" and variables["PATH"].disposition == "kept"
    assert variables["CUDA_VISIBLE_DEVICES"].value == "0"
    for name in ("DATABASE_URL", "HF_TOKEN", "MY_CUSTOM", "PYTHON_API_KEY"):
        assert variables[name].disposition == "fingerprinted"
        assert variables[name].value is None
        assert variables[name].fingerprint and variables[name].fingerprint.startswith("hmac-sha256:")
    assert variables["PYTHONPATH"].disposition == "masked"
    assert GITHUB not in (variables["PYTHONPATH"].value or "")
    assert [v.name for v in policy.environment(env)] == sorted(env)


def test_fingerprints_are_stable_per_salt_and_differ_across_salts() -> None:
    a, b = RedactionPolicy(salt=b"a" * 32), RedactionPolicy(salt=b"b" * 32)
    assert a.fingerprint("secret") == a.fingerprint("secret")
    assert a.fingerprint("secret") != a.fingerprint("secreT")
    assert a.fingerprint("secret") != b.fingerprint("secret")


def test_allow_list_is_extendable_but_secret_names_stay_hidden() -> None:
    policy = RedactionPolicy(salt=b"x" * 32, extra_allow=("MYAPP_*",))
    assert policy.allowed("MYAPP_MODE")
    assert not policy.allowed("MYAPP_TOKEN")
    assert not policy.allowed("MYAPP")


def test_text_redactor_masks_known_values_and_shapes() -> None:
    redact = TextRedactor(["a-custom-credential-1234"])
    text, count = redact(f"conn a-custom-credential-1234 and {AWS}\n")
    assert text == "conn [REDACTED:env-value] and [REDACTED:aws-access-key]\n"
    assert count == 2


def test_secret_values_skip_short_and_allowed_values() -> None:
    policy = RedactionPolicy(salt=b"x" * 32)
    values = policy.secret_values({"PATH": "/a/very/long/path", "SHORT": "1", "API_TOKEN": "tok-1234567"})
    assert values == ("tok-1234567",)


def test_values_that_are_evidence_elsewhere_are_not_masked() -> None:
    policy = RedactionPolicy(salt=b"x" * 32)
    env = {
        "OLDPWD": "/work/project/src",
        "JAVA_HOME": "/usr/lib/jvm/java-17",
        "SOME_SHA": "a" * 40,
        "BUILD_NUMBER": "123456789",
        "GITHUB_SHA": "b" * 40,
        "GITHUB_REF": "refs/heads/main",
        "OPAQUE": "opaque-credential-9f8e7d6c5b4a",
        "MULTI": "user=alice\npassword=Zq8xVt3LmN0pWe7R\nend",
    }
    values = policy.secret_values(env)
    assert "opaque-credential-9f8e7d6c5b4a" in values and "password=Zq8xVt3LmN0pWe7R" in values
    for kept in ("/work/project/src", "/usr/lib/jvm/java-17", "a" * 40, "123456789", "b" * 40, "refs/heads/main"):
        assert kept not in values
    assert policy.allowed("GITHUB_SHA") and not policy.allowed("GITHUB_TOKEN")


# -- names: one rule for variables, flags, query parameters, params and ingested tags ----------

SECRET_NAMES = [
    "DB_PASSWORD", "PGPASSWORD", "MYSQL_PWD", "API_KEY", "apiKey", "apikey", "OPENAI_API_KEY",
    "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN", "GITHUB_TOKEN", "HF_TOKEN", "token",
    "access_token", "accessToken", "refresh_token", "client_secret", "clientSecret", "fs.s3a.secret.key",
    "X-Api-Key", "Authorization", "auth", "auth_token", "SENTRY_DSN", "AZURE_STORAGE_CONNECTION_STRING",
    "conn_str", "GOOGLE_APPLICATION_CREDENTIALS", "KAGGLE_KEY", "STRIPE_KEY", "key", "private_key",
    "ssh_key", "session_cookie", "passphrase", "REDISCLI_AUTH", "DB_PASS", "pass", "csrf_token",
    "webhook_secret", "encryption_key", "SIGNING_KEY", "WANDB_API_KEY", "x-amz-security-token",
    "AWSAccessKeyId", "api_tokens", "passwd", "CI_JOB_JWT",
]  # fmt: skip
# Ordinary ML words (issue #15): their values are evidence and must stay readable.
ML_NAMES = [
    "max_tokens", "token_count", "tokenizer", "key_metric", "primary_key", "signature", "keyboard", "monkey",
    "passes", "num_tokens", "max_new_tokens", "pad_token", "eos_token_id", "special_tokens",
    "tokens_per_second", "key_dim", "rng_key", "sort_key", "author", "session_id", "is_private",
    "private_dataset", "TOKENIZERS_PARALLELISM", "PWD", "OLDPWD", "forward_pass", "pin_memory",
    "model_signature", "epochs", "learning_rate", "GITHUB_SHA", "authority", "dict_keys",
]  # fmt: skip


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names(name: str) -> None:
    assert looks_secret(name)
    assert mask_named_params({name: "s3cr3t"}) == {name: SECRET_MASK}


@pytest.mark.parametrize("name", ML_NAMES)
def test_ml_words_are_not_secret_names(name: str) -> None:
    assert not looks_secret(name)
    assert mask_named_params({name: "evidence"}) == {name: "evidence"}


def mask_named_params(params: dict[str, object]) -> dict[str, object]:
    data: dict[str, object] = {"params": params}
    ingest_mask_named(data)
    return data["params"]  # type: ignore[return-value]


def test_params_and_metrics_under_secret_names_are_masked_by_the_shared_rule() -> None:
    data = {
        "params": {"db_password": "1234", "max_tokens": 512, "nested": '{"api_key": "abc", "lr": 0.1}'},
        "metrics": [{"name": "auth_score", "value": 1.0}, {"name": "token_count", "value": 9.0}],
        "lineage": {"notes": []},
    }
    mask_named(data)
    assert data["params"] == {
        "db_password": SECRET_MASK,
        "max_tokens": 512,
        "nested": json.dumps({"api_key": SECRET_MASK, "lr": 0.1}),  # only the secret replaced, spacing kept
    }
    assert data["metrics"] == [{"name": "token_count", "value": 9.0}]
    assert data["lineage"] == {"notes": ["metric 'auth_score' has a secret-looking name, so its values were not kept"]}
    assert ingest_mask_named is mask_named  # ingest masks with the very same function


# -- argv -------------------------------------------------------------------------------------


F, N = "[REDACTED:secret-flag]", "[REDACTED:secret-name]"


@pytest.mark.parametrize(
    ("argv", "kept"),
    [
        (["--password=hunter2", "--epochs", "10"], [f"--password={F}", "--epochs", "10"]),
        (["--passwd", "s3cr3t"], ["--passwd", F]),
        (["--token", "t0k3n", "--max-tokens", "512"], ["--token", F, "--max-tokens", "512"]),
        (["--api-key", "k", "--apikey=k2"], ["--api-key", F, f"--apikey={F}"]),
        (["--secret", "x", "--access-key", "y"], ["--secret", F, "--access-key", F]),
        (["--client-secret=z", "--tokenizer", "bert"], [f"--client-secret={F}", "--tokenizer", "bert"]),
        (["-token", "go-style"], ["-token", F]),
        (["--password", "--verbose"], ["--password", "--verbose"]),  # a prompt, then the next flag
        (["--no-auth", "positional"], ["--no-auth", "positional"]),
        (["mysql", "-uroot", "-pS3cret", "prod"], ["mysql", "-uroot", f"-p{F}", "prod"]),
        (["mysql", "-p", "prod"], ["mysql", "-p", "prod"]),  # mysql prompts; prod is the database
        (["mariadb-dump", "-pS3cret"], ["mariadb-dump", f"-p{F}"]),
        (["psql", "-p", "5432", "-h", "db"], ["psql", "-p", "5432", "-h", "db"]),  # psql's -p is the port
        (["python", "train.py", "-p", "4", "-pX"], ["python", "train.py", "-p", "4", "-pX"]),  # a count
        (["sshpass", "-p", "pw", "ssh", "-p", "22", "h"], ["sshpass", "-p", F, "ssh", "-p", "22", "h"]),
        (["/usr/bin/curl", "-u", "me:pw", "https://x"], ["/usr/bin/curl", "-u", f"me:{F}", "https://x"]),
        (["redis-cli", "-a", "pw"], ["redis-cli", "-a", F]),
        (["bash", "-c", "mysql  -pInner db && echo ok"], ["bash", "-c", f"mysql  -p{F} db && echo ok"]),
        (
            ["env", "DB_PASSWORD=1234", "db.password=x", "lr=0.1"],
            ["env", f"DB_PASSWORD={N}", f"db.password={N}", "lr=0.1"],
        ),
    ],
)
def test_argv_flags(argv: list[str], kept: list[str]) -> None:
    assert list(RedactionPolicy(salt=b"x" * 32).argv(argv)) == kept


def test_extra_secret_flags_from_the_environment() -> None:
    flags = secret_flags({"AUDITOR_SECRET_FLAGS": " --licence-code, -k ,not-a-flag"})
    assert flags == ("--licence-code", "-k")
    policy = RedactionPolicy(salt=b"x" * 32, secret_flags=flags)
    assert policy.argv(["--licence-code", "L1", "--licence-code=L2", "-k", "K1", "-kK2", "--epochs", "3"]) == (
        "--licence-code", "[REDACTED:secret-flag]", "--licence-code=[REDACTED:secret-flag]",
        "-k", "[REDACTED:secret-flag]", "-k[REDACTED:secret-flag]", "--epochs", "3",
    )  # fmt: skip
    assert RedactionPolicy(salt=b"x" * 32).argv(["--licence-code", "L1"]) == ("--licence-code", "L1")
    assert policy.allowed("AUDITOR_SECRET_FLAGS")  # names flags, holds no secret
    values = policy.secret_values({}, ["--licence-code", "licence-Bw81Mf", "--password=hunter22x"])
    assert "licence-Bw81Mf" in values and "hunter22x" in values


# -- URLs -------------------------------------------------------------------------------------

S3 = (
    "https://b.s3.amazonaws.com/k.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAFAKE%2F20240501"
    "&X-Amz-Date=20240501T000000Z&X-Amz-Expires=60&X-Amz-Security-Token=FwoGfake&X-Amz-SignedHeaders=host"
    "&X-Amz-Signature=6c1f9e2a"
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://:redispw@cache:6379/0", "redis://cache:6379/0"),
        ("postgresql://user:pgpw@db/x", "postgresql://user@db/x"),
        ("https://ghtoken@github.com/o/r.git", "https://github.com/o/r.git"),
        ("https://TOKEN:x-oauth-basic@github.com/o/r.git", "https://github.com/o/r.git"),
        ("https://api.example/v1?token=t1&page=2", "https://api.example/v1?token=[REDACTED:url-secret]&page=2"),
        ("https://x/cb#access_token=t2&state=s", "https://x/cb#access_token=[REDACTED:url-secret]&state=s"),
        ("https://maps.example/js?key=AIzaFake&v=3", "https://maps.example/js?key=[REDACTED:url-secret]&v=3"),
        (
            S3,
            "https://b.s3.amazonaws.com/k.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=[REDACTED:url-secret]"
            "&X-Amz-Date=20240501T000000Z&X-Amz-Expires=60&X-Amz-Security-Token=[REDACTED:url-secret]"
            "&X-Amz-SignedHeaders=host&X-Amz-Signature=[REDACTED:url-secret]",
        ),
        (
            "https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4&X-Goog-Credential=sa%40p&X-Goog-Signature=ff",
            "https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4&X-Goog-Credential=[REDACTED:url-secret]"
            "&X-Goog-Signature=[REDACTED:url-secret]",
        ),
        (
            "https://a.blob.core.windows.net/c/b?sv=2022-11-02&se=2024-06-01&sp=r&sig=AbC%3D",
            "https://a.blob.core.windows.net/c/b?sv=2022-11-02&se=2024-06-01&sp=r&sig=[REDACTED:url-secret]",
        ),
        ("https://pypi.org/simple/numpy/?page=2&max_tokens=5", "https://pypi.org/simple/numpy/?page=2&max_tokens=5"),
    ],
)
def test_url_shapes(url: str, expected: str) -> None:
    assert clean_url(url) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("to redis://:redispw@cache/0 now", "to redis://[REDACTED:url-credentials]@cache/0 now"),
        ("clone https://ghtoken@github.com/o/r", "clone https://[REDACTED:url-credentials]@github.com/o/r"),
        ("db postgresql://app:pgpw@db/x", "db postgresql://app:[REDACTED:url-credentials]@db/x"),
        ("ssh://git@github.com/o/r", "ssh://git@github.com/o/r"),
        ("GET https://h/x?sig=abc&se=2024 200", "GET https://h/x?sig=[REDACTED:url-secret]&se=2024 200"),
        ("DB_PASSWORD=4821", "DB_PASSWORD=[REDACTED:secret-name]"),
        ('{"api_key": "two words"}', '{"api_key": "[REDACTED:secret-name]"}'),
        ("Authorization: Bearer abc.def", "Authorization: [REDACTED:secret-name]"),
        ("run --token abc --epochs 3", "run --token [REDACTED:secret-name] --epochs 3"),
        ("max_tokens=512 key_metric=auc tokenizer: bert", "max_tokens=512 key_metric=auc tokenizer: bert"),
    ],
)
def test_text_shapes(text: str, expected: str) -> None:
    assert mask(text)[0] == expected
    assert mask(expected)[0] == expected  # masking twice changes nothing


def test_argv_urls_keep_a_mask_so_the_command_is_not_repeated_as_if_whole() -> None:
    kept = RedactionPolicy(salt=b"x" * 32).argv(["git", "clone", "https://ghtoken@github.com/o/r", f"--data={S3}"])
    assert kept[2] == "https://[REDACTED:url-credentials]@github.com/o/r"
    assert "ghtoken" not in " ".join(kept) and "6c1f9e2a" not in " ".join(kept) and "X-Amz-Date=" in kept[3]


# -- values of secret-named variables, whatever they look like --------------------------------


def test_secret_named_values_are_masked_whatever_they_look_like() -> None:
    policy = RedactionPolicy(salt=b"x" * 32)
    env = {
        "DB_PASSWORD": "73910482",  # digits
        "API_KEY": "a3f09c1d7e5b2a8c4f6d0e9b1a7c3e5f",  # hex
        "SERVICE_CREDENTIALS": "/run/secrets/svc-credential",  # a path
        "MYSQL_PWD": "4821",  # too short to search for as bare text
        "BUILD_NUMBER": "123456789",  # not secret-named: evidence, kept readable
        "JAVA_HOME": "/usr/lib/jvm/java-17",
        "DATABASE_URL": "postgres://app:pgpw-longer@db/x",  # not secret-named, but its password is
    }
    values = policy.secret_values(env)
    for secret in ("73910482", "a3f09c1d7e5b2a8c4f6d0e9b1a7c3e5f", "/run/secrets/svc-credential", "pgpw-longer"):
        assert secret in values
    for evidence in ("4821", "123456789", "/usr/lib/jvm/java-17"):
        assert evidence not in values
    redact = TextRedactor(values)
    assert redact("pin 73910482 key a3f09c1d7e5b2a8c4f6d0e9b1a7c3e5f build 123456789")[0] == (
        "pin [REDACTED:env-value] key [REDACTED:env-value] build 123456789"
    )
    assert redact("MYSQL_PWD=4821 and 4821")[0] == "MYSQL_PWD=[REDACTED:secret-name] and 4821"  # the documented limit


def test_names_that_describe_a_credential_keep_their_values() -> None:
    for name in ("password_file", "SECRET_NAME", "AUTH_TYPE", "token_url", "api_key_path"):
        assert not looks_secret(name), name
    policy = RedactionPolicy(salt=b"x" * 32)
    assert policy.argv(["--password-file", "/run/secrets/pw", "--auth-token", "abc"]) == (
        "--password-file", "/run/secrets/pw", "--auth-token", "[REDACTED:secret-flag]",
    )  # fmt: skip
    text = "Key: the applicant id. pass: 12 of 12. key=val_loss"
    assert mask(text)[0] == "Key: the applicant id. pass: 12 of 12. key=[REDACTED:secret-name]"

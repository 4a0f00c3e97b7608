from __future__ import annotations

import pytest

from auditor.capture.redact import RedactionPolicy, TextRedactor, clean_url, mask

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
        (HF, "huggingface-token"),
        (OPENAI, "api-key"),
        (SLACK, "slack-token"),
        (JWT, "jwt"),
        (PEM, "private-key"),
        ("github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnop", "github-token"),
    ],
)
def test_token_shapes_are_masked(secret: str, label: str) -> None:
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

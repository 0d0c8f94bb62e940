"""`manage.py check --deploy` passes on the production settings with a production environment
(a real random SECRET_KEY, DEBUG off, ALLOWED_HOSTS set; HTTPS, secure cookies and HSTS by
default), fails when a setting that matters is weakened, and silences nothing it should not."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What a deployment sets (README's table); whatever the test run itself set for these is dropped,
# and so is what only the test run sets (the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE, which
# the check rightly refuses in a deployment).
DEPLOYMENT_VARIABLES = ("DEBUG", "HTTPS", "BEHIND_PROXY", "SECURE_SSL_REDIRECT",
                        "SECURE_HSTS_SECONDS", "SECRET_KEY", "ALLOWED_HOSTS",
                        "CSRF_TRUSTED_ORIGINS", "PUBLIC_BASE_URL", "DJANGO_SETTINGS_MODULE",
                        "DJANGO_ALLOW_ASYNC_UNSAFE")


def check_deploy(var_dir: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in DEPLOYMENT_VARIABLES}
    environ.update({
        "DJANGO_SETTINGS_MODULE": "wireflow_site.settings",
        "WIREFLOW_VAR_DIR": str(var_dir),
        "SECRET_KEY": secrets.token_urlsafe(64),  # 86 characters, as `make run` would make
        "DEBUG": "0",
        "ALLOWED_HOSTS": "wireflow.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://wireflow.example.com",
        "PUBLIC_BASE_URL": "https://wireflow.example.com",
        **env,
    })
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120)


def test_check_deploy_passes_on_the_production_defaults_with_nothing_silenced(tmp_path):
    result = check_deploy(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues (0 silenced)" in result.stdout


def test_check_deploy_passes_behind_a_tls_terminating_proxy(tmp_path):
    result = check_deploy(tmp_path, BEHIND_PROXY="1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(0 silenced)" in result.stdout


def test_only_the_redirect_warning_is_silenced_and_only_when_the_proxy_redirects(tmp_path):
    result = check_deploy(tmp_path, BEHIND_PROXY="1", SECURE_SSL_REDIRECT="0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(1 silenced)" in result.stdout
    # Without a proxy nobody redirects: the same setting fails the check.
    alone = check_deploy(tmp_path, SECURE_SSL_REDIRECT="0")
    assert alone.returncode != 0 and "security.W008" in alone.stderr


@pytest.mark.parametrize(("env", "warning"), [
    ({"HTTPS": "0"}, "security.W012"),  # session cookie sent over plain HTTP
    ({"SECURE_HSTS_SECONDS": "0"}, "security.W004"),
    ({"SECRET_KEY": "short-and-guessable"}, "security.W009"),
    ({"DEBUG": "1"}, "security.W018"),
])
def test_check_deploy_fails_when_a_setting_that_matters_is_weakened(tmp_path, env, warning):
    result = check_deploy(tmp_path, **env)
    assert result.returncode != 0
    assert warning in result.stderr

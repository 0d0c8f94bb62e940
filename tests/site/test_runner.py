"""`make run`'s runner tells commands run beside it (run_workflow, shell) where it serves."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _base_url(var_dir: Path, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k not in ("PORT", "PUBLIC_BASE_URL")}
    environ.update(WIREFLOW_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="wireflow_site.settings",
                   **env)
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
                               "print(settings.DEFAULT_BASE_URL)"],
        cwd=ROOT, env=environ, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_a_command_beside_make_run_builds_urls_where_it_serves(tmp_path):
    from wireflow_site.runner import Runner

    assert _base_url(tmp_path) == "http://127.0.0.1:8000"  # nothing running: the default
    runner = Runner()
    runner.host, runner.port = "0.0.0.0", 8123
    (tmp_path / "base.url").write_text(runner.base_url())  # what start() writes
    assert _base_url(tmp_path) == "http://127.0.0.1:8123"
    assert _base_url(tmp_path, PORT="9000") == "http://127.0.0.1:9000"  # its own server wins

"""The shared fixtures (tests/conftest.py) hand every test, and every module- or session-scoped
fixture, an environment without the variables StoryBot reads — checked in a pytest run of its
own whose environment holds all of them, so the check cannot pass for want of a polluted
environment (as it would on a clean CI machine)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from core.config import Settings

ROOT = Path(__file__).resolve().parents[2]

INNER = """
import json
import os
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def module_env():
    return dict(os.environ)


def test_record(module_env):
    seen = {"module": module_env, "test": dict(os.environ), "cwd": os.getcwd()}
    Path(__file__).with_name("seen.json").write_text(json.dumps(seen))
"""

# Besides every Settings alias: what the libraries StoryBot drives read.
LIBRARIES = {
    "GOOGLE_APPLICATION_CREDENTIALS": "/home/me/key.json", "GOOGLE_GEMINI_BASE_URL": "http://x",
    "GOOGLE_VERTEX_BASE_URL": "http://x", "GOOGLE_GENAI_API_VERSION": "v0",
    "GCLOUD_PROJECT": "real", "CLOUDSDK_CONFIG": "/home/me/.config/gcloud",
    "GCE_METADATA_HOST": "10.0.0.1", "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9", "ALL_PROXY": "socks5://127.0.0.1:9", "NO_PROXY": "*",
    "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
    "all_proxy": "socks5://127.0.0.1:9", "no_proxy": "*", "wss_proxy": "http://127.0.0.1:9",
    "SSL_CERT_FILE": "/nope.pem", "SSL_CERT_DIR": "/nope", "REQUESTS_CA_BUNDLE": "/nope.pem",
    "IMAGEIO_FFMPEG_EXE": "/nope/ffmpeg", "NETRC": "/home/me/.netrc",
}  # fmt: skip


def test_no_variable_storybot_reads_reaches_tests_or_shared_fixtures(tmp_path: Path) -> None:
    """Every Settings alias and the SDKs' own variables (keys, credentials, base URLs, proxies
    in both cases, CA bundles) are gone before module fixtures run and inside each test; the
    data folder and the working directory are the test's own."""
    aliases = [field.validation_alias for field in Settings.model_fields.values()]
    assert all(isinstance(alias, str) for alias in aliases)
    polluted = {str(alias): "from-the-developer-shell" for alias in aliases} | LIBRARIES
    (tmp_path / "test_inner.py").write_text(INNER)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
        **polluted,
    }  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider",
         "-p", "no:randomly", "test_inner.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    seen = json.loads((tmp_path / "seen.json").read_text())
    for where in ("module", "test"):
        assert "PATH" in seen[where]  # the record itself is whole
        leaked = {name for name, value in polluted.items() if seen[where].get(name) == value}
        assert leaked == set(), where
    assert Path(seen["test"]["STORYBOT_DATA_DIR"]).parent == Path(seen["cwd"])

"""An S3-compatible server for the tests: moto's, in a process of its own on 127.0.0.1 (a free
port, one per pytest-xdist worker), stopped when the session ends; a fresh bucket per test,
with the settings that point StoryBot at it. Nothing leaves the loopback interface."""

from __future__ import annotations

import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ACCESS_KEY = "storybot-test-key"
SECRET_KEY = "storybot-test-secret-0123456789"
REGION = "us-east-1"
PREFIX = "jobs"
_S3 = "{http://s3.amazonaws.com/doc/2006-03-01/}"


@dataclass(frozen=True)
class S3Bucket:
    """A bucket on the test server: its name, StoryBot's URL for it, and a plain HTTP view of
    its objects (moto checks no signature), independent of the code under test."""

    endpoint: str
    name: str

    @property
    def url(self) -> str:
        """`STORYBOT_STORAGE_URL` for this bucket."""
        return f"s3://{self.name}/{PREFIX}"

    def keys(self, job_id: str = "") -> dict[str, int]:
        """Object key (under the prefix) -> size, for one job or every one."""
        answer = httpx.get(
            f"{self.endpoint}/{self.name}",
            params={"list-type": "2", "prefix": f"{PREFIX}/{job_id}"},
        )
        answer.raise_for_status()
        found = {}
        for item in ET.fromstring(answer.content).iter(f"{_S3}Contents"):
            key = item.findtext(f"{_S3}Key", "").removeprefix(f"{PREFIX}/")
            found[key] = int(item.findtext(f"{_S3}Size", "0"))
        return found

    def etag(self, key: str) -> str:
        """The ETag of an object (a multipart upload's ends in `-<parts>`)."""
        answer = httpx.head(f"{self.endpoint}/{self.name}/{PREFIX}/{key}")
        answer.raise_for_status()
        return answer.headers["etag"].strip('"')

    def environment(self) -> dict[str, str]:
        """What a StoryBot process needs to keep its job files in this bucket."""
        return {
            "STORYBOT_STORAGE_URL": self.url, "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": REGION,
        }  # fmt: skip


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The session's server (`python -m tests.s3`); its endpoint URL."""
    log = tmp_path_factory.mktemp("s3") / "moto.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.s3"], cwd=Path(__file__).parents[1],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=output,
        )  # fmt: skip
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        port = process.stdout.readline().decode().strip()
        assert port.isdigit(), log.read_text()
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stdin.close()  # the server stops when its input ends
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


@pytest.fixture
def s3_bucket(s3_server: str, clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> S3Bucket:
    """A new bucket; StoryBot's settings (the environment) point at it for the test."""
    bucket = S3Bucket(s3_server, f"storybot-{uuid.uuid4().hex[:12]}")
    httpx.put(f"{s3_server}/{bucket.name}").raise_for_status()
    for name, value in bucket.environment().items():
        monkeypatch.setenv(name, value)
    return bucket


def _serve() -> None:
    """Run moto's server until standard input closes; print its port first."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    sys.stdout.write(f"{server.get_host_and_port()[1]}\n")
    sys.stdout.flush()
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    _serve()

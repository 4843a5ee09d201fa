"""Downloading a job's MP4 from the HTTP API: whole, by byte range, and the refusals of bad
ranges and indexes; real uvicorn on 127.0.0.1, the offline providers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.http_client import A, finished, running_api, submit_video

if TYPE_CHECKING:
    from tests.conftest import OpenStoryBot


async def test_range_request_gives_206_and_the_exact_bytes(
    storybot: OpenStoryBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`Range: bytes=a-b` answers 206 with Content-Range and exactly those bytes; a range past
    the end is a 416, a malformed one a 422 or 400, all JSON."""
    async with running_api(storybot, monkeypatch) as api:
        job_id = (await submit_video(api, A))["job_id"]
        await finished(api, job_id, A)
        whole = (await api.client.get(f"/api/videos/file/{job_id}/0", headers=A)).content
        part = await api.client.get(
            f"/api/videos/file/{job_id}/0", headers={**A, "Range": "bytes=100-1123"}
        )
        tail = await api.client.get(
            f"/api/videos/file/{job_id}/0", headers={**A, "Range": "bytes=-10"}
        )
        beyond = await api.client.get(
            f"/api/videos/file/{job_id}/0", headers={**A, "Range": f"bytes={len(whole)}-"}
        )
        pages = await api.client.get(
            f"/api/videos/file/{job_id}/0", headers={**A, "Range": "pages=1-2"}
        )
        backwards = await api.client.get(
            f"/api/videos/file/{job_id}/0", headers={**A, "Range": "bytes=20-10"}
        )
        missing = await api.client.get(f"/api/videos/file/{job_id}/1", headers=A)
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-1123/{len(whole)}"
    assert part.headers["content-type"] == "video/mp4"
    assert part.content == whole[100:1124]
    assert (tail.status_code, tail.content) == (206, whole[-10:])
    assert (beyond.status_code, beyond.json()) == (416, {"error": "the range is outside the file"})
    assert beyond.headers["content-range"] == f"bytes */{len(whole)}"
    assert pages.status_code == 422
    assert set(pages.json()["fields"]) == {"Range"}
    assert backwards.status_code == 400
    assert backwards.json() == {"error": "malformed Range header (bytes=START-END)"}
    assert missing.status_code == 404
    assert missing.json() == {"error": "the job has 1 video(s)"}

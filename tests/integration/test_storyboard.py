"""Storyboards in the core: a preview story stops after its pictures, waits holding no slot,
redraws one scene at a time, takes edited lines and renders with them, survives a restart and
expires. The job service as `core.bootstrap` builds it, with fake providers that count calls."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from core.cast import CAST_PICTURE, HERO_PHOTO
from core.errors import InvalidRequest, LimitReached, NotAwaitingApproval, SceneNotFound
from core.models import Job, JobStatus, StoryRequest, StoryVideo
from core.progress import AwaitingApproval, JobSucceeded
from core.service import JobService
from tests.fakes import FakeIllustrator, FakeNarrator, FakeStoryWriter, fake_providers
from tests.pictures import hero_photo
from tests.service_helpers import collect, user

if TYPE_CHECKING:
    from tests.conftest import OpenStoryBot, WaitUntil

PREVIEW = StoryRequest(theme="a cat", scenes=3, preview=True)


async def until_ready(jobs: JobService, job: Job) -> Job:
    """Follow the job until its storyboard is ready; the job as it waits."""
    events = await collect(jobs, job)
    assert isinstance(events[-1], AwaitingApproval), events[-1]
    return await jobs.get(job.id)


async def test_storyboard_redraw_edit_render(storybot: OpenStoryBot, clean_env: Path) -> None:
    """One story call and N pictures, no narration; a redraw draws that scene once more with
    the same reference; the render narrates the edited line and draws nothing again."""
    writer, painter, narrator = FakeStoryWriter(), FakeIllustrator(), FakeNarrator(seconds=0.3)
    async with storybot(fake_providers(writer, painter, narrator)) as bot:
        jobs = bot.service
        job = await until_ready(jobs, await jobs.submit_story(PREVIEW, user(1)))
        assert job.status is JobStatus.AWAITING_APPROVAL
        assert (len(writer.requests), len(painter.prompts), narrator.texts) == (1, 3, [])
        board = await jobs.storyboards.get(job)
        assert [s.redraws_left for s in board.scenes] == [3, 3, 3]
        # Waiting holds no slot: the same user (one job in flight) may start another.
        other = await jobs.submit_story(StoryRequest(theme="a dog", scenes=1), user(1))
        assert isinstance((await collect(jobs, other))[-1], JobSucceeded)
        before = len(painter.prompts)

        await jobs.storyboards.redraw(job, 2, "with more stars")
        job = await until_ready(jobs, job)
        assert painter.prompts[before:] == ["picture 2. with more stars"]
        assert painter.references[-1] == painter.references[1]  # scene 1's, as the first time
        board = await jobs.storyboards.get(job)
        assert [s.redraws_left for s in board.scenes] == [3, 2, 3]
        assert [s.draws for s in board.scenes] == [1, 2, 1]

        scene = await jobs.storyboards.edit(job, 3, "  The cat waves   goodnight. ")
        assert scene.narration == "The cat waves goodnight."
        for bad in ("", "x" * 401, "a gun"):
            with pytest.raises(InvalidRequest):
                await jobs.storyboards.edit(job, 3, bad)
        with pytest.raises(SceneNotFound):
            await jobs.storyboards.redraw(job, 4)

        await jobs.storyboards.render(job)
        events = await collect(jobs, job)
        assert isinstance(events[-1], JobSucceeded)
        result = events[-1].result
        assert isinstance(result, StoryVideo)
        assert [s.narration for s in result.story.scenes][2] == "The cat waves goodnight."
        assert "The cat waves goodnight." in narrator.texts
        assert (len(writer.requests), len(painter.prompts)) == (2, before + 1)
        assert result.subtitles is not None
        subtitles = (await jobs.file(await jobs.get(job.id), result.subtitles)).read_text()
        assert "The cat waves goodnight." in subtitles
        with pytest.raises(NotAwaitingApproval):
            await jobs.storyboards.redraw(await jobs.get(job.id), 1)


async def test_redraws_are_bounded_and_render_checks_limits(
    storybot: OpenStoryBot, clean_env: Path
) -> None:
    """No redraw is left after STORYBOT_PREVIEW_REDRAWS; going back to work counts against
    the user's jobs in flight."""
    async with storybot(preview_redraws=1) as bot:
        jobs = bot.service
        job = await until_ready(jobs, await jobs.submit_story(PREVIEW, user(1)))
        await jobs.storyboards.redraw(job, 1)
        with pytest.raises(NotAwaitingApproval):  # it is drawing now
            await jobs.storyboards.edit(job, 1, "A new line.")
        job = await until_ready(jobs, job)
        with pytest.raises(NotAwaitingApproval, match="no redraws left"):
            await jobs.storyboards.redraw(job, 1)
        second = await until_ready(jobs, await jobs.submit_story(PREVIEW, user(1)))
        await jobs.storyboards.render(job)
        with pytest.raises(LimitReached):
            await jobs.storyboards.render(second)
        await collect(jobs, job)
        await jobs.cancel(second.id)
        assert (await jobs.get(second.id)).status is JobStatus.CANCELLED


async def test_a_waiting_storyboard_survives_a_restart(
    storybot: OpenStoryBot, clean_env: Path
) -> None:
    """A restart leaves the storyboard waiting (nothing is run again); Render then delivers."""
    writer, painter = FakeStoryWriter(), FakeIllustrator()
    providers = fake_providers(writer, painter)
    async with storybot(providers, resume=frozenset({"telegram"})) as bot:
        job = await until_ready(bot.service, await bot.service.submit_story(PREVIEW, user(1)))
    async with storybot(providers, resume=frozenset({"telegram"})) as bot:
        jobs = bot.service
        assert (await jobs.get(job.id)).status is JobStatus.AWAITING_APPROVAL
        assert await jobs.unfinished("telegram") == []
        await jobs.storyboards.render(job)
        assert isinstance((await collect(jobs, job))[-1], JobSucceeded)
        assert (len(writer.requests), len(painter.prompts)) == (1, 3)


async def test_a_hero_s_photo_is_gone_while_its_storyboard_waits(
    storybot: OpenStoryBot, clean_env: Path
) -> None:
    """The hero is drawn before the storyboard: the user's photo is deleted then, not kept
    for as long as the storyboard waits; the render still has the hero."""
    async with storybot() as bot:
        jobs = bot.service
        job = await jobs.submit_story(PREVIEW, user(1), hero=hero_photo())
        job = await until_ready(jobs, job)
        folder = clean_env / "jobs" / job.id
        assert (folder / CAST_PICTURE).exists()
        assert not (folder / HERO_PHOTO).exists()
        await jobs.storyboards.render(job)
        assert isinstance((await collect(jobs, job))[-1], JobSucceeded)


async def test_a_storyboard_left_waiting_expires(
    storybot: OpenStoryBot, clean_env: Path, wait_until: WaitUntil
) -> None:
    """Past STORYBOT_PREVIEW_TTL_H the job is cancelled and its files go."""
    async with storybot(preview_ttl_h=1 / 3600) as bot:
        jobs = bot.service
        job = await until_ready(jobs, await jobs.submit_story(PREVIEW, user(1)))
        assert (clean_env / "jobs" / job.id / "scene_01.png").exists()

        async def cancelled() -> bool:  # and its files gone (removed just after)
            ended = (await jobs.get(job.id)).status is JobStatus.CANCELLED
            return ended and not (clean_env / "jobs" / job.id).exists()

        await wait_until(cancelled, timeout=30, what="the storyboard to expire")
        ended = await jobs.get(job.id)
        assert "waited too long" in (ended.error or "")
        with pytest.raises(NotAwaitingApproval):
            await jobs.storyboards.render(ended)

"""The hero's photo lives as long as its job, however the job ends; a finished story's cast is
kept for its sequels for STORYBOT_CAST_DAYS, then goes, picture and all."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from core.cast import CAST_PICTURE, HERO_PHOTO
from core.casts import Casts, files_of
from core.errors import CastExpired, ConfigurationError, ContentRejected, NoEarlierStory
from core.models import Aspect, JobStatus, Origin, Scene, StoryRequest, Style
from core.service import JobService
from tests.fakes import FakeIllustrator, fake_providers
from tests.pictures import hero_photo

if TYPE_CHECKING:
    from tests.conftest import OpenStoryBot

ORIGIN = Origin("telegram", "u1", "c1")


class RefusingIllustrator(FakeIllustrator):
    """Every picture is refused: the job fails after its hero was made."""

    async def draw(
        self, scene: Scene, *, style: Style, aspect: Aspect, reference: bytes | None = None
    ) -> bytes:
        raise ContentRejected("refused")


async def ended(jobs: JobService, job_id: str) -> JobStatus:
    async for _ in jobs.subscribe(job_id):  # type: ignore[arg-type]
        pass
    return (await jobs.get(job_id)).status  # type: ignore[arg-type]


@pytest.mark.parametrize("ending", ["completed", "failed", "cancelled"])
async def test_the_photo_is_deleted_however_the_job_ends(
    storybot: OpenStoryBot, clean_env: Path, ending: str
) -> None:
    providers = fake_providers(illustrator=RefusingIllustrator() if ending == "failed" else None)
    async with storybot(providers, max_concurrent_jobs=1) as bot:
        jobs = bot.service
        if ending == "cancelled":  # waits behind a job that holds the only slot
            await jobs.submit_story(StoryRequest(theme="a fox"), Origin("cli", "other"))
        job = await jobs.submit_story(
            StoryRequest(theme="a toy's day", scenes=2), ORIGIN, hero=hero_photo()
        )
        stored = clean_env / "jobs" / job.id / HERO_PHOTO
        assert stored.is_file()  # stored for the job, re-encoded
        if ending == "cancelled":
            await jobs.cancel(job.id)
        status = await ended(jobs, job.id)
    assert status.value == ending
    assert not stored.exists()


async def test_a_cast_is_kept_for_its_sequels_then_expires(
    storybot: OpenStoryBot, clean_env: Path
) -> None:
    async with storybot() as bot:
        jobs = bot.service
        with pytest.raises(NoEarlierStory, match="/story"):
            await jobs.submit_sequel(StoryRequest(theme="more"), ORIGIN)
        first = await jobs.submit_story(
            StoryRequest(theme="a toy's day", scenes=1, style=Style.ANIME), ORIGIN,
            hero=hero_photo(),
        )  # fmt: skip
        assert await ended(jobs, first.id) is JobStatus.COMPLETED
        picture = clean_env / "jobs" / files_of(first.id) / CAST_PICTURE
        assert picture.is_file()
        sequel = await jobs.submit_sequel(StoryRequest(theme="the next day", scenes=1), ORIGIN)
        assert sequel.request.style is Style.ANIME
        assert sequel.request.sequel is not None
        assert sequel.request.sequel.part == 2
        assert await ended(jobs, sequel.id) is JobStatus.COMPLETED
        done = await jobs.get(sequel.id)
        assert done.result is not None
        assert done.result.story.title.endswith("— Part 2")
        casts = Casts(bot.store.database, bot.service._artifacts, keep_days=30)
        await bot.store.database.atomic(
            lambda tx: tx.execute("UPDATE casts SET created_at = '2000-01-01T00:00:00+00:00'")
        )
        assert await casts.expire() == 2
        with pytest.raises(CastExpired):
            await jobs.submit_sequel(StoryRequest(theme="more"), ORIGIN, of=first.id)
    assert not picture.exists()


async def test_a_back_end_without_a_hero_designer_says_so_before_any_work(
    storybot: OpenStoryBot,
) -> None:
    """The capability is off for the front ends (they refuse before a download), and the
    service refuses the photo with one line."""
    providers = fake_providers()
    providers.designer = None
    async with storybot(providers) as bot:
        assert bot.service.capabilities.heroes is False
        with pytest.raises(ConfigurationError, match="cannot make a hero from a photo"):
            await bot.service.submit_story(StoryRequest(theme="a toy"), ORIGIN, hero=hero_photo())
        assert await bot.store.recent(limit=5) == []

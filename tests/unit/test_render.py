from pathlib import Path

from bot.render import ProgressView
from core.models import JobId, Story, StoryVideo, Style
from core.progress import (
    JobFailed,
    JobSucceeded,
    ProviderWaiting,
    Queued,
    Stage,
    StageProgressed,
    StageStarted,
)  # fmt: skip

J = JobId("j")


def test_view_follows_the_stages() -> None:
    """The text names what is happening now, with scene counts; percent only grows."""
    view = ProgressView()
    view.apply(Queued(J, 2))
    assert view.text() == "In the queue, position 2"
    view.apply(StageStarted(J, Stage.STORY, 1, 0))
    assert view.text() == "Writing the story"
    view.apply(StageProgressed(J, Stage.STORY, 1, 1, 10))
    view.apply(StageStarted(J, Stage.PICTURES, 5, 10))
    view.apply(StageStarted(J, Stage.NARRATION, 5, 10))
    view.apply(StageProgressed(J, Stage.PICTURES, 1, 5, 30))
    assert view.text() == "Drawing scene 2 of 5 · Narrating 1 of 5"
    view.apply(ProviderWaiting(J, "gemini", 15.2, "rate limited"))
    assert view.text() == "Waiting for gemini (rate limited), retrying in 15 s"
    view.apply(StageProgressed(J, Stage.NARRATION, 1, 5, 20))
    assert view.percent == 30


def test_view_outcomes() -> None:
    """Success and failure replace the stage text."""
    story = Story(
        title="T",
        theme="t",
        style=Style.STORYBOOK,
        language="en",
        scenes=[{"image_prompt": "p", "narration": "n", "character_description": "c"}],
    )  # type: ignore[list-item]
    view = ProgressView()
    view.apply(JobSucceeded(J, StoryVideo(Path("v"), Path("t"), 12.34, 2, 2, story, (0.0,))))
    assert view.text() == "Done: 12.3 s story video"
    assert view.percent == 100
    view = ProgressView()
    view.apply(JobFailed(J, "quota exhausted"))
    assert view.text() == "Failed: quota exhausted"

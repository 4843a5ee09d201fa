from bot.options import parse_words
from bot.render import ProgressView, done_summary
from core.config import Settings
from core.models import JobId, Story, StoryVideo, Style
from core.progress import (
    ClipPhase,
    JobFailed,
    JobSucceeded,
    ProviderWaiting,
    Queued,
    SceneAnimating,
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
    view.apply(
        JobSucceeded(
            J,
            StoryVideo(
                video="v",
                thumbnail="t",
                duration_s=12.34,
                width=2,
                height=2,
                story=story,
                scene_starts_s=(0.0,),
            ),
        )
    )
    assert view.text() == "Done: 12.3 s story video"
    assert view.percent == 100
    view = ProgressView()
    view.apply(JobFailed(J, "quota exhausted"))
    assert view.text() == "Failed: quota exhausted"


def test_view_shows_the_longest_running_clip_and_the_animated_count() -> None:
    """While clips run: how many are done, and the slowest one's phase and elapsed time."""
    view = ProgressView()
    view.apply(StageStarted(J, Stage.ANIMATION, 3, 40))
    view.apply(SceneAnimating(J, 1, 3, ClipPhase.GENERATING, 20.0, 40))
    view.apply(SceneAnimating(J, 2, 3, ClipPhase.GENERATING, 65.0, 40))
    assert view.text() == "Animating: 0 of 3 scenes done · scene 2 generating 1:05"
    view.apply(SceneAnimating(J, 2, 3, ClipPhase.DOWNLOADING, 70.0, 40))
    assert view.text().endswith("scene 2 downloading 1:10")
    view.apply(StageProgressed(J, Stage.ANIMATION, 1, 3, 55))
    view.apply(SceneAnimating(J, 2, 3, ClipPhase.DONE, 0.0, 55))
    assert view.text() == "Animating: 1 of 3 scenes done · scene 1 generating 0:20"
    assert view.percent == 55


def test_animate_option_and_summary() -> None:
    """`animate=on` before the theme asks for clips; the summary counts the animated scenes."""
    options, theme = parse_words(["animate=on", "a", "cat"])
    request = options.request(theme, Settings())
    assert request.animate
    assert not parse_words(["a", "cat"])[0].request("a cat", Settings()).animate
    story = Story(
        title="T", theme="t", style=Style.STORYBOOK, language="en",
        scenes=[{"image_prompt": "p", "narration": "n", "character_description": "c"}] * 2,
    )  # type: ignore[list-item]  # fmt: skip
    result = StoryVideo(
        video="v", thumbnail="t", duration_s=9.0, width=2, height=2, story=story,
        scene_starts_s=(0.0, 4.0), animated=1,
    )  # fmt: skip
    assert done_summary(result).splitlines()[0] == "✅ “T” — 9 s, 2 scenes, 1 of 2 animated"

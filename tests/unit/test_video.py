from pathlib import Path

from core.video import Timeline, build_ffmpeg_args, concat_script


def test_frame_counts_come_from_cumulative_rounding() -> None:
    """Scene lengths off the frame grid never drift: boundaries are rounded, not lengths."""
    rate, fps = 24_000, 24
    lengths = [int(3.09 * rate)] * 12  # 3.09 s each: 74.16 frames
    timeline = Timeline.from_samples(lengths, rate, fps)
    assert sum(timeline.scene_frames) == round(12 * 3.09 * fps)
    for k, start in enumerate(timeline.starts_s):
        assert abs(start - k * 3.09) <= 0.5 / fps + 1e-9
    naive = sum(round(3.09 * fps) for _ in lengths)
    assert naive != sum(timeline.scene_frames)  # rounding each scene would drift


def test_concat_script_repeats_last_picture_with_millisecond_timebase() -> None:
    """Each picture gets its frame-exact duration; the last one is listed again."""
    timeline = Timeline(24, (48, 30), 3.25)
    script = concat_script([Path("a.png"), Path("b.png")], timeline)
    assert script.splitlines() == [
        "ffconcat version 1.0",
        "file 'a.png'", "option framerate 1000", "duration 2.000000",
        "file 'b.png'", "option framerate 1000", "duration 1.250000",
        "file 'b.png'", "option framerate 1000",
    ]  # fmt: skip


def test_ffmpeg_args_make_a_chat_playable_mp4() -> None:
    """H.264 yuv420p, AAC encoded once from the joined WAV, faststart, cut to the audio."""
    args = build_ffmpeg_args(
        Path("p.ffconcat"), Path("n.wav"), Path("o.mp4"), Timeline(24, (24,), 1.0)
    )
    joined = " ".join(args)
    assert "-c:v libx264" in joined
    assert "format=yuv420p" in joined
    assert "-c:a aac" in joined
    assert "+faststart" in joined
    assert args[args.index("-t") + 1] == "1.000000"
    assert args.count("-i") == 2
    assert args[-1] == "o.mp4"

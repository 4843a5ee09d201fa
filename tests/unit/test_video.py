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


async def test_shrink_to_fit_meets_the_limit(tmp_path: Path) -> None:
    """A video over the limit is re-encoded under it and stays a playable H.264/AAC MP4."""
    import numpy as np
    from PIL import Image

    from core.audio import to_wav
    from core.models import Speech
    from core.video import assemble, shrink_to_fit
    from tests.probe import probe

    rng = np.random.default_rng(3)
    pictures = []
    for i in range(2):  # noise pictures compress badly: a large file from a short video
        path = tmp_path / f"p{i}.png"
        Image.fromarray(rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8)).save(path)
        pictures.append(path)
    audio = tmp_path / "a.wav"
    audio.write_bytes(to_wav(Speech(b"\x00\x00" * 24_000 * 4)))
    timeline = Timeline(24, (48, 48), 4.0)
    big = await assemble(pictures, audio, tmp_path / "big.mp4", timeline)
    limit = big.stat().st_size // 3
    small = await shrink_to_fit(
        big, tmp_path / "small.mp4", limit_bytes=limit, duration_s=4.0, size=(1280, 720)
    )
    assert small.stat().st_size <= limit
    p = probe(small)
    assert (p.video_codec, p.audio_codec, p.pix_fmt) == ("h264", "aac", "yuv420p")
    assert abs(p.duration_s - 4.0) < 0.15
    assert (
        await shrink_to_fit(
            small, tmp_path / "x.mp4", limit_bytes=limit, duration_s=4.0, size=(1280, 720)
        )
        == small
    )  # already fits: unchanged

from pathlib import Path

from core.video import Cut, Motion, Timeline, build_join_args, build_segment_args


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


def test_segments_tile_the_timeline_with_crossfades_inside_the_pauses() -> None:
    """Segments add up to the video's frames; each crossfade ends where its scene (and its
    narration) starts; captions overlay only where given; fades only at the two ends."""
    timeline = Timeline(24, (48, 30, 24), 4.25)
    cut = Cut(timeline, (1280, 720), crossfade_frames=6)
    pictures = [Path("a.png"), Path("b.png"), Path("c.png")]
    captions = [Path("ca.png"), None, Path("cc.png")]
    assert [cut.segment_length(k) for k in range(3)] == [42, 30, 30]
    assert sum(cut.segment_length(k) for k in range(3)) == sum(timeline.scene_frames)
    first, second, last = (
        build_segment_args(k, pictures, captions, cut, Path(f"s{k}.mp4")) for k in range(3)
    )
    graph = [args[args.index("-filter_complex") + 1] for args in (first, second, last)]
    assert "xfade" not in graph[0]
    assert "fade=t=in:st=0" in graph[0]
    assert ":d=42:" in graph[0]  # scene 1 up to the crossfade into scene 2
    assert "overlay" in graph[0]
    # Segment 2: the last 6 frames of scene 1's move blended into the first 6 of scene 2's.
    assert "(on+42)/47" in graph[1]
    assert "xfade=transition=fade:duration=0.250000:offset=0" in graph[1]
    assert graph[1].count("overlay") == 1  # scene 1's caption fades out; scene 2 has none
    assert "fade=t=out" in graph[2]
    assert first[first.index("-frames:v") + 1] == "42"
    assert all("format=yuv420p[vout]" in g for g in graph)


def test_join_copies_the_video_and_encodes_the_audio_once() -> None:
    """The final run copies the H.264 segments and encodes the joined narration to AAC once,
    cut to the audio's exact length, with faststart."""
    cut = Cut(Timeline(24, (48, 30), 3.25), (1280, 720))
    args = build_join_args(Path("list.ffconcat"), Path("n.wav"), Path("o.mp4"), cut)
    joined = " ".join(args)
    assert "-c:v copy" in joined
    assert "-c:a aac" in joined
    assert "+faststart" in joined
    assert args[args.index("-t") + 1] == "3.250000"
    with_music = " ".join(
        build_join_args(Path("l"), Path("n.wav"), Path("o.mp4"), cut, music=Path("m.mp3"))
    )
    assert "sidechaincompress" in with_music
    assert "-stream_loop -1" in with_music


def test_motion_never_leaves_the_picture() -> None:
    """Every move zooms in (≥ 1×) and pans within the room the zoom leaves."""
    for index in range(10):
        motion = Motion.for_scene(index)
        assert min(motion.z0, motion.z1) >= 1.0
        assert max(motion.z0, motion.z1) <= 1.15
        for position in (motion.x0, motion.x1, motion.y0, motion.y1):
            assert 0.0 <= position <= 1.0
    assert len({Motion.for_scene(i) for i in range(5)}) == 5  # varied scene to scene


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
    cut = Cut(Timeline(24, (48, 48), 4.0), (1280, 720), crossfade_frames=0)
    big = await assemble(pictures, [None, None], audio, tmp_path / "big.mp4", cut)
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

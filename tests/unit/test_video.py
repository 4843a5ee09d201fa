from pathlib import Path

import pytest

from core.clip_fit import Clip
from core.scene_graph import SceneInputs, build_segment_args
from core.soundtrack import build_join_args, build_soundtrack_args
from core.video import Caption, Cut, Motion, Timeline


def scene_inputs(
    pictures: list[Path], captions: list[Caption | None], clips: list[Clip | None] | None = None
) -> list[SceneInputs]:
    return [
        SceneInputs(picture, caption, clip)
        for picture, caption, clip in zip(
            pictures, captions, clips or [None] * len(pictures), strict=True
        )
    ]


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
    captions = [Caption(Path("ca.png"), 100, 600), None, Caption(Path("cc.png"), 120, 560)]
    scenes = scene_inputs(pictures, captions)
    assert [cut.segment_length(k) for k in range(3)] == [42, 30, 30]
    assert sum(cut.segment_length(k) for k in range(3)) == sum(timeline.scene_frames)
    first, second, last = (
        build_segment_args(k, scenes, cut, Path(f"s{k}.mp4"), threads=1) for k in range(3)
    )
    graph = [args[args.index("-filter_complex") + 1] for args in (first, second, last)]
    assert "xfade" not in graph[0]
    assert "fade=t=in:st=0" in graph[0]
    assert ":d=42:" in graph[0]  # scene 1 up to the crossfade into scene 2
    assert "[1:v]overlay=x=100:y=600" in graph[0]  # only the caption's band, where it sits
    # Segment 2: the last 6 frames of scene 1's move blended into the first 6 of scene 2's.
    assert "(on+42)/47" in graph[1]
    # Only the six blended frames go through 4:4:4; they are back in 4:2:0 before the join.
    assert "xfade=transition=fade:duration=0.250000:offset=0,format=yuv420p" in graph[1]
    assert graph[1].count("overlay") == 1  # scene 1's caption fades out; scene 2 has none
    assert "fade=t=out" in graph[2]
    assert first[first.index("-frames:v") + 1] == "42"
    assert all("format=yuv420p[vout]" in g for g in graph)
    assert all(args[args.index("-threads") + 1] == "1" for args in (first, second, last))


def test_sound_is_encoded_once_apart_and_the_join_only_copies() -> None:
    """The sound run encodes the joined narration to AAC once, cut to its exact length; the
    final run copies the encoded segments and that sound, with faststart."""
    cut = Cut(Timeline(24, (48, 30), 3.25), (1280, 720))
    sound = build_soundtrack_args(Path("n.wav"), Path("s.m4a"), cut)
    assert " ".join(sound).count("-c:a aac") == 1
    assert sound[sound.index("-t") + 1] == "3.250000"
    assert "-filter_complex" not in sound  # nothing to mix: the narration as it is
    join = build_join_args(Path("list.ffconcat"), Path("s.m4a"), Path("o.mp4"), cut)
    joined = " ".join(join)
    assert "-c copy" in joined
    assert "aac" not in joined
    assert "libx264" not in joined
    assert "+faststart" in joined
    assert join[join.index("-t") + 1] == "3.250000"
    with_music = " ".join(
        build_soundtrack_args(Path("n.wav"), Path("s.m4a"), cut, music=Path("m.mp3"))
    )
    assert "sidechaincompress" in with_music
    assert "-stream_loop -1" in with_music


def graph_of(args: list[str]) -> str:
    return args[args.index("-filter_complex") + 1]


def inputs_of(args: list[str]) -> list[str]:
    return [args[i + 1] for i, arg in enumerate(args) if arg == "-i"]


@pytest.mark.parametrize(
    ("clip_s", "scene_s", "factor", "hold"),
    [
        (8.0, 5.0, 1.0, False),  # longer: trimmed only
        (5.0, 5.0, 1.0, False),  # exactly as long
        (4.0, 5.0, 1.25, False),  # a little short: slowed just enough
        (4.0, 6.0, 1.5, False),  # slowed to the cap, exactly enough
        (3.0, 6.4, 1.5, True),  # slowed to the cap, then held
    ],
)
def test_clip_fitting_slows_at_most_1_5x_and_holds_only_when_needed(
    clip_s: float, scene_s: float, factor: float, hold: bool
) -> None:
    """A clip is trimmed when long enough, else slowed (never past 1.5x), and held on its last
    frame only when even the slowed clip ends before its scene."""
    fitted_factor, fitted_hold = Clip(Path("c.mp4"), clip_s, False).fitting(scene_s)
    assert fitted_factor == pytest.approx(factor)
    assert fitted_hold is hold


def test_clip_scenes_are_fitted_and_blend_in_every_combination() -> None:
    """Clip scenes replace the Ken Burns move with the clip slowed/trimmed, at the output fps,
    covering the frame (scaled, centre-cropped); crossfades take the previous scene's tail
    from the same fitted source, whether stills or clips sit on either side."""
    timeline = Timeline(24, (48, 72, 96, 24), 10.0)
    cut = Cut(timeline, (320, 180), crossfade_frames=6)
    pictures = [Path(f"p{k}.png") for k in range(4)]
    captions: list[Caption | None] = [None, Caption(Path("c1.png"), 10, 140), None, None]
    short, long = Clip(Path("short.mp4"), 3.0, True), Clip(Path("long.mp4"), 8.0, False)
    scenes = scene_inputs(pictures, captions, [None, short, long, None])  # still→clip→clip→still
    args = [build_segment_args(k, scenes, cut, Path(f"s{k}.mp4"), threads=1) for k in range(4)]
    graphs = [graph_of(a) for a in args]
    fit = "scale=320:180:force_original_aspect_ratio=increase:flags=bicubic,crop=320:180"
    # Scene 0, a still, is untouched by clips elsewhere.
    stills = scene_inputs(pictures, captions)
    assert graphs[0] == graph_of(build_segment_args(0, stills, cut, Path("s0.mp4"), threads=1))
    # Still → clip: the still's tail zooms on, the clip (78 frames = 3.25 s from 3 s: 1.083x)
    # starts at its first frame, and the caption lies over the clip.
    assert inputs_of(args[1]) == ["short.mp4", "c1.png", "p0.png"]
    assert "setpts=1.083333*(PTS-STARTPTS),fps=24" in graphs[1]
    assert "trim=start_frame=0:end_frame=72" in graphs[1]  # 78 frames less the next crossfade
    assert fit in graphs[1]
    assert "[0:v]" in graphs[1]
    assert "[cur_bare][1:v]overlay=x=10:y=140[cur]" in graphs[1]
    assert "(on+42)/47" in graphs[1]  # the still's last 6 frames
    assert "xfade" in graphs[1]
    # Clip → clip: the previous clip's tail is its fitted frames 72..78, caption included.
    assert inputs_of(args[2]) == ["long.mp4", "short.mp4", "c1.png"]
    assert "setpts=PTS-STARTPTS,fps=24" in graphs[2]  # 8 s over 4.25 s: trimmed, not slowed
    assert "trim=start_frame=72:end_frame=78" in graphs[2]
    assert "[prev_bare][2:v]overlay=x=10:y=140[prev]" in graphs[2]
    assert "zoompan" not in graphs[2]
    # Clip → still: the still's move, blended from the long clip's fitted frames 96..102.
    assert inputs_of(args[3]) == ["p3.png", "long.mp4"]
    assert "trim=start_frame=96:end_frame=102" in graphs[3]
    assert "zoompan" in graphs[3]
    assert "fade=t=out" in graphs[3]
    # Every fitted clip ends in an open hold (seen only if the clip runs out); stills have none.
    assert [g.count("tpad=stop=-1:stop_mode=clone") for g in graphs] == [0, 1, 2, 1]
    assert [a[a.index("-frames:v") + 1] for a in args] == ["42", "72", "96", "30"]
    assert all("-an" in a for a in args)


def test_a_short_clip_is_slowed_1_5x_and_held_to_the_scene_end() -> None:
    """A 3 s clip in a 6.5 s scene: slowed 1.5x, then its last frame held until the end."""
    cut = Cut(Timeline(24, (156,), 6.5), (320, 180))
    clip = Clip(Path("c.mp4"), 3.0, False)
    scenes = [SceneInputs(Path("p.png"), None, clip)]
    graph = graph_of(build_segment_args(0, scenes, cut, Path("s.mp4"), threads=2))
    assert "setpts=1.500000*(PTS-STARTPTS),fps=24,tpad=stop=-1:stop_mode=clone" in graph
    assert "trim=start_frame=0:end_frame=156" in graph
    assert "fade=t=in:st=0" in graph
    assert "fade=t=out" in graph


def test_clip_sound_joins_the_narration_only_when_asked() -> None:
    """By default clips add no input to the sound run; with clip_audio each clip with sound is
    placed at its scene's start, in step with its picture, quietly, under the narration (and
    with the ducked music bed when there is one); the sound is still encoded once."""
    timeline = Timeline(24, (48, 60, 72), 7.5)
    cut = Cut(timeline, (320, 180), crossfade_frames=6)
    clips = [Clip(Path("a.mp4"), 3.0, True), None, Clip(Path("c.mp4"), 2.0, True)]
    muted = Clip(Path("b.mp4"), 3.0, False)
    wav, out = Path("n.wav"), Path("s.m4a")
    plain = build_soundtrack_args(wav, out, cut)
    assert build_soundtrack_args(wav, out, cut, clips=clips) == plain
    assert build_soundtrack_args(wav, out, cut, None, [None, muted, None], True) == plain
    mixed = build_soundtrack_args(wav, out, cut, None, clips, True)
    assert inputs_of(mixed) == ["n.wav", "a.mp4", "c.mp4"]
    graph = graph_of(mixed)
    assert "[1:a]aformat=channel_layouts=mono:sample_rates=24000,atrim=start=0.000000" in graph
    # Scene 3 (3.25 s with its crossfade, 2 s clip): slowed 1.5x with its picture, from the
    # frame shown when its narration starts, placed at 4.5 s.
    assert "[2:a]aformat=channel_layouts=mono:sample_rates=24000,atempo=0.666667" in graph
    assert "atrim=start=0.250000:duration=3.000000" in graph
    assert "volume=0.3" in graph
    assert "adelay=delays=4500.000:all=1[clip2]" in graph
    assert "[0:a][clip0][clip2]amix=inputs=3:duration=first:normalize=0[aout]" in graph
    assert mixed[mixed.index("-t") + 1] == plain[plain.index("-t") + 1]
    assert mixed.count("aac") == 1
    assert "-ac" in mixed
    with_music = build_soundtrack_args(wav, out, cut, Path("m.mp3"), clips, True)
    assert inputs_of(with_music) == ["n.wav", "m.mp3", "a.mp4", "c.mp4"]
    graph = graph_of(with_music)
    assert "[2:a]aformat" in graph
    assert "[3:a]aformat" in graph
    assert "[bed][key]sidechaincompress" in graph  # the narration alone ducks the music
    assert "[voice][duck][clip0][clip2]amix=inputs=4:duration=first:normalize=0[aout]" in graph


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

    from core.assembly import assemble
    from core.audio import to_wav
    from core.ffmpeg import shrink_to_fit
    from core.models import Speech
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


def test_a_caption_is_its_band_alone_at_an_even_corner(tmp_path: Path) -> None:
    """The caption saved for ffmpeg is only its band (far smaller than the frame), placed on
    even pixels; laid at its corner on a clear frame it is exactly the full overlay."""
    from PIL import Image

    from core.assembly import _save_caption
    from core.captions import caption_overlay

    text, size = "The fox and the owl watched the moon rise over the hill.", (1280, 720)
    caption = _save_caption(text, size, tmp_path / "c.png")
    assert caption is not None
    assert (caption.x % 2, caption.y % 2) == (0, 0)
    band = Image.open(caption.path)
    assert band.width * band.height < size[0] * size[1] / 4
    frame = Image.new("RGBA", size, (0, 0, 0, 0))
    frame.paste(band, (caption.x, caption.y))
    full = caption_overlay(text, size)
    assert full is not None
    assert frame.tobytes() == full.tobytes()

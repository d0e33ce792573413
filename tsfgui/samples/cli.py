"""Command line for the sample generator: ``python -m tsfgui.samples --out X.mp4 --seed 1 --duration 10``.

:func:`build_parser` and :func:`main` are importable so that the ``tsfgui sample`` subcommand can reuse them.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from tsfgui.samples import aus
from tsfgui.samples.generator import Distractors, SampleTruth, generate_sample
from tsfgui.samples.source import SampleError


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 640x480, got '{text}'") from None
    return w, h


def _events(text: str) -> int | list[str]:
    text = text.strip()
    if text.isdigit():
        return int(text)
    names = [t for t in text.split(",") if t.strip()]
    try:
        return [aus.event_type(n).name for n in names]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


DESCRIPTION = ("Make a synthetic micro-expression video on a real face photo, with a JSON ground truth "
               "(events with onset/apex/offset frames, AUs and 3-class labels; blinks; talking). "
               "Amplitudes are px at a 224-px face width.")


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of the sample generator (``prog`` sets the name shown in ``--help``)."""
    parser = argparse.ArgumentParser(prog=prog or "python -m tsfgui.samples", description=DESCRIPTION)
    add_arguments(parser)
    return parser


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the generator's options to ``p`` (shared by ``python -m tsfgui.samples`` and ``tsfgui sample``)."""
    default = Distractors()
    p.add_argument("--out", type=Path,
                   help="video file to write (.mp4 → mp4v, .avi → MJPG, .mkv → FFV1 lossless)")
    p.add_argument("--json", type=Path, help="ground-truth JSON path (default: next to the video, .json)")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same video (default 0)")
    p.add_argument("--duration", type=float, default=10.0, help="length in seconds (default 10)")
    p.add_argument("--fps", type=float, default=30.0, help="frames per second (default 30)")
    p.add_argument("--size", type=_size, default=(640, 480), help="frame size WxH (default 640x480)")
    p.add_argument("--face-width", type=float, help="face width in px in the video (default 0.48 × smaller side)")
    p.add_argument("--face-image", type=Path, help="portrait photo to use (default: scikit-image's astronaut)")
    p.add_argument("--events", type=_events, default=None,
                   help="number of micro events, or a comma list of types such as AU12,AU4,AU1+AU2 "
                        "(default: one per 2 s, classes balanced)")
    p.add_argument("--min-gap", type=float, default=1.0, help="seconds between events (default 1)")
    g = p.add_argument_group("distractors")
    g.add_argument("--no-distractors", action="store_true", help="no head motion, blinks, noise or lighting drift")
    g.add_argument("--head-motion", type=float, default=default.head_motion_px, help="peak head shift, px")
    g.add_argument("--head-rotation", type=float, default=default.head_rotation_deg, help="peak head roll, degrees")
    g.add_argument("--blinks-per-min", type=float, default=default.blinks_per_min)
    g.add_argument("--noise", type=float, default=default.noise_sigma, help="sensor noise sigma, grey levels")
    g.add_argument("--lighting", type=float, default=default.lighting_gain, help="peak relative gain drift")
    g.add_argument("--lighting-offset", type=float, default=default.lighting_offset,
                   help="peak offset drift, grey levels")
    g.add_argument("--talk", type=int, default=0, help="number of talking-like mouth segments (default 0)")
    g.add_argument("--talk-duration", type=float, default=default.talk_duration_s, help="seconds per talking segment")
    g.add_argument("--talk-amplitude", type=float, default=default.talk_amplitude_px, help="jaw opening, px")
    p.add_argument("--fourcc", help="override the codec FourCC (e.g. MJPG)")
    p.add_argument("--list-types", action="store_true", help="list the micro event types and their classes, then exit")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")


def _distractors(args: argparse.Namespace) -> Distractors:
    base = Distractors.none() if args.no_distractors else Distractors(
        head_motion_px=args.head_motion, head_rotation_deg=args.head_rotation, blinks_per_min=args.blinks_per_min,
        noise_sigma=args.noise, lighting_gain=args.lighting, lighting_offset=args.lighting_offset)
    return replace(base, talk_segments=args.talk, talk_duration_s=args.talk_duration,
                   talk_amplitude_px=args.talk_amplitude)


def _summary(truth: SampleTruth, out: Path) -> str:
    lines = [f"wrote {out} ({truth.frame_count} frames, {truth.fps:g} fps, {truth.width}x{truth.height}, "
             f"face {truth.face_width_px:.0f} px, seed {truth.seed})"]
    for e in truth.events:
        lines.append(f"  {e.type:<12} {e.label:<9} frames {e.onset}-{e.apex}-{e.offset} "
                     f"({e.onset / truth.fps:.2f} s)  {e.amplitude_224:.2f} px@224")
    for e in truth.blinks + truth.talk:
        lines.append(f"  {e.kind:<12} {'':<9} frames {e.onset}-{e.apex}-{e.offset}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Run the generator CLI; returns the exit status (0 ok, 2 bad input, 130 interrupted)."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.out is None and not args.list_types:
        parser.error("--out is required (the video file to write)")
    return run(args)


def run(args: argparse.Namespace) -> int:
    """Generate the sample described by parsed ``args``; 0 ok, 2 bad input, 130 interrupted."""
    if args.list_types:
        for e in aus.EVENT_TYPES.values():
            print(f"{e.name:<12} {e.label:<9} {', '.join(e.regions)}")
        return 0
    bar = None
    progress = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=max(1, round(args.duration * args.fps)), unit="frame", desc=args.out.name, file=sys.stderr)

        def progress(done: int, total: int | None) -> None:
            bar.update(done - bar.n)
    try:
        truth = generate_sample(args.out, seed=args.seed, duration_s=args.duration, fps=args.fps, size=args.size,
                                events=args.events, distractors=_distractors(args), face_image=args.face_image,
                                face_width=args.face_width, min_gap_s=args.min_gap, truth_path=args.json,
                                fourcc=args.fourcc, progress=progress)
    except (SampleError, ValueError) as exc:
        print(f"{getattr(args, 'prog', 'tsfgui sample')}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; no video was written", file=sys.stderr)
        return 130
    finally:
        if bar is not None:
            bar.close()
    if not args.quiet:
        print(_summary(truth, args.out))
    return 0

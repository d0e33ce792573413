"""Optical flow for the spotting signals: cost per frame and accuracy on a planted sub-pixel motion.

A real face (the aligned astronaut crop, 224 px) is warped by a smooth local bump of known size over the
mouth, with sensor noise on both frames. For each flow method: milliseconds per frame pair, the mean
measured displacement inside the bump against the truth, and the mean flow length where nothing moved
(noise floor); ``snr`` = measured / floor. The candidates are timed in one run, in turn (medians of
rounds), on the same pair. Then the whole per-frame signal step as the analyzer runs it (flow,
head-motion removal, region means, patch motion) and the head pose fit.
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from tsfgui.arguments import positive_float, positive_int
from tsfgui.engine.flow import FlowSettings, RegionFlow, dense_flow, to_work_grey
from tsfgui.face import detect_and_align, region_masks
from tsfgui.face.pose import head_pose
from tsfgui.samples.source import astronaut_path


def _timed(fn, repeat: int) -> tuple[float, object]:
    out = fn()
    start = time.perf_counter()
    for _ in range(repeat):
        out = fn()
    return (time.perf_counter() - start) / repeat * 1000.0, out


def _interleaved(methods: dict, a: np.ndarray, b: np.ndarray, repeat: int) -> tuple[dict[str, float], dict]:
    """Milliseconds per call of each method (median of ``repeat`` rounds, each round calling every
    method once in turn, so a load that comes and goes weighs on all alike) and each one's output."""
    outputs = {name: fn(a, b) for name, fn in methods.items()}
    times: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(repeat):
        for name, fn in methods.items():
            start = time.perf_counter()
            fn(a, b)
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) * 1000.0 for name, t in times.items()}, outputs


def _dis(preset: int, side: int, patch: int | None = None):
    dis = cv2.DISOpticalFlow_create(preset)
    if patch:
        dis.setPatchSize(patch)
        dis.setPatchStride(max(1, patch // 2))
    return lambda a, b: dis.calc(to_work_grey(a, side), to_work_grey(b, side), None)


#: The flow candidates compared, by name: Farnebäck settings, or ("dis", preset, side, patch size).
CANDIDATES: dict[str, FlowSettings | tuple] = {
    "Farneback @112 (used)": FlowSettings(),
    "Farneback @112 3 iterations": FlowSettings(iterations=3),
    "Farneback @112 2 levels": FlowSettings(levels=2),
    "Farneback @112 window 9": FlowSettings(window=9),
    "Farneback @80": FlowSettings(side=80, window=11),
    "Farneback @224": FlowSettings(side=224),
    "DIS ultrafast @112": ("dis", cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, 112, None),
    "DIS fast @112 patch 6": ("dis", cv2.DISOPTICAL_FLOW_PRESET_FAST, 112, 6),
    "DIS medium @112": ("dis", cv2.DISOPTICAL_FLOW_PRESET_MEDIUM, 112, None),
    "DIS medium @112 patch 6": ("dis", cv2.DISOPTICAL_FLOW_PRESET_MEDIUM, 112, 6),
    "DIS medium @224": ("dis", cv2.DISOPTICAL_FLOW_PRESET_MEDIUM, 224, None),
}


def _method(settings: FlowSettings | tuple):
    """A function (reference, current) → flow for one candidate."""
    if isinstance(settings, FlowSettings):
        return lambda a, b: dense_flow(a, b, settings)
    _, preset, side, patch = settings
    return _dis(preset, side, patch)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tsfgui bench flow", description=__doc__)
    parser.add_argument("--repeat", type=positive_int, default=40, help="pairs timed per method (default 40)")
    parser.add_argument("--amplitude", type=positive_float, nargs="+", default=[0.3, 1.0],
                        help="peak planted displacement, px at the 224-px crop (default 0.3 1.0)")
    args = parser.parse_args(argv)
    photo = cv2.imread(str(astronaut_path()))
    face = detect_and_align(photo).primary
    crop, size = face.crop, face.size
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    cx, cy = face.landmarks_crop[48:60].mean(0)
    bump = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * (0.08 * size) ** 2)).astype(np.float32)
    rng = np.random.default_rng(0)
    noisy = lambda img: np.clip(img + rng.normal(0, 1.5, img.shape), 0, 255).astype(np.uint8)  # noqa: E731
    methods = {name: _method(settings) for name, settings in CANDIDATES.items()}
    print(f"OpenCV {cv2.__version__}, {cv2.getNumThreads()} threads; CPU flags: {_cpu_flags()}")
    for amplitude in args.amplitude:
        moved = cv2.remap(grey, xs, ys + amplitude * bump, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        a, b = noisy(grey.astype(np.float32)), noisy(moved.astype(np.float32))
        truth = float(amplitude * bump[bump > 0.5].mean())
        print(f"planted upward motion, peak {amplitude:g} px (mean {truth:.3f} px inside the bump):")
        ms, flows = _interleaved(methods, a, b, args.repeat)
        for name, flow in flows.items():
            flow = np.asarray(flow, np.float32)
            if flow.shape[0] != size:
                flow = cv2.resize(flow, (size, size), interpolation=cv2.INTER_LINEAR) * (size / flow.shape[0])
            small = cv2.resize(bump, (flow.shape[1], flow.shape[0]))
            measured = float(-flow[..., 1][small > 0.5].mean())
            floor = float(np.hypot(flow[..., 0], flow[..., 1])[small < 0.05].mean())
            print(f"  {name:28s} {ms[name]:6.2f} ms/pair  measured {measured:.3f} px  floor {floor:.3f} px  "
                  f"snr {measured / floor:5.1f}")
    masks = region_masks(face.landmarks_crop, size)
    region_flow = RegionFlow()
    moved = cv2.remap(crop, xs, ys + bump, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    ms, regions = _timed(lambda: region_flow.measure(crop, moved, face.landmarks_crop, masks), args.repeat)
    print(f"analyzer signal step (BGR crops → region flow, head motion removed): {ms:.2f} ms/frame; "
          + ", ".join(f"{k} {v:.2f} px" for k, v in regions.items()))
    clock = iter(range(10**9))
    for _ in range(600):  # a full 20-s baseline of the patches (30 fps)
        region_flow.patches.measure(rng.normal(0, 0.1, (112, 112, 2)).astype(np.float32), {}, next(clock) * 33.3)
    ms_patches, _ = _timed(lambda: region_flow.measure(crop, moved, face.landmarks_crop, masks,
                                                       timestamp_ms=next(clock) * 33.3), max(args.repeat, 60))
    print(f"the same with the patch motion (baseline of 600 frames, re-estimated every 0.5 s): {ms_patches:.2f} "
          f"ms/frame; " + ", ".join(f"{k} z {v:.1f}" for k, v in region_flow.motion.items()))
    h, w = photo.shape[:2]
    ms, pose = _timed(lambda: head_pose(face.landmarks, (w, h)), args.repeat)
    print(f"head pose (solvePnP, 68 points): {ms:.2f} ms/frame; Rx {pose.rx:+.3f} Ry {pose.ry:+.3f} Rz {pose.rz:+.3f} rad")
    return 0


def _cpu_flags() -> str:
    try:
        flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return "unknown"
    return " ".join(f for f in ("avx2", "avx512f", "avx512_bf16") if f in flags) or "no AVX2"


if __name__ == "__main__":
    raise SystemExit(main())

"""``tsfgui --selftest``: proves an installation (or the standalone bundle) works, headless.

It opens the bundled sample, runs the face pipeline and TSFmicro with the demo weights on its first
frames, computes an attention heatmap, writes every export of ``tsfgui analyze`` for a short clip,
and builds the main window offscreen. Each step prints one line; the exit code is 0 only when all
passed. Nothing is written outside a temporary folder.
"""

from __future__ import annotations

import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Callable, TextIO

import numpy as np

from tsfgui.resources import DEMO_WEIGHTS, SAMPLE_VIDEO


class SelftestFailure(Exception):
    """A check did not hold; the message says which and why."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise SelftestFailure(message)


class _Selftest:
    def __init__(self, frames: int, ui: bool) -> None:
        self.n = frames
        self.ui = ui
        self.frames: list = []
        self.loaded = None  # the demo model, once the model step has run

    def files(self) -> str:
        from tsfgui.face.model_files import landmarks_68_path

        for path in (SAMPLE_VIDEO, DEMO_WEIGHTS, landmarks_68_path()):
            _check(Path(path).is_file(), f"missing {path}")
        return f"sample, dlib 68-point model and the shipped weights in {SAMPLE_VIDEO.parents[1]}"

    def source(self) -> str:
        from tsfgui.io import open_source

        with open_source(SAMPLE_VIDEO) as source:
            info = source.info
            for frame in source:
                self.frames.append(frame)
                if len(self.frames) == self.n:
                    break
        _check(len(self.frames) == self.n, f"read only {len(self.frames)} of {self.n} frames")
        _check(self.frames[0].image.shape[:2] == (info.height, info.width), "frame size differs from the header")
        return f"{SAMPLE_VIDEO.name}: {info.width}x{info.height} at {info.fps:g} fps, read {self.n} frames"

    def face(self) -> str:
        from tsfgui.face import FaceTracker

        tracker = FaceTracker()
        found = 0
        for frame in self.frames:
            faces = tracker.update(frame.image)
            if faces.primary is not None:
                found += 1
                _check(faces.primary.landmarks.shape == (68, 2), "landmarks are not 68 points")
                _check(faces.primary.crop is not None and faces.primary.crop.size > 0, "no aligned crop")
        _check(found >= 0.9 * self.n, f"a face in only {found} of {self.n} frames of the sample")
        return f"face and 68 landmarks in {found}/{self.n} frames"

    def model(self) -> str:
        from tsfgui.engine import Analyzer, RollingLag
        from tsfgui.model import load_model
        from tsfgui.model.card import describe_weights_file

        self.loaded = load_model(DEMO_WEIGHTS)  # a damaged file fails here, the step that reads the weights
        summary = describe_weights_file(str(DEMO_WEIGHTS))[0]
        analyzer = Analyzer(self.loaded, policy=RollingLag(lag_s=0.2), batch_size=8)
        results = list(analyzer.run(self.frames))
        analysed = [r for r in results if r.analysed]
        _check(len(results) == self.n, f"{len(results)} results for {self.n} frames")
        _check(len(analysed) > 0, "the model analysed no frame")
        probs = np.stack([r.probabilities for r in analysed])
        _check(bool(np.isfinite(probs).all()) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-3),
               "class probabilities are not finite or do not sum to 1")
        heat = analyzer.explain(analysed[-1], kinds=("attention",))["attention"]
        _check(heat.ndim == 2 and bool(np.isfinite(heat).all()) and 0.0 <= heat.min() <= heat.max() <= 1.0,
               "attention heatmap is not a finite map in [0, 1]")
        last = analysed[-1]
        return (f"{summary}; on {analyzer.device.type}: {len(analysed)} frames analysed, "
                f"frame {last.index}: {last.label} {last.confidence:.2f}; attention {heat.shape[0]}x{heat.shape[1]}")

    def exports(self) -> str:
        import csv

        import cv2

        from tsfgui.batch import analyze_one

        with tempfile.TemporaryDirectory(prefix="tsfgui-selftest-") as tmp:
            clip = Path(tmp) / "clip.avi"
            h, w = self.frames[0].image.shape[:2]
            writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (w, h))
            _check(writer.isOpened(), "OpenCV cannot write an MJPG video")
            for frame in self.frames:
                writer.write(frame.image)
            writer.release()
            out = Path(tmp) / "clip"
            # the model on every frame too (a 24-frame clip has no spotted interval to classify)
            settings = {"lag_s": 0.2, "batch_size": 8, "fps": None, "per_frame_model": True}
            outcome = analyze_one(clip, out, model=self.loaded, weights=str(DEMO_WEIGHTS), settings=settings)
            _check(outcome.status == "done", f"analysis of a clip ended '{outcome.status}': {outcome.message}")
            names = ["frames.csv", "events.csv", "events.json", "events_boris.xlsx", "summary.png", "clip.eaf",
                     "done.json"]
            missing = [n for n in names if not (out / n).is_file()]
            _check(not missing, f"analyze did not write {', '.join(missing)}")
            with (out / "frames.csv").open(newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
            _check(len(rows) == self.n, f"frames.csv has {len(rows)} rows for {self.n} frames")
            _check(any(r["label"] for r in rows), "frames.csv has no predicted label")
        return f"frames.csv ({len(rows)} rows), events, BORIS xlsx, ELAN eaf, summary.png"

    def window(self) -> str:
        from tsfgui.ui.offscreen_check import draw_main_window  # Qt stays in the UI layer

        try:
            width, height, platform = draw_main_window(str(SAMPLE_VIDEO))
        except RuntimeError as exc:
            raise SelftestFailure(str(exc)) from None
        return f"main window drawn {width}x{height} ({platform})"

    def steps(self) -> list[tuple[str, Callable[[], str]]]:
        steps = [("files", self.files), ("video", self.source), ("face", self.face), ("model", self.model),
                 ("exports", self.exports)]
        if self.ui:
            steps.append(("window", self.window))
        return steps


def run_selftest(frames: int = 24, ui: bool = True, out: TextIO | None = None) -> int:
    """Run the checks, printing one line each; 0 when all passed, 1 otherwise."""
    out = out or sys.stdout
    test = _Selftest(frames, ui)
    start = time.perf_counter()
    for name, step in test.steps():
        t0 = time.perf_counter()
        try:
            detail = step()
        except SelftestFailure as exc:
            print(f"FAIL  {name}: {exc}", file=out, flush=True)
            return 1
        except Exception as exc:  # a broken installation shows here: say where, then stop
            print(f"FAIL  {name}: {type(exc).__name__}: {exc}", file=out, flush=True)
            traceback.print_exc(file=sys.stderr)
            return 1
        print(f"ok    {name:8s} {detail} ({time.perf_counter() - t0:.1f} s)", file=out, flush=True)
    print(f"selftest passed in {time.perf_counter() - start:.1f} s", file=out, flush=True)
    return 0

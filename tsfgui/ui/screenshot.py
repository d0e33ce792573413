"""Save a screenshot of the main window on a video: ``python -m tsfgui.ui.screenshot OUT.png [VIDEO] [--frame N]``.

Used to refresh README's screenshot and by the real-window test under Xvfb.
"""

from __future__ import annotations

import argparse
import sys

from .app import SAMPLE_VIDEO, default_weights, qt_application


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tsfgui.ui.screenshot", description=__doc__)
    parser.add_argument("out", help="PNG file to write")
    parser.add_argument("video", nargs="?", default=str(SAMPLE_VIDEO), help="video or frame folder (default: sample)")
    parser.add_argument("--frame", type=int, default=0, help="frame to show (default 0)")
    parser.add_argument("--size", default="1100x760", help="window size WxH (default 1100x760)")
    parser.add_argument("--weights", default=default_weights(), help="weights file to analyse with "
                        "(default: the demo weights)")
    parser.add_argument("--no-weights", action="store_true", help="no model: difference signals only")
    parser.add_argument("--wait-analysis", action="store_true",
                        help="wait until the whole video is analysed, its intervals spotted and classified, and the "
                             "frame inspected")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the frame")
    args = parser.parse_args(argv)
    app = qt_application("screenshot")
    if app is None:
        return 1
    from PySide6.QtCore import QTimer

    from .main_window import MainWindow

    window = MainWindow(args.video, weights=None if args.no_weights else args.weights)
    width, height = (int(v) for v in args.size.lower().split("x"))
    window.resize(width, height)
    window.show()
    result = {"code": 1}

    def on_frame(index: int) -> None:
        if index == args.frame:
            QTimer.singleShot(200, maybe_save)  # let the view repaint once more

    def maybe_save() -> None:
        busy = not window.session.analysed or window.session.spotting
        shown = window.inspector_panel.shown
        inspecting = not args.no_weights and (shown is None or shown.index != window.current)
        if args.wait_analysis and (busy or inspecting):
            QTimer.singleShot(200, maybe_save)
            return
        window._show_frame_analysis(window.current)
        window.plots.refresh()
        QTimer.singleShot(200, save)

    def save() -> None:
        ok = window.grab().save(args.out)
        result["code"] = 0 if ok else 1
        if not ok:
            print(f"screenshot: error: cannot write '{args.out}'", file=sys.stderr)
        window.close()
        app.quit()

    def give_up() -> None:
        print(f"screenshot: error: frame {args.frame} was not shown within {args.timeout:g} s"
              f"{': ' + window.error if window.error else ''}", file=sys.stderr)
        window.close()
        app.quit()

    window.frameShown.connect(on_frame)
    window.frameShown.connect(lambda i: window.seek(args.frame) if i == 0 and args.frame else None)
    QTimer.singleShot(int(args.timeout * 1000), give_up)
    app.exec()
    return result["code"]


if __name__ == "__main__":
    sys.exit(main())

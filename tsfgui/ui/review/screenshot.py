"""Save a screenshot of the review window: ``python -m tsfgui.ui.review.screenshot OUT.png PROJECT``.

Opens PROJECT as ``--coder``, selects event ``--event`` (1 = first of the queue), pauses the loop on
its apex with the motion magnified ×``--factor`` and grabs the window. Used for README's pictures.
"""

from __future__ import annotations

import argparse
import sys

from ..app import qt_application


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tsfgui.ui.review.screenshot", description=__doc__)
    parser.add_argument("out", help="PNG file to write")
    parser.add_argument("project", help="the project file (.tsfproj)")
    parser.add_argument("--coder", default="A")
    parser.add_argument("--event", type=int, default=1, help="which event of the queue (default 1)")
    parser.add_argument("--factor", type=int, default=20, help="magnification factor (0: off; default 20)")
    parser.add_argument("--size", default="1500x950", help="window size WxH")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    app = qt_application("screenshot")
    if app is None:
        return 1
    from PySide6.QtCore import QTimer

    from .window import ReviewWindow

    window = ReviewWindow(args.project, coder=args.coder)
    width, height = (int(v) for v in args.size.lower().split("x"))
    window.resize(width, height)
    window.show()
    result = {"code": 1}

    def save() -> None:
        window.event_view.go_to(window.queue.event.apex)
        app.processEvents()
        result["code"] = 0 if window.grab().save(args.out) else 1
        window.close()
        app.quit()

    def ready() -> None:
        if args.factor:
            window.event_view.magnifiedShown.connect(lambda _: QTimer.singleShot(300, save))
            window.event_view.set_magnification(True, args.factor)
        else:
            QTimer.singleShot(300, save)

    def give_up() -> None:
        print(f"screenshot: error: the event was not shown within {args.timeout:g} s", file=sys.stderr)
        window.close()
        app.quit()

    window.event_view.clipShown.connect(ready)
    window.queue.select(args.event - 1)
    window.refresh()
    QTimer.singleShot(int(args.timeout * 1000), give_up)
    app.exec()
    return result["code"]


if __name__ == "__main__":
    sys.exit(main())

"""Entry point of the standalone bundle: the `tsfgui` command (no arguments: the desktop app)."""

import multiprocessing
import sys

from tsfgui.cli import main

if __name__ == "__main__":
    # a frozen bundle starts its child processes (analyze --jobs, the face tracking process) through this
    # executable: they must run their task, not the app
    multiprocessing.freeze_support()
    sys.exit(main())

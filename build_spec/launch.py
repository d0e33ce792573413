"""Entry point of the standalone bundle: the `tsfgui` command (no arguments: the desktop app)."""

import sys

from tsfgui.cli import main

if __name__ == "__main__":
    sys.exit(main())

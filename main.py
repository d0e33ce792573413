"""Start the tsfgui desktop app: ``python main.py [VIDEO_OR_FOLDER]``."""

import sys

from tsfgui.cli import main

if __name__ == "__main__":
    sys.exit(main(["gui", *sys.argv[1:]]))

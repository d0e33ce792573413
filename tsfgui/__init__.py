"""tsfgui: micro-expression analysis with the TSFmicro model (desktop app, CLI, training)."""

__version__ = "0.1.0"

import os as _os

# OpenCV's and FFmpeg's console chatter ("moov atom not found" …) is replaced by our own error
# messages. Set before any submodule imports cv2; a user who wants it back sets these variables.
_os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
_os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")

"""vstream tracker: webcam or video -> dlib 68 landmarks -> ARKit weights + head pose -> UDP."""

import os

# OpenCV's own warnings (camera probing, backends) would bury the one-line errors we print.
os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")

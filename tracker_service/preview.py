"""The preview: your face as dots, with the strongest weights as bars.

Shown in a window when a display exists; written to a video with --preview-out.
In the window, C calibrates the neutral face and Q or Esc quits.
"""

import os
import sys

import cv2

BAR_CHANNELS = 12
_GREEN, _RED, _WHITE, _GREY = (80, 220, 80), (60, 60, 230), (255, 255, 255), (90, 90, 90)
WINDOW = "vstream preview (C: calibrate, Q: quit)"


def gui_built_in():
    """Whether this OpenCV can open windows: opencv-python-headless (what Blender's per-platform
    extensions carry) cannot (no Qt: a smaller wheel), and says "GUI: NONE" in its build information."""
    for line in cv2.getBuildInformation().splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "GUI":
            return value.strip().upper() != "NONE"
    return True


def display_available():
    if not gui_built_in():
        return False
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def draw(frame, result, fps=None):
    """A copy of `frame` with landmarks, head angles and weight bars drawn on it."""
    out = frame.copy()
    h, w = out.shape[:2]
    scale = max(0.35, min(1.0, w / 900.0))
    if result.landmarks is not None:
        for x, y in result.landmarks:
            cv2.circle(out, (int(round(x)), int(round(y))), max(1, int(2 * scale)), _GREEN, -1, cv2.LINE_AA)
    pitch, yaw, roll = result.euler_deg
    status = "pitch %+4.0f  yaw %+4.0f  roll %+4.0f" % (pitch, yaw, roll) if result.face else "no face"
    if fps:
        status += "   %.0f fps" % fps
    cv2.putText(out, status, (8, int(22 * scale) + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale,
                _WHITE if result.face else _RED, 1, cv2.LINE_AA)
    top = sorted(result.weights.items(), key=lambda kv: -kv[1])[:BAR_CHANNELS]
    row = int(18 * scale) + 2
    bar_w = int(90 * scale)
    y0 = h - row * len(top) - 4
    for i, (name, value) in enumerate(top):
        y = y0 + i * row
        cv2.rectangle(out, (4, y), (4 + bar_w, y + row - 4), _GREY, -1)
        cv2.rectangle(out, (4, y), (4 + int(bar_w * value), y + row - 4), _GREEN, -1)
        cv2.putText(out, name, (8 + bar_w, y + row - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.45 * scale,
                    _WHITE, 1, cv2.LINE_AA)
    return out


class PreviewWriter:
    def __init__(self, path, fps, width, height):
        self.writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
        if not self.writer.isOpened():
            raise RuntimeError("cannot write preview video %s" % path)

    def write(self, image):
        self.writer.write(image)

    def close(self):
        self.writer.release()


def show(image):
    """Show `image` in the preview window; return the key pressed as a lower-case char, or ''."""
    cv2.imshow(WINDOW, image)
    key = cv2.waitKey(1) & 0xFF
    if key == 27:
        return "q"
    return chr(key).lower() if 0 < key < 128 else ""


def close_window():
    cv2.destroyAllWindows()

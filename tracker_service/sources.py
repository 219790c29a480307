"""Frame sources: a webcam index, a video file or an image file.

Every source yields (index, t, frame) in order. Files give their own frame
times (index / fps) so takes are reproducible; cameras are read on their own
thread so a slow frame in the tracker never stalls the camera driver.
"""

import collections
import os
import threading
import time

import cv2

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp"}
DEFAULT_FPS = 30.0


class SourceError(RuntimeError):
    """A source that cannot be opened or read; the message is shown to the user as is."""


def _valid_fps(fps):
    return fps if fps and 1.0 <= fps <= 1000.0 else DEFAULT_FPS


class ImageSource:
    kind = "image"

    def __init__(self, path):
        self.path = path
        self.frame = cv2.imread(path)
        if self.frame is None:
            raise SourceError("cannot read image file %s (not an image, or corrupt)" % path)
        self.height, self.width = self.frame.shape[:2]
        self.fps = DEFAULT_FPS
        self.frame_count = 1

    def frames(self):
        yield 0, 0.0, self.frame

    def close(self):
        pass


class VideoFileSource:
    kind = "video"

    def __init__(self, path):
        self.path = path
        self.capture = cv2.VideoCapture(path)
        if not self.capture.isOpened():
            raise SourceError("cannot read video file %s (unknown format, or corrupt)" % path)
        ok, self.first = self.capture.read()
        if not ok or self.first is None:
            self.capture.release()
            raise SourceError("video file %s has no readable frames" % path)
        self.height, self.width = self.first.shape[:2]
        self.fps = _valid_fps(self.capture.get(cv2.CAP_PROP_FPS))
        self.frame_count = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frames_read = 0

    def frames(self):
        frame, index = self.first, 0
        while frame is not None:
            self.frames_read = index + 1
            yield index, index / self.fps, frame
            ok, frame = self.capture.read()
            # A corrupt or truncated stream ends the take here, cleanly.
            if not ok or frame is None or frame.shape[:2] != (self.height, self.width):
                break
            index += 1

    @property
    def ended_early(self):
        return self.frame_count > 0 and self.frames_read < self.frame_count - 1

    def close(self):
        self.capture.release()


class CameraSource:
    kind = "camera"
    QUEUE = 4  # frames waiting for the tracker; older ones are dropped (and counted)

    def __init__(self, index):
        self.path = "camera:%d" % index
        self.capture = cv2.VideoCapture(index)
        ok, first = (self.capture.read() if self.capture.isOpened() else (False, None))
        if not ok or first is None:
            self.capture.release()
            raise SourceError("cannot open camera %d (not connected, or in use by another program)" % index)
        self.height, self.width = first.shape[:2]
        self.fps = _valid_fps(self.capture.get(cv2.CAP_PROP_FPS))
        self.frame_count = 0
        self.dropped = 0
        self._queue = collections.deque()
        self._ready = threading.Condition()
        self._running = True
        self._failed = False
        self._t0 = time.monotonic()
        self._push(0, first)
        self._thread = threading.Thread(target=self._read_loop, name="camera", daemon=True)
        self._thread.start()

    def _push(self, index, frame):
        with self._ready:
            if len(self._queue) >= self.QUEUE:
                self._queue.popleft()
                self.dropped += 1
            self._queue.append((index, time.monotonic() - self._t0, frame))
            self._ready.notify()

    def _read_loop(self):
        index = 1
        while self._running:
            ok, frame = self.capture.read()
            if not ok or frame is None:
                self._failed = True
                break
            self._push(index, frame)
            index += 1
        with self._ready:
            self._running = False
            self._ready.notify()

    def frames(self):
        while True:
            with self._ready:
                while not self._queue and self._running:
                    self._ready.wait(0.5)
                if not self._queue:
                    return
                item = self._queue.popleft()
            yield item

    @property
    def ended_early(self):
        return self._failed

    def close(self):
        self._running = False
        self._thread.join(timeout=2.0)
        self.capture.release()


def open_source(spec):
    """Open `spec`: a camera index ("0"), an image file or a video file."""
    spec = str(spec)
    if spec.isdigit():
        return CameraSource(int(spec))
    if not os.path.exists(spec):
        raise SourceError("no such file: %s (give a camera index like 0, a video or an image)" % spec)
    if os.path.isdir(spec):
        raise SourceError("%s is a folder, not a video or image file" % spec)
    if os.path.splitext(spec)[1].lower() in IMAGE_EXTENSIONS:
        return ImageSource(spec)
    return VideoFileSource(spec)

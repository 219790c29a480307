"""One live connection: the receiver, the optional recording, and the status text.

Pure Python. It holds no Blender data: targets are looked up from the scene
on every tick, because references kept across ticks go stale after undo or
file changes.
"""

import time

from . import sources
from .receiver import LOCALHOST, Receiver
from .recorder import Recorder

STALE_AFTER = 1.0  # seconds without a frame before the age is shown in whole seconds


class LiveSession:
    def __init__(self, port, host=LOCALHOST, clock=time.monotonic, source=sources.DEFAULT):
        self.receiver = Receiver(port, host=host, clock=clock, source=source)
        self.recorder = None  # a Recorder while Record is on
        self.frames_received = 0

    @property
    def port(self):
        return self.receiver.port

    @property
    def source(self):
        return self.receiver.source

    @property
    def recording(self):
        return self.recorder is not None

    def open(self):
        self.receiver.open()
        return self

    def close(self):
        self.receiver.close()

    def start_recording(self):
        self.recorder = Recorder()

    def stop_recording(self):
        """End Record mode and hand back the Recorder with what it kept."""
        recorder, self.recorder = self.recorder, None
        return recorder

    def poll(self):
        """Drain the socket; record every frame if recording; return the frames."""
        frames = self.receiver.drain()
        self.frames_received += len(frames)
        if self.recorder is not None:
            for frame in frames:
                self.recorder.add(frame)
        return frames

    # -- what the panel shows ----------------------------------------------

    def status(self):
        """Display values, rounded to what the panel shows.

        Comparing two of these tells whether the panel needs a redraw.
        """
        r = self.receiver
        age = r.last_frame_age()
        # Coarser once stale, so an idle panel redraws once a second, not every tick.
        if age is None:
            age_text = "no packets yet"
        elif age < STALE_AFTER:
            age_text = "last packet %d ms ago" % (round(age * 100) * 10)
        else:
            age_text = "last packet %d s ago" % int(age)
        latest = r.latest
        rejected = r.rejected
        return (
            ("rate", "%d packets/s" % round(r.packets_per_second())),
            ("age", age_text),
            ("face", None if latest is None else bool(latest.face)),
            ("rejected_total", r.rejected_total),
            ("rejected", ", ".join("%s %d" % kv for kv in sorted(rejected.items()) if kv[1])),
            ("recorded", len(self.recorder) if self.recorder is not None else None),
        )

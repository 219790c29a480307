"""`python -m tracker_service` and the vstream-tracker command."""

import sys

from .huge_pages import restart_with_huge_pages


def main():
    restart_with_huge_pages()   # first: restarting before the heavy imports costs only an interpreter's start
    try:
        from .cli import main as run
    except ImportError as e:
        # A Python without the tracker's binary parts (dlib, OpenCV, numpy): one line that says
        # which one and where this Python looked, not a traceback.
        print("vstream-tracker: error: cannot import %s with %s (Python %d.%d): %s" % (
            e.name or "a module", sys.executable, *sys.version_info[:2], e), file=sys.stderr)
        return 1
    return run()


if __name__ == "__main__":
    raise SystemExit(main())

import sys

try:
    from .cli import main
except ImportError as e:
    # A Python without the tracker's binary parts (dlib, OpenCV, numpy): one line that says
    # which one and where this Python looked, not a traceback.
    print("vstream-tracker: error: cannot import %s with %s (Python %d.%d): %s" % (
        e.name or "a module", sys.executable, *sys.version_info[:2], e), file=sys.stderr)
    raise SystemExit(1)

raise SystemExit(main())

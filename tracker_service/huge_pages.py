"""dlib's shape predictor in huge pages: the same numbers in less time (Linux, glibc 2.35 or later).

The 68-point model is some 90 MB of small heap blocks (a vector for every leaf of
its regression trees), and each frame reads thousands of them scattered over
it: with 4 KB memory pages nearly every read also misses the processor's page
table cache (TLB). glibc's malloc puts its heap in 2 MB transparent huge pages
when the tunable glibc.malloc.hugetlb=1 is set, and glibc reads tunables only
when a process starts. So the tracker's entry point restarts itself once, first
thing (os.execv: the same process id, arguments, environment plus the tunable,
and open files; before the heavy imports, so the restart costs an interpreter
start). Measured with two trackers at once on the two cores of the loaded machine
here, one with and one without, four pairs (webcam_cap12 at 640x480): the shape
predictor's median 10-33% lower (2.07-2.80 -> 1.78-1.97 ms a frame), the
process's CPU time 3-16% lower; the takes byte for byte the same. The price is at
the start: 0.03 s for the restart and about as much again for faulting in the
huge pages, 0.115 s of CPU time in all (median of 8 pairs; docs/BENCHMARKS.md).

Elsewhere (Windows, macOS, musl, an older glibc) nothing happens, and a
GLIBC_TUNABLES that already names the tunable is the user's choice: it is kept
(glibc.malloc.hugetlb=0 turns this off). With transparent huge pages off in the
kernel the tunable does nothing.
"""

import os
import sys

TUNABLE = "glibc.malloc.hugetlb"
MIN_GLIBC = (2, 35)   # the first glibc with the tunable (older ones ignore it; no restart for them)


def wanted(environ=None):
    """Whether this process should restart with the tunable."""
    environ = os.environ if environ is None else environ
    if not sys.platform.startswith("linux") or TUNABLE in environ.get("GLIBC_TUNABLES", ""):
        return False
    try:
        library, version = os.confstr("CS_GNU_LIBC_VERSION").split()
        return library == "glibc" and tuple(int(v) for v in version.split(".")[:2]) >= MIN_GLIBC
    except (AttributeError, OSError, ValueError):   # no confstr, or not glibc (musl has no such name)
        return False


def with_tunable(environ):
    """A copy of `environ` with the tunable set (after any the user set)."""
    tunables = environ.get("GLIBC_TUNABLES")
    setting = TUNABLE + "=1"
    return dict(environ, GLIBC_TUNABLES=setting if not tunables else tunables + ":" + setting)


def restart_with_huge_pages():
    """Restart this process with the tunable when wanted(); return only if it did not (then
    the tracker runs on as before). Call it first thing in an entry point, never from code
    another program runs in its own process (a test calling cli.main)."""
    argv = getattr(sys, "orig_argv", None)   # Python 3.10+: the command line as the OS gave it
    if not argv or not wanted():
        return
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(sys.executable, argv, with_tunable(os.environ))
    except OSError:
        pass   # no restart: the tracker works the same without huge pages


def without_tunable(environ):
    """A copy of `environ` without what with_tunable() added: for a benchmark, restarted itself,
    to start the tracker as a user's shell would (the restart's cost included)."""
    tunables = [t for t in environ.get("GLIBC_TUNABLES", "").split(":") if t and t != TUNABLE + "=1"]
    out = {k: v for k, v in environ.items() if k != "GLIBC_TUNABLES"}
    if tunables:
        out["GLIBC_TUNABLES"] = ":".join(tunables)
    return out

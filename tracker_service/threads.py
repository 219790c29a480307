"""One thread for the tracker's numerical work.

numpy's OpenBLAS starts a thread per core and, after each product, its threads
spin waiting for the next one. The tracker's products are small (the expression
model's three nets, 143 x 256 and 256 x 47, one row each): on this 2-core machine, unpinned, a
4,800-frame clip took 72 s user and 39 s system time with them, 58 s and 7 s
with one thread (issue 18). On a user's 8- or 16-core machine that is more
threads spinning beside the game or the stream they run. OpenCV's own pool
is set to one thread too, as a precaution: its per-frame calls (a grayscale of
the face region, a solvePnP, the eye crops) are too small to share out. One
thread gives the same results to the bit; benchmarks/tracker_speed.py measures
the whole process's user and system time.

threadpoolctl sets the BLAS library's thread count where numpy loaded it,
whatever was imported first (OPENBLAS_NUM_THREADS only works before numpy is
imported).
"""

import cv2
import numpy  # noqa: F401 (loads the BLAS library threadpoolctl sets)
from threadpoolctl import threadpool_limits


def one_thread():
    """From now on, numpy's BLAS and OpenCV use one thread in this process."""
    threadpool_limits(limits=1, user_api="blas")
    cv2.setNumThreads(1)

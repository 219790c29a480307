"""The trained reference's weights per clip, computed once and cached.

MediaPipe FaceLandmarker's ARKit-52 blendshapes (a development-time reference and
teacher, never a runtime dependency): run by tools/reference/blendshapes.py in its own
virtualenv (.venv-ref, made by tools/reference/setup.sh), cached under
.cache/reference/ by clip name and content.
"""

import argparse
import hashlib
import json
import os
import subprocess

import numpy as np

from common import DATA, ROOT

CACHE = os.path.join(ROOT, ".cache", "reference")
REF_PYTHON = os.path.join(ROOT, ".venv-ref", "bin", "python")
SCRIPT = os.path.join(ROOT, "tools", "reference", "blendshapes.py")
SPLIT_FILE = os.path.join(ROOT, "tests", "fixtures", "expression_split.json")
PARTS = ("tuning", "validation", "test")
FOLDERS = ("video", "pool", "people")   # ../shared/data's folders the split names clips from


def split():
    """{part: [clip path, ...]} from tests/fixtures/expression_split.json, every folder it names."""
    with open(SPLIT_FILE) as f:
        spec = json.load(f)
    return {part: [os.path.join(DATA, folder, name) for folder in FOLDERS
                   for name in spec[part].get(folder, ())] for part in PARTS}


def parts_from_args(argv=None):
    """The parts a benchmark's --parts names (default: all three, in this order)."""
    p = argparse.ArgumentParser()
    p.add_argument("--parts", default=",".join(PARTS), help="comma-separated parts of the split")
    return p.parse_args(argv).parts.split(",")


def ensure_venv():
    if not os.path.exists(REF_PYTHON):
        subprocess.run(["bash", os.path.join(ROOT, "tools", "reference", "setup.sh")], check=True)


def weights(path, mirror=False):
    """(weights (frames, 52) float32 in ARKit order, NaN where no face; found (frames,) bool)."""
    with open(path, "rb") as f:   # by content: a copied ../shared keeps its cache
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    key = "%s.%s%s.npz" % (os.path.basename(path), digest, ".mirror" if mirror else "")
    cached = os.path.join(CACHE, key)
    if not os.path.exists(cached):
        ensure_venv()
        os.makedirs(CACHE, exist_ok=True)
        tmp = cached + ".tmp.npz"
        subprocess.run([REF_PYTHON, SCRIPT, path, tmp] + (["--mirror"] if mirror else []), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env=dict(os.environ, GLOG_minloglevel="2", TF_CPP_MIN_LOG_LEVEL="2"))
        os.replace(tmp, cached)
    data = np.load(cached)
    return data["weights"], data["found"]

"""The trained reference's ARKit weights for every frame of a video (run in .venv-ref).

    .venv-ref/bin/python tools/reference/blendshapes.py VIDEO OUT.npz [--mirror]

MediaPipe FaceLandmarker with its blendshape head (../shared/models/face_landmarker.task)
in VIDEO mode, one face. OUT.npz holds `weights` (frames, 52) in vstream's ARKit order
(vstream_addon's channel list, read as text so this runs without the project's
dependencies) and `found` (frames,) bool; frames without a face have weights NaN.
--mirror flips every frame left-right first (training data for the mirrored face).
Development only: never imported by the tracker or the add-on.
"""

import argparse
import ast
import os

import cv2
import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions, vision

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(os.path.dirname(ROOT), "shared", "models", "face_landmarker.task")


def arkit_names():
    """ARKIT_NAMES from the add-on's channel list, parsed, not imported."""
    for base in ("vstream_addon/shared/arkit.py", "vstream_addon/arkit.py"):
        path = os.path.join(ROOT, base)
        if os.path.exists(path):
            tree = ast.parse(open(path, encoding="utf-8").read())
            for node in tree.body:
                if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "ARKIT_NAMES":
                    return ast.literal_eval(node.value)
    raise SystemExit("ARKIT_NAMES not found")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("video")
    p.add_argument("out")
    p.add_argument("--mirror", action="store_true")
    args = p.parse_args()
    names = arkit_names()
    cap = cv2.VideoCapture(args.video)
    if not cap.isOpened():
        raise SystemExit("cannot open %s" % args.video)
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    options = vision.FaceLandmarkerOptions(base_options=BaseOptions(model_asset_path=MODEL),
                                           running_mode=vision.RunningMode.VIDEO, num_faces=1,
                                           output_face_blendshapes=True)
    weights, found = [], []
    with vision.FaceLandmarker.create_from_options(options) as landmarker:
        i = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if args.mirror:
                frame = cv2.flip(frame, 1)
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            result = landmarker.detect_for_video(image, int(round(i * 1000.0 / fps)))
            if result.face_blendshapes:
                scores = {c.category_name: c.score for c in result.face_blendshapes[0]}
                weights.append([scores.get(n, 0.0) for n in names])
                found.append(True)
            else:
                weights.append([np.nan] * len(names))
                found.append(False)
            i += 1
    np.savez_compressed(args.out, weights=np.asarray(weights, np.float32).reshape(-1, len(names)),
                        found=np.asarray(found, bool))


if __name__ == "__main__":
    main()

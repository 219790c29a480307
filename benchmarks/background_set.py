"""Face-free images made from ../shared/data, the same every run (nothing is stored).

The 225 background frames the detector's fallback threshold was first set on were
never committed, so this set replaces them with one anyone can rebuild. From every
clip in video/ and pool/ (42 clips), FRAMES_PER_CLIP frames evenly spread over the
clip; in each, plain dlib (detector at score 0, full resolution, then the 68-point
predictor) finds the face and the head is taken as the landmarks' box grown by
HEAD_MARGIN of its size to each side, HEAD_TOP above (hair) and HEAD_BOTTOM below
(chin, neck). Two images per frame:

- "cut": the whole frame with the head box filled in from its surroundings
  (OpenCV's Telea inpainting, on a copy at most INPAINT_WIDTH wide, then scaled back):
  the scene and the shoulders as the camera sees them, without a face. Only when the
  head box covers at most MAX_CUT of the frame: close-ups leave nothing to fill it from;
- "beside": the largest band of the frame left, right, above or below the head box,
  when its shorter side is at least MIN_SIDE pixels (the detector's smallest face is
  80 px): real background at the camera's own scale.

Frames where plain dlib finds no face, or more than one, are skipped: a face left
in the picture would count as a false detection.

Also dlib_examples_painted(): dlib's nine PASCAL VOC example photos (stills/dlib_examples,
parties and dinners) with every face its training.xml / testing.xml marks painted out
the same way, its box grown like a head box: busy real scenes without a face.
"""

import functools
import glob
import os
import re

import cv2
import numpy as np

from common import DATA

from tracker_service.landmarks import models, shape_to_array

FRAMES_PER_CLIP = 10
HEAD_MARGIN = 0.5
HEAD_TOP = 0.9
HEAD_BOTTOM = 0.6
MIN_SIDE = 120
INPAINT_WIDTH = 240
MAX_CUT = 0.5


def clips():
    return sorted(glob.glob(os.path.join(DATA, "video", "*.mp4"))) + \
        sorted(p for p in glob.glob(os.path.join(DATA, "pool", "*")) if p.endswith((".mp4", ".mpg")))


def sampled_frames(path, n=FRAMES_PER_CLIP):
    """(index, BGR frame) for n frames evenly spread over the clip, read in order
    (seeking is not frame-exact in every container, nor is the frame count it reports)."""
    cap = cv2.VideoCapture(path)
    count = 0
    while cap.grab():
        count += 1
    cap.release()
    picks = [int((i + 0.5) * count / n) for i in range(n)]
    cap = cv2.VideoCapture(path)
    out = []
    for index in range(count):
        if not cap.grab():
            break
        if index in picks:
            out.append((index, cap.retrieve()[1]))
    cap.release()
    return out


def head_box(points, shape):
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    size = max(x1 - x0, y1 - y0)
    h, w = shape[:2]
    return (max(0, int(x0 - HEAD_MARGIN * size)), max(0, int(y0 - HEAD_TOP * size)),
            min(w, int(x1 + HEAD_MARGIN * size)), min(h, int(y1 + HEAD_BOTTOM * size)))


def cut_out(frame, box):
    x0, y0, x1, y1 = box
    h, w = frame.shape[:2]
    s = min(1.0, INPAINT_WIDTH / float(w))
    small = cv2.resize(frame, (int(round(w * s)), int(round(h * s))), interpolation=cv2.INTER_AREA)
    mask = np.zeros(small.shape[:2], np.uint8)
    mask[int(y0 * s):int(np.ceil(y1 * s)), int(x0 * s):int(np.ceil(x1 * s))] = 255
    filled = cv2.resize(cv2.inpaint(small, mask, 5, cv2.INPAINT_TELEA), (w, h), interpolation=cv2.INTER_LINEAR)
    out = frame.copy()
    out[y0:y1, x0:x1] = filled[y0:y1, x0:x1]
    return out


def beside(frame, box):
    x0, y0, x1, y1 = box
    h, w = frame.shape[:2]
    bands = [(0, 0, x0, h), (x1, 0, w, h), (0, 0, w, y0), (0, y1, w, h)]
    bands = [b for b in bands if min(b[2] - b[0], b[3] - b[1]) >= MIN_SIDE]
    if not bands:
        return None
    bx0, by0, bx1, by1 = max(bands, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    return np.ascontiguousarray(frame[by0:by1, bx0:bx1])


@functools.lru_cache(maxsize=1)
def images():
    """[(name, kind, BGR image)], kind "cut" or "beside" (made once per process: ~2 minutes)."""
    detector, predictor = models()
    out = []
    for path in clips():
        clip = os.path.basename(path)
        for index, frame in sampled_frames(path):
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            faces = detector(gray, 0)
            if len(faces) != 1:
                continue
            points = shape_to_array(predictor(gray, faces[0]))
            box = head_box(points, frame.shape)
            if (box[2] - box[0]) * (box[3] - box[1]) <= MAX_CUT * frame.shape[0] * frame.shape[1]:
                out.append(("%s#%d" % (clip, index), "cut", cut_out(frame, box)))
            band = beside(frame, box)
            if band is not None:
                out.append(("%s#%d" % (clip, index), "beside", band))
    return out


def dlib_examples_painted():
    """[(name, BGR image)]: the PASCAL VOC photos of stills/dlib_examples, marked faces painted out."""
    folder = os.path.join(DATA, "stills", "dlib_examples")
    boxes = {}
    for xml in ("training.xml", "testing.xml"):
        text = open(os.path.join(folder, xml)).read()
        for image in re.finditer(r"<image file='([^']+)'.*?</image>", text, re.S):
            boxes.setdefault(image.group(1), []).extend(
                tuple(int(v) for v in b) for b in
                re.findall(r"<box top='(\d+)' left='(\d+)' width='(\d+)' height='(\d+)'", image.group(0)))
    out = []
    for name in sorted(boxes):
        image = cv2.imread(os.path.join(folder, name))
        h, w = image.shape[:2]
        for top, left, bw, bh in boxes[name]:
            size = max(bw, bh)
            image = cut_out(image, (max(0, int(left - HEAD_MARGIN * size)), max(0, int(top - HEAD_TOP * size)),
                                    min(w, int(left + bw + HEAD_MARGIN * size)),
                                    min(h, int(top + bh + HEAD_BOTTOM * size))))
        out.append((name, image))
    return out


if __name__ == "__main__":
    import sys
    found = images()
    print("%d images: %d cut, %d beside" % (len(found), sum(k == "cut" for _, k, _ in found),
                                            sum(k == "beside" for _, k, _ in found)))
    if len(sys.argv) > 1:   # a folder: write them there to look at (never into the repository)
        for name, kind, image in found:
            cv2.imwrite(os.path.join(sys.argv[1], "%s_%s.png" % (name.replace("#", "_"), kind)), image)
        for name, image in dlib_examples_painted():
            cv2.imwrite(os.path.join(sys.argv[1], "painted_" + name.replace(".jpg", ".png")), image)

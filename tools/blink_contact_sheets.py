"""Contact sheets of eye crops, to label (or re-check) eyes open/closed per frame.

For every frame of a video, crops a box around both eyes (landmarks 36-47 of a
take file, or with --brows also 17-26), upscales it, stamps the frame number
on it and tiles the crops into PNG contact sheets of COLS x ROWS crops. The
landmarks only place the crop: nothing from the tracker's weights is read or
drawn (unless --weights asks), so the sheets can judge the blink detector independently.

These sheets are how tests/fixtures/blink_labels.json was made (see
tests/fixtures/README.md). Make the take first:
    vstream-tracker --source clip.mp4 --out /tmp/clip.jsonl --no-preview --fast
then:
    # eyes only, 6 x 12 crops of 256x64 per sheet (the main labelling pass)
    python tools/blink_contact_sheets.py clip.mp4 /tmp/clip.jsonl --out /tmp/blink_sheets
    # eyes and brows, 6 x 10 crops of 256x80 (second pass, shows head motion)
    python tools/blink_contact_sheets.py clip.mp4 /tmp/clip.jsonl --out /tmp/blink_brows --brows
    # zoom on a candidate blink, frames 636..648, three 480x120 crops per row
    python tools/blink_contact_sheets.py clip.mp4 /tmp/clip.jsonl --out /tmp/blink_zoom \
        --frames 636 648 --size 480 120 --cols 3 --pad 0.2
    # overlay the committed labels (red border = closed, yellow = ambiguous)
    python tools/blink_contact_sheets.py clip.mp4 /tmp/clip.jsonl \
        --labels tests/fixtures/blink_labels.json
    # check the tracker instead: stamp the take's eyeBlinkLeft / eyeBlinkRight on each crop
    # (the subject's left eye is on the image's right)
    python tools/blink_contact_sheets.py clip.mp4 /tmp/clip.jsonl --weights --frames 25 35

Frames whose take line has no landmarks reuse the last known eye box and are
marked "no face" on the sheet. Sheets are named <clip>_<first>-<last>.png.
"""

import argparse
import json
import os

import cv2
import numpy as np

BROW_POINTS = list(range(17, 27))
EYE_POINTS = list(range(36, 48))  # both eyes, iBUG 68 order, 0-based
LABEL_H = 14  # pixels of the frame-number strip above each crop
CLOSED_BGR = (0, 0, 255)
AMBIGUOUS_BGR = (0, 220, 255)


def read_take(path):
    """(frame index -> 68x2 landmark array, or None where the take has no face;
    frame index -> {weight name: value})."""
    out, weights = {}, {}
    with open(path) as f:
        for line in f:
            d = json.loads(line)
            if "frame" not in d:
                continue  # header line
            lm = d.get("landmarks")
            out[int(d["frame"])] = None if lm is None else np.asarray(lm, dtype=float)
            weights[int(d["frame"])] = d.get("weights", {})
    return out, weights


def eye_box(lm, aspect, pad, brows=False):
    """Box (x0, y0, x1, y1) around the eyes (and brows), padded, with width/height = aspect."""
    pts = lm[BROW_POINTS + EYE_POINTS] if brows else lm[EYE_POINTS]
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    if brows:
        y1 += 0.5 * (y1 - y0)  # show some cheek below the lower lids too
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    w = (x1 - x0) * (1 + pad)
    h = (y1 - y0) * (1 + pad)
    if w / h > aspect:
        h = w / aspect
    else:
        w = h * aspect
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def crop(frame, box, size):
    """Crop box and resize to size (w, h); parts outside the frame are grey."""
    x0, y0, x1, y1 = box
    w, h = size
    sx, sy = w / (x1 - x0), h / (y1 - y0)
    m = np.array([[sx, 0, -x0 * sx], [0, sy, -y0 * sy]], dtype=np.float32)
    return cv2.warpAffine(frame, m, (w, h), flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(96, 96, 96))


def load_marks(path, clip):
    """Frame -> border colour from a blink_labels.json entry for this clip."""
    if not path:
        return {}
    with open(path) as f:
        entry = json.load(f).get(clip, {})
    marks = {}
    for key, colour in (("ambiguous", AMBIGUOUS_BGR), ("closed", CLOSED_BGR)):
        for a, b in entry.get(key, []):
            for i in range(a, b + 1):
                marks[i] = colour
    return marks


def write_sheet(path, tiles, cols, size):
    """tiles: list of (caption, image, border colour or None)."""
    w, h = size
    rows = (len(tiles) + cols - 1) // cols
    sheet = np.full((rows * (h + LABEL_H), cols * w, 3), 255, np.uint8)
    for k, (caption, img, colour) in enumerate(tiles):
        r, c = divmod(k, cols)
        y, x = r * (h + LABEL_H), c * w
        sheet[y + LABEL_H:y + LABEL_H + h, x:x + w] = img
        cv2.putText(sheet, caption, (x + 2, y + 11), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4, (0, 0, 0), 1, cv2.LINE_AA)
        if colour is not None:
            cv2.rectangle(sheet, (x + 1, y + LABEL_H + 1), (x + w - 2, y + LABEL_H + h - 2), colour, 3)
        # thin white separator so neighbouring crops do not merge
        cv2.rectangle(sheet, (x, y + LABEL_H), (x + w - 1, y + LABEL_H + h - 1), (255, 255, 255), 1)
    cv2.imwrite(path, sheet)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("video")
    ap.add_argument("take", help="take .jsonl written by vstream-tracker --out (for the landmarks)")
    ap.add_argument("--out", default="/tmp/blink_sheets", help="folder for the PNGs (default /tmp/blink_sheets)")
    ap.add_argument("--brows", action="store_true", help="include the eyebrows in the crop")
    ap.add_argument("--cols", type=int, default=6)
    ap.add_argument("--rows", type=int, help="rows per sheet (default 12, or 10 with --brows)")
    ap.add_argument("--size", type=int, nargs=2, metavar=("W", "H"),
                    help="crop size in pixels (default 256 64, or 256 80 with --brows)")
    ap.add_argument("--pad", type=float, help="relative padding of the box (default 0.3, or 0.05 with --brows)")
    ap.add_argument("--frames", type=int, nargs=2, metavar=("FIRST", "LAST"),
                    help="only this inclusive, 0-based frame range")
    ap.add_argument("--labels", help="blink_labels.json to overlay (red border = closed, yellow = ambiguous)")
    ap.add_argument("--weights", action="store_true",
                    help="stamp the take's eyeBlinkLeft / eyeBlinkRight (the subject's) on each crop")
    args = ap.parse_args(argv)

    rows = args.rows or (10 if args.brows else 12)
    size = tuple(args.size or ((256, 80) if args.brows else (256, 64)))
    pad = args.pad if args.pad is not None else (0.05 if args.brows else 0.3)
    first, last = args.frames if args.frames else (0, float("inf"))

    clip = os.path.basename(args.video)
    stem = os.path.splitext(clip)[0]
    take, take_weights = read_take(args.take)
    marks = load_marks(args.labels, clip)
    per_sheet = args.cols * rows
    os.makedirs(args.out, exist_ok=True)

    cap = cv2.VideoCapture(args.video)
    if not cap.isOpened():
        raise SystemExit(f"cannot open {args.video}")
    tiles, frames_in_sheet, written = [], [], []
    last_box, idx = None, -1

    def flush():
        if tiles:
            name = os.path.join(args.out, f"{stem}_{frames_in_sheet[0]:05d}-{frames_in_sheet[-1]:05d}.png")
            write_sheet(name, tiles, args.cols, size)
            written.append(name)
            tiles.clear()
            frames_in_sheet.clear()

    while True:
        ok, frame = cap.read()
        if not ok:
            break
        idx += 1
        lm = take.get(idx)
        if lm is not None:
            last_box = eye_box(lm, size[0] / size[1], pad, brows=args.brows)
        if idx < first:
            continue
        if idx > last:
            break
        img = np.full((size[1], size[0], 3), 96, np.uint8) if last_box is None else crop(frame, last_box, size)
        caption = f"{idx}" + ("  no face" if lm is None else "")
        if args.weights and lm is not None:
            w = take_weights.get(idx, {})
            caption += "  L %.2f  R %.2f" % (w.get("eyeBlinkLeft", float("nan")), w.get("eyeBlinkRight", float("nan")))
        tiles.append((caption, img, marks.get(idx)))
        frames_in_sheet.append(idx)
        if len(tiles) == per_sheet:
            flush()
    flush()
    cap.release()
    print(f"{len(written)} sheets in {args.out}")
    for name in written:
        print(name)


if __name__ == "__main__":
    main()

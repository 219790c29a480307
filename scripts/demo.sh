#!/usr/bin/env bash
# The main job: installs what it needs, then tracks a real webcam clip, drives the avatar
# in Blender, bakes an Action, saves out/demo.blend and renders out/demo_side_by_side.mp4.
# Extra arguments go to scripts/demo.py (e.g. --source my_face.mp4, --max-frames 200).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HOME="${VSTREAM_BLENDER_HOME:-$PWD/.cache/blender-home}"  # Blender keeps its prefs here, not in yours
mkdir -p "$HOME"
exec .venv/bin/python scripts/demo.py "$@"

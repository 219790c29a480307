#!/usr/bin/env bash
# Makes .venv-ref: MediaPipe 0.10.21 for the trained reference (../shared/models/face_landmarker.task).
# Development only: the expression benchmark and the training script use it; the tracker, the
# add-on and the tests CI runs never do. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x .venv-ref/bin/python ] || ! .venv-ref/bin/python -c "import mediapipe" 2>/dev/null; then
  echo "reference: creating .venv-ref (mediapipe 0.10.21)"
  ${PYTHON:-python3} -m venv .venv-ref
  .venv-ref/bin/pip install -q mediapipe==0.10.21
fi

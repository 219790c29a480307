#!/usr/bin/env bash
# Makes .venv-peers: the Python that runs other projects' face trackers from
# ../shared/peers (OpenSeeFace's facetracker.py) in the interoperability tests.
# Their requirements (onnxruntime, numpy < 2...) stay out of vstream's own .venv.
# Called by `scripts/setup.sh --tests`; safe to run again (skips an up-to-date venv).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
DIR=.venv-peers
WANT=$(sha256sum requirements-peers.txt | cut -d' ' -f1)
if [ -x "$DIR/bin/python" ] && [ "$(cat "$DIR/.requirements.sha" 2>/dev/null)" = "$WANT" ]; then
  exit 0
fi
[ -x "$DIR/bin/python" ] || { echo "setup: creating $DIR"; "$PY" -m venv "$DIR"; }
echo "setup: installing the peers' requirements (OpenSeeFace: onnxruntime, opencv, numpy<2, pillow) into $DIR"
"$DIR/bin/pip" install -q --upgrade pip
"$DIR/bin/pip" install -q -r requirements-peers.txt
echo "$WANT" > "$DIR/.requirements.sha"

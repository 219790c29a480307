#!/usr/bin/env bash
# The test command: installs what the tests need (apt packages, .venv), builds the add-on
# zips, then runs every test against real Blender and the real footage in ../shared/data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python build_addon.py
exec .venv/bin/python -m pytest -q -p no:cacheprovider tests "$@"

#!/usr/bin/env bash
# The test command: installs what the tests need (apt packages, .venv, .venv-bpy45), builds
# the add-on zips, then runs every test against real Blenders (5.0 and 4.5 LTS modules, 3.4)
# and the real footage in ../shared/data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --tests
.venv/bin/python build_addon.py
exec .venv/bin/python -m pytest -q -p no:cacheprovider tests "$@"

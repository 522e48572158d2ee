#!/usr/bin/env bash
# Create .venv and install the Python packages. Usage: scripts/setup.sh [runtime|test]
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-runtime}"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
req=requirements.txt
[ "$kind" = test ] && req=requirements-test.txt
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"

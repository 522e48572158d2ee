#!/usr/bin/env bash
# Set everything up and run the whole test suite (unit, AppTest, and real-browser tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
bash scripts/install_system_packages.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"

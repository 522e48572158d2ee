#!/usr/bin/env bash
# Set everything up and start the playground on http://localhost:8501
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh runtime
exec .venv/bin/streamlit run playground/app.py "$@"

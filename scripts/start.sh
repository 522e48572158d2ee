#!/usr/bin/env bash
# Set everything up and start the playground on http://localhost:8501
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh runtime
# Offline MNIST: use the project's shared copy when there is one and nothing else is configured.
if [ -z "${BACKPROP_PLAYGROUND_DATA:-}" ] && [ -d ../shared/data/mnist ]; then
    export BACKPROP_PLAYGROUND_DATA="$(cd ../shared/data && pwd)"
fi
exec .venv/bin/streamlit run playground/server.py "$@"

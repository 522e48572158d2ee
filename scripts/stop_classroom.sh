#!/usr/bin/env bash
# Stop what scripts/serve_classroom.sh started (nginx and the app processes), by pid file.
#   RUN_DIR=/tmp/backprop-classroom scripts/stop_classroom.sh
set -uo pipefail
RUN_DIR=${RUN_DIR:-/tmp/backprop-classroom}

stop_pid() {  # pidfile signal
    local file=$1 pid
    [ -f "$file" ] || return 0
    pid=$(cat "$file")
    if kill -0 "$pid" 2>/dev/null; then
        kill "-$2" "$pid" 2>/dev/null
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    fi
    rm -f "$file"
}

stop_pid "$RUN_DIR/nginx.pid" TERM  # fast shutdown: live websockets would hold QUIT
for file in "$RUN_DIR"/app-*.pid; do
    stop_pid "$file" TERM
done
echo "stopped (run dir $RUN_DIR)"

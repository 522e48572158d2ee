#!/usr/bin/env bash
# Serve the playground to a classroom: P app processes behind nginx with sticky sessions;
# nginx serves Streamlit's static files itself.
#
#   scripts/serve_classroom.sh [P]        # default P=2; stop with scripts/stop_classroom.sh
#
# App processes listen on 127.0.0.1:FIRST_APP_PORT.. (default 8601..), nginx on LISTEN
# (default 127.0.0.1:8600). Everything (pids, logs, the rendered nginx.conf) goes to
# RUN_DIR (default /tmp/backprop-classroom). Environment overrides: LISTEN, LISTEN_PORT,
# FIRST_APP_PORT, RUN_DIR, NGINX_BIN (default /usr/sbin/nginx).
set -euo pipefail
cd "$(dirname "$0")/.."

P=${1:-2}
LISTEN_PORT=${LISTEN_PORT:-8600}
LISTEN=${LISTEN:-127.0.0.1:$LISTEN_PORT}
FIRST_APP_PORT=${FIRST_APP_PORT:-$((LISTEN_PORT + 1))}
RUN_DIR=${RUN_DIR:-/tmp/backprop-classroom}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
PY=.venv/bin/python

case "$P" in '' | *[!0-9]* | 0) echo "usage: $0 [number of app processes >= 1]" >&2; exit 2 ;; esac
[ -x "$NGINX_BIN" ] || { echo "nginx not found at $NGINX_BIN (apt-get install nginx)" >&2; exit 1; }
[ -x "$PY" ] || { echo "no $PY: run scripts/setup.sh first" >&2; exit 1; }
if [ -f "$RUN_DIR/nginx.pid" ] && kill -0 "$(cat "$RUN_DIR/nginx.pid")" 2>/dev/null; then
    echo "already running (RUN_DIR=$RUN_DIR): scripts/stop_classroom.sh first" >&2
    exit 1
fi
mkdir -p "$RUN_DIR/tmp"
trap 'echo "failed: stopping what was started" >&2; RUN_DIR="$RUN_DIR" bash scripts/stop_classroom.sh' ERR
rm -f "$RUN_DIR"/app-*.pid "$RUN_DIR/ports"

wait_healthy() {  # url seconds
    "$PY" - "$1" "$2" <<'EOF'
import sys, time, urllib.request
url, deadline = sys.argv[1], time.monotonic() + float(sys.argv[2])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
while time.monotonic() < deadline:
    try:
        with opener.open(url + "/_stcore/health", timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except OSError:
        time.sleep(0.3)
sys.exit(f"{url} did not become healthy")
EOF
}

ports=()
for i in $(seq 0 $((P - 1))); do
    port=$((FIRST_APP_PORT + i))
    # No file watcher: a served app must not reload modules under running sessions.
    STREAMLIT_SERVER_FILE_WATCHER_TYPE=none setsid "$PY" -m streamlit run playground/server.py --server.port "$port" \
        --server.address 127.0.0.1 --server.headless true \
        >"$RUN_DIR/app-$port.log" 2>&1 </dev/null &
    echo $! >"$RUN_DIR/app-$port.pid"
    echo "$port" >>"$RUN_DIR/ports"
    ports+=("$port")
done

# Streamlit's frontend for nginx to serve: a copy of the installed package's static folder,
# with a gzipped twin of each text file (gzip_static), made while the apps start.
STATIC_DIR="$RUN_DIR/static"
rm -rf "$STATIC_DIR"
cp -r "$("$PY" -c 'import os, streamlit; print(os.path.dirname(streamlit.__file__))')/static" "$STATIC_DIR"
# The live view's plotly.js (the plotly package's own file) at the URL the app gives it, so
# that nginx serves it too.
read -r PLOTLY_URL PLOTLY_FILE < <("$PY" -c 'from playground.liveview.component import PLOTLY_DIR, plotly_url
print(plotly_url(), PLOTLY_DIR / "plotly.min.js")' 2>/dev/null)
mkdir -p "$(dirname "$STATIC_DIR$PLOTLY_URL")"
cp "$PLOTLY_FILE" "$STATIC_DIR$PLOTLY_URL"
find "$STATIC_DIR" -type f \( -name '*.js' -o -name '*.css' -o -name '*.html' -o -name '*.json' \
    -o -name '*.svg' -o -name '*.map' -o -name '*.ttf' \) -size +1k -exec gzip -k -6 {} +

# Upstreams: "playground" (every process, for a browser without a cookie) and, per process,
# "bp_PORT" (that process, the others as backups); routes map a bp_route cookie to them.
{
    echo "    upstream playground {"
    echo "        least_conn;"
    for port in "${ports[@]}"; do echo "        server 127.0.0.1:$port max_fails=1 fail_timeout=10s;"; done
    echo "    }"
    for port in "${ports[@]}"; do
        echo "    upstream bp_$port {"
        echo "        server 127.0.0.1:$port max_fails=1 fail_timeout=10s;"
        for other in "${ports[@]}"; do
            [ "$other" = "$port" ] || echo "        server 127.0.0.1:$other max_fails=1 fail_timeout=10s backup;"
        done
        echo "    }"
    done
} >"$RUN_DIR/upstreams"
for port in "${ports[@]}"; do echo "        \"127.0.0.1:$port\" bp_$port;"; done >"$RUN_DIR/routes"

for port in "${ports[@]}"; do
    wait_healthy "http://127.0.0.1:$port" 90
done

sed -e "s|@RUN_DIR@|$RUN_DIR|g" -e "s|@LISTEN@|$LISTEN|g" -e "s|@STATIC_DIR@|$STATIC_DIR|g" \
    -e "s|@PLOTLY_URL@|$PLOTLY_URL|g" \
    -e "s|@USER@|$(id -un)|g" \
    -e "/^@UPSTREAMS@$/{r $RUN_DIR/upstreams" -e "d}" \
    -e "/^@ROUTES@$/{r $RUN_DIR/routes" -e "d}" \
    deploy/nginx.conf.template >"$RUN_DIR/nginx.conf"
nginx_args=(-p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" -e "$RUN_DIR/error.log")
env -u NGINX "$NGINX_BIN" -t -q "${nginx_args[@]}"
env -u NGINX "$NGINX_BIN" "${nginx_args[@]}" </dev/null  # daemonizes; its pid file is $RUN_DIR/nginx.pid
wait_healthy "http://$LISTEN" 30

echo "Backprop Playground for a classroom: http://$LISTEN  ($P app processes:" \
    "$(tr '\n' ' ' <"$RUN_DIR/ports"| sed 's/ $//'); run dir $RUN_DIR)"

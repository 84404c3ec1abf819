#!/usr/bin/env bash
# A private Virtuoso for the integration tests (issue 4): its own database folder and INI in a
# temporary directory, listening on free loopback ports only, SPARQL updates granted.
#
#   eval "$(bash .ci/virtuoso.sh start)"   # installs Debian's virtuoso-opensource if missing
#   bash .ci/virtuoso.sh stop              # stops it (by the PID start exported), removes the folder
#
# `start` prints only `export NAME=value` lines on stdout (everything else goes to stderr):
#   MCKG_VIRTUOSO_URL   the SPARQL endpoint, e.g. http://127.0.0.1:40123/sparql
#   MCKG_VIRTUOSO_ISQL  host:port of its SQL server (isql-vt, the bulk loader)
#   MCKG_VIRTUOSO_PID   the virtuoso-t process, MCKG_VIRTUOSO_DIR its folder (used by `stop`)
# Run as root in CI (to install the package); any user can start it once it is installed.
set -euo pipefail

log() { echo "virtuoso.sh: $*" >&2; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Bounded wait until the SPARQL endpoint answers an ASK; returns 1 if it never does.
wait_for_sparql() {
  local url=$1 pid=$2 seconds=$3
  python3 - "$url" "$pid" "$seconds" <<'EOF'
import os, sys, time, urllib.parse, urllib.request
url, pid, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + seconds
query = urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"})
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(1)  # the server died: no point in waiting
    try:
        with urllib.request.urlopen(f"{url}?{query}", timeout=5) as response:
            if response.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.5)
sys.exit(1)
EOF
}

start() {
  export DEBIAN_FRONTEND=noninteractive
  if ! command -v virtuoso-t >/dev/null || ! command -v isql-vt >/dev/null; then
    log "installing virtuoso-opensource"
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends virtuoso-opensource >&2
  fi
  local template=/etc/virtuoso-opensource-7/virtuoso.ini
  [ -f "$template" ] || { log "no $template"; exit 1; }

  local dir sql_port http_port ini
  dir=$(mktemp -d "${TMPDIR:-/tmp}/mckg-virtuoso.XXXXXX")
  sql_port=$(free_port)
  http_port=$(free_port)
  while [ "$http_port" = "$sql_port" ]; do http_port=$(free_port); done
  ini="$dir/virtuoso.ini"
  # The package's INI with every file in our folder, both servers on loopback and free ports,
  # no hosting plugins, and answers not cut at 10,000 rows (exports and counts need more).
  sed -e "s|/var/lib/virtuoso-opensource-7/db/|$dir/|g" \
      -e "s|^\(ServerPort *= *\)1111|\1127.0.0.1:$sql_port|" \
      -e "s|^\(ServerPort *= *\)8890|\1127.0.0.1:$http_port|" \
      -e "s|^\(DefaultHost *= *\).*|\1127.0.0.1:$http_port|" \
      -e "s|^\(DirsAllowed *= *\).*|\1., $dir, /usr/share/virtuoso-opensource-7/vad|" \
      -e "s|^\(ResultSetMaxRows *= *\).*|\11000000|" \
      -e "s|^\(MaxQueryExecutionTime *= *\).*|\1120|" \
      -e "s|^\(Load[0-9]* *= *\)|;\1|" \
      "$template" >"$ini"
  grep -q "127.0.0.1:$http_port" "$ini" || { log "could not rewrite $template"; exit 1; }

  log "starting virtuoso-t in $dir (SQL 127.0.0.1:$sql_port, HTTP 127.0.0.1:$http_port)"
  # stdout/stderr to a file: this script's stdout is read by `eval "$(…)"`, which would
  # otherwise wait for the server to close it.
  (cd "$dir" && exec virtuoso-t -f -c "$ini" >"$dir/server.out" 2>&1 </dev/null) &
  local pid=$!
  local url="http://127.0.0.1:$http_port/sparql"
  if ! wait_for_sparql "$url" "$pid" 120; then
    log "Virtuoso did not answer at $url within 120 s; its log:"
    tail -n 40 "$dir/virtuoso.log" "$dir/server.out" >&2 2>/dev/null || true
    kill "$pid" 2>/dev/null || true
    rm -rf "$dir"
    exit 1
  fi
  # A new database has the default dba password; the SPARQL user may then write (mckg loads
  # through the endpoint) and use the bulk loader's folder.
  isql-vt "127.0.0.1:$sql_port" dba dba \
    exec='grant SPARQL_UPDATE to "SPARQL"; grant execute on DB.DBA.SPARQL_INSERT_DICT_CONTENT to "SPARQL"; grant execute on DB.DBA.SPARQL_DELETE_DICT_CONTENT to "SPARQL";' \
    >&2
  log "ready at $url"
  echo "export MCKG_VIRTUOSO_URL=$url"
  echo "export MCKG_VIRTUOSO_ISQL=127.0.0.1:$sql_port"
  echo "export MCKG_VIRTUOSO_PID=$pid"
  echo "export MCKG_VIRTUOSO_DIR=$dir"
}

stop() {
  local pid=${MCKG_VIRTUOSO_PID:-} dir=${MCKG_VIRTUOSO_DIR:-}
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    log "stopping virtuoso-t (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do  # at most 30 s, then SIGKILL
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  case "$dir" in
    */mckg-virtuoso.*) rm -rf "$dir" ;;
  esac
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac

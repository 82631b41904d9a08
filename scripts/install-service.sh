#!/usr/bin/env bash
# The reference's client service installer: `install-service.sh --user` (default) or `--system`,
# through `reach --install-service`. Other arguments are passed on (--config DIR, --no-start).
#   scripts/install-service.sh --user && loginctl enable-linger "$USER"
set -euo pipefail
if [ -n "${REACH_BIN:-}" ]; then
  exec "$REACH_BIN" --install-service "$@"
elif command -v reach >/dev/null 2>&1; then
  exec reach --install-service "$@"
else
  repo=$(cd "$(dirname "$0")/.." && pwd)
  exec "$repo/node_modules/.bin/node" "$repo/packages/client/bin/reach.mjs" --install-service "$@"
fi

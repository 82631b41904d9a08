#!/usr/bin/env bash
# The reference's path to a supervised server: installs reach-mcp.service through
# `reach-server install-service` (system user `reach`, data in /var/lib/reach-server, settings in
# /etc/reach/server.env). Arguments are passed on (--uninstall, --force, --no-start, --exec …).
#   sudo scripts/deploy_mcp_service.sh
#   sudo scripts/deploy_mcp_service.sh --exec /usr/local/bin/reach-server
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
  echo "deploy_mcp_service.sh: run as root (sudo $0 $*)" >&2
  exit 1
fi
if [ -n "${REACH_SERVER_BIN:-}" ]; then
  exec "$REACH_SERVER_BIN" install-service "$@"
elif command -v reach-server >/dev/null 2>&1; then
  exec reach-server install-service "$@"
else
  # From a checkout: the repository's own Node 24 and the server's entry point.
  repo=$(cd "$(dirname "$0")/.." && pwd)
  exec "$repo/node_modules/.bin/node" "$repo/packages/server/bin/reach-server.mjs" install-service "$@"
fi

#!/usr/bin/env bash
# Runs the image built by build-simple.sh: SSH on 2222 (all interfaces), MCP on 127.0.0.1:8765,
# data in the volume reach-data. REACH_API_KEY is required.
#   REACH_API_KEY=$(openssl rand -hex 32) deploy/docker/run-simple.sh
set -euo pipefail
: "${REACH_API_KEY:?set REACH_API_KEY (e.g. export REACH_API_KEY=\$(openssl rand -hex 32))}"
exec docker run -d --name "${REACH_CONTAINER:-reach-server}" --init --restart unless-stopped \
  -e REACH_API_KEY \
  -p "${REACH_SSH_PUBLISH:-2222}:2222" -p "127.0.0.1:${REACH_HTTP_PUBLISH:-8765}:8765" \
  -v reach-data:/data "${REACH_IMAGE:-reach-server:latest}" "$@"

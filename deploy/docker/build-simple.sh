#!/usr/bin/env bash
# Builds the reach-server image from the repository root. BASE overrides the base image
# (default debian:bookworm-slim); extra arguments go to `docker build`.
#   deploy/docker/build-simple.sh
#   BASE=local/debian:bookworm deploy/docker/build-simple.sh --network host
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
exec docker build -f "$repo/deploy/docker/Dockerfile" \
  --build-arg "BASE=${BASE:-debian:bookworm-slim}" \
  -t "${REACH_IMAGE:-reach-server:latest}" "$@" "$repo"

#!/usr/bin/env bash
# Build deploy/Dockerfile with podman, on a base made from Debian's packages when no image
# registry is reachable (deploy/image/debian-base.sh). Used by .ci/run; works on a laptop too.
#
#   deploy/image/build.sh [TAG]        # default tag nginx-triage:ci
set -euo pipefail
cd "$(dirname "$0")/../.."
tag=${1:-nginx-triage:ci}

deploy/image/debian-base.sh
# runc and cgroupfs: no systemd in CI sandboxes. The ulimits are what such sandboxes allow.
# The host's CA bundle and pip settings are mounted for pip inside the build (never copied
# into a layer). --format docker keeps the HEALTHCHECK (the OCI format drops it).
podman --runtime runc --cgroup-manager=cgroupfs build \
  --format docker --network host \
  --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 \
  -v /etc/ssl/certs:/etc/ssl/certs:ro \
  $( [ -f /etc/pip.conf ] && echo "-v /etc/pip.conf:/etc/pip.conf:ro" ) \
  $( [ -d /etc/xdg/pip ] && echo "-v /etc/xdg/pip:/etc/xdg/pip:ro" ) \
  --ignorefile deploy/Dockerfile.dockerignore \
  -f deploy/Dockerfile -t "$tag" .
echo "built $tag"

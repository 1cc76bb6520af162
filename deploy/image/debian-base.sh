#!/usr/bin/env bash
# Build the Dockerfile's base image from Debian's own packages and tag it with the name the
# Dockerfile's FROM line uses, for machines that reach Debian's archive but no image registry
# (CI here). Debian bookworm's python3 (3.11) stands in for the python:3.11 slim image:
# python-is-python3 gives `python`, python3-dev gives the headers the C accelerator needs.
#
#   deploy/image/debian-base.sh            # builds it unless the tag already exists
#   deploy/image/debian-base.sh --force    # rebuilds it
set -euo pipefail
cd "$(dirname "$0")/../.."

tag=$(awk 'toupper($1) == "FROM" { print $2; exit }' deploy/Dockerfile)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=${DEBIAN_SUITE:-bookworm}
podman=(podman --runtime runc --cgroup-manager=cgroupfs)
# This sandbox (and many CI runners) may not raise rlimits: ask for values it allows.
limits=(--ulimit nofile=4096:4096 --ulimit nproc=4096:4096)

if [ "${1:-}" != "--force" ] && "${podman[@]}" image exists "$tag"; then
  echo "base image $tag: present"
  exit 0
fi

root=$(mktemp -d /tmp/nginx-triage-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "base image $tag: debootstrap $suite from $mirror into $root"
debootstrap --variant=minbase \
  --include=python3,python3-dev,python3-venv,python3-pip,python-is-python3,ca-certificates \
  "$suite" "$root" "$mirror" >/dev/null
# Like the slim images: no apt lists, no docs, no caches in the layer.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* "$root"/usr/share/man/*
tar -C "$root" -c . | "${podman[@]}" import \
  --change 'CMD ["python3"]' --change 'ENV LANG=C.UTF-8' - "$tag" >/dev/null
"${podman[@]}" run --rm --network host "${limits[@]}" "$tag" python -c 'import sys, sysconfig; print("base image", sys.version.split()[0], "headers", sysconfig.get_paths()["include"])'

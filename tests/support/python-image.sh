#!/usr/bin/env bash
# Builds the `python:3.11-slim` stand-in the example's Dockerfile starts
# FROM, with fastapi, uvicorn and pymongo preinstalled from wheels fetched on
# the host (containers cannot reach the package index). Debian bookworm via
# debootstrap; takes a minute or two; skipped when the image exists.
set -euo pipefail
IMAGE=${1:-python:3.11-slim}
if docker image inspect "$IMAGE" >/dev/null 2>&1; then exit 0; fi
command -v debootstrap >/dev/null || { apt-get update -qq; apt-get install -y -qq debootstrap; }
WORK=$(mktemp -d /tmp/rcompose-python.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root
# The Debian mirror apt already uses here (the first URIs: of its sources),
# so the build works wherever apt does; deb.debian.org when none is named.
MIRROR=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
if [ -z "$MIRROR" ]; then
  MIRROR=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\(http[^[:space:]]*\).*/\2/p' /etc/apt/sources.list 2>/dev/null | head -1)
fi
MIRROR=${MIRROR:-http://deb.debian.org/debian}
debootstrap --variant=minbase --include=python3,python3-pip bookworm "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log"; exit 1; }
rm -f "$ROOT"/usr/lib/python3*/EXTERNALLY-MANAGED
ln -sf python3 "$ROOT/usr/bin/python"
ln -sf pip3 "$ROOT/usr/bin/pip"
mkdir -p "$ROOT/wheels"
# Wheels for the image's Python (3.11), whatever the host's Python is.
python3 -m pip download -q --only-binary=:all: --python-version 3.11 --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform any -d "$ROOT/wheels" fastapi uvicorn pymongo
chroot "$ROOT" python3 -m pip install -q --no-index --find-links /wheels fastapi uvicorn pymongo
rm -rf "$ROOT/wheels" "$ROOT"/var/cache/apt/archives/*.deb
tar -C "$ROOT" -c . | docker import -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' -c 'CMD ["python3"]' - "$IMAGE" >/dev/null
echo "built $IMAGE"

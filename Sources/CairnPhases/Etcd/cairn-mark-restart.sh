#!/bin/sh
# cairn-mark-restart MARKER: etcd's files changed; the etcd-cluster phase restarts it (one member
# at a time) and removes the marker.
set -eu
mkdir -p "$(dirname "$1")"
: > "$1"
systemctl daemon-reload

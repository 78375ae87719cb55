#!/bin/sh
# cairn-mark-initialized CONFIG MARKER: kubeadm init finished; its configuration (with the
# bootstrap token) is removed and the marker that says the cluster exists is written.
set -eu
rm -f "$1"
: > "$2"

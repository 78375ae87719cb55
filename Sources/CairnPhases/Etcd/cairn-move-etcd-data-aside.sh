#!/bin/sh
set -eu
data=$1 suffix=$2
systemctl stop etcd 2>/dev/null || true
if [ -d "$data" ]; then mv "$data" "$data.$suffix"; fi

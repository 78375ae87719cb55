#!/bin/sh
set -eu
tarball=$1 dir=$2 version=$3
mkdir -p "$dir"
tar -xzf "$tarball" -C "$dir"
printf '%s\n' "$version" > "$dir/.cairn-version"

#!/bin/sh
set -eu
dir=$1 component=$2 version=$3 binary=$4
mkdir -p "$dir"
printf '%s %s\n' "v${version#v}" "$(stat -c '%s %Y' "$binary")" > "$dir/$component.tmp"
mv -f "$dir/$component.tmp" "$dir/$component"

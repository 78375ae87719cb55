#!/bin/sh
set -eu
tarball=$1 inner=$2 marker=$3 unit=$4; shift 4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$tarball" -C "$tmp"
src=$tmp${inner:+/$inner}
mkdir -p /usr/local/bin
for b in "$@"; do
  [ -f "$src/$b" ] || continue
  install -m 0755 "$src/$b" "/usr/local/bin/.$b.cairn-new"
  mv -f "/usr/local/bin/.$b.cairn-new" "/usr/local/bin/$b"
done
if [ -n "$unit" ] && systemctl is-active --quiet "$unit" 2>/dev/null; then
  mkdir -p "$(dirname "$marker")"
  : > "$marker"
fi

#!/bin/sh
# cairn-upload PATH MODE OWNER SHA256: stdin becomes PATH atomically, skipped when identical.
set -eu
p=$1 mode=$2 owner=$3 sum=$4
if [ -f "$p" ] && [ "$(sha256sum < "$p" | cut -d' ' -f1)" = "$sum" ]; then
  if [ "$(stat -c %a "$p")" = "$mode" ] && { [ -z "$owner" ] || [ "$(stat -c %U:%G "$p")" = "$owner" ]; }; then
    echo unchanged; exit 0
  fi
  chmod "$mode" "$p"; [ -z "$owner" ] || chown "$owner" "$p"
  echo metadata; exit 0
fi
d=$(dirname -- "$p")
mkdir -p -- "$d"
t=$(mktemp -- "$d/.cairn-upload.XXXXXX")
trap 'rm -f -- "$t"' EXIT
echo ready
cat > "$t"
sync -- "$t"
chmod "$mode" "$t"; [ -z "$owner" ] || chown "$owner" "$t"
[ "$(sha256sum < "$t" | cut -d' ' -f1)" = "$sum" ] || { echo "checksum mismatch after transfer" >&2; exit 3; }
mv -f -- "$t" "$p"
trap - EXIT
sync -- "$d"
echo written

#!/bin/sh
set -eu
file=$1 endpoint=$2 ca=$3 cert=$4 key=$5
# Only the backup directory itself is private; its parents are the system's.
# shellcheck disable=SC2174
mkdir -p -m 700 "$(dirname "$file")"
rm -f "$file" "$file.part"
ETCDCTL_API=3 /usr/local/bin/etcdctl --endpoints="$endpoint" --cacert="$ca" --cert="$cert" --key="$key" \
  --dial-timeout=5s --command-timeout=120s snapshot save "$file" >/dev/null
chmod 600 "$file"
sha256sum < "$file" | cut -d' ' -f1
if [ -x /usr/local/bin/etcdutl ]; then /usr/local/bin/etcdutl snapshot status "$file" -w json
else ETCDCTL_API=3 /usr/local/bin/etcdctl snapshot status "$file" -w json; fi

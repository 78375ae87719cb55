#!/bin/sh
set -u
data=$1 env=$2 unit=$3 marker=$4 etcdctl=$5 ca=$6 cert=$7 key=$8; shift 8
b64() { if [ -f "$1" ]; then base64 -w0 < "$1"; else printf -- -; fi; }
version=""
[ -x /usr/local/bin/etcd ] && version=$(/usr/local/bin/etcd --version 2>/dev/null | sed -n 's/^etcd Version: //p')
active=false
systemctl is-active --quiet etcd 2>/dev/null && active=true
datadir=false; [ -d "$data/member" ] && datadir=true
restart=false; [ -e "$marker" ] && restart=true
sums=""
for f in "$@"; do
  s=""; [ -f "$f" ] && s=$(sha256sum < "$f" | cut -d' ' -f1)
  sums="$sums${sums:+,}\"$f\":\"$s\""
done
members=null; health=null; leader=null
if [ "$active" = true ] && [ -x "$etcdctl" ] && [ -f "$cert" ]; then
  set -- --endpoints=https://127.0.0.1:2379 --cacert="$ca" --cert="$cert" --key="$key" --dial-timeout=2s --command-timeout=4s
  m=$("$etcdctl" "$@" member list -w json 2>/dev/null) && [ -n "$m" ] && members=$m
  # No member healthy (or no answer at all) is asked again, up to three times: right after a
  # membership change or an election the check can fail as a whole for a moment, while this very
  # member just answered. A member that is down gets its own unhealthy entry in the first answer.
  for try in 1 2 3; do
    h=$("$etcdctl" "$@" endpoint health --cluster -w json 2>/dev/null)
    case $h in \[*) health=$h ;; esac
    case $h in *'"health":true'*) break ;; esac
    [ "$try" = 3 ] || sleep 2
  done
  # Only the leader's ID of this member's status: the rest (revision, raft index) changes all the time.
  l=$("$etcdctl" "$@" endpoint status -w json 2>/dev/null | sed -n 's/.*"leader":\([0-9][0-9]*\).*/\1/p')
  [ -n "$l" ] && leader="\"$l\""
fi
printf '{"version":"%s","active":%s,"dataDirectory":%s,"environment":"%s","unit":"%s","certificates":{%s},"restartNeeded":%s,"machine":"%s","members":%s,"health":%s,"leader":%s}\n' \
  "$version" "$active" "$datadir" "$(b64 "$env")" "$(b64 "$unit")" "$sums" "$restart" "$(uname -m)" "$members" "$health" "$leader"

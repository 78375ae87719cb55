#!/bin/sh
set -u
b64() { if [ -f "$1" ]; then base64 -w0 < "$1"; else printf -- -; fi; }
modfile=$1 sysfile=$2; shift 2
swaps=$(($(wc -l < /proc/swaps) - 1))
fstab=0
[ -f /etc/fstab ] && fstab=$(awk '$1 !~ /^#/ && $3 == "swap" {n++} END {print n+0}' /etc/fstab)
mods=""
while [ "$#" -gt 0 ] && [ "$1" != -- ]; do
  m=$1; shift
  present=no
  if [ -d "/sys/module/$m" ] || grep -qs "^$m " /proc/modules; then present=yes
  elif [ "$m" = overlay ] && grep -qw overlay /proc/filesystems; then present=yes
  elif [ "$m" = br_netfilter ] && [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]; then present=yes
  fi
  [ "$present" = yes ] && mods="$mods${mods:+,}\"$m\""
done
[ "$#" -gt 0 ] && shift
sys=""
for k in "$@"; do
  f=/proc/sys/$(printf %s "$k" | tr . /)
  v=""; [ -r "$f" ] && v=$(tr -d '\n' < "$f" | tr '\t' ' ')
  sys="$sys${sys:+,}\"$k\":\"$v\""
done
printf '{"swapActive":%d,"fstabSwap":%d,"modulesPresent":[%s],"modulesFile":"%s","sysctlFile":"%s","sysctls":{%s},"hostname":"%s"}\n' \
  "$swaps" "$fstab" "$mods" "$(b64 "$modfile")" "$(b64 "$sysfile")" "$sys" "$(hostname)"

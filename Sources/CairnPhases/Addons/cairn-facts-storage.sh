#!/bin/sh
set -u
out=""
for d in "$@"; do
  if [ ! -e "$d" ]; then s="missing"
  elif [ ! -b "$d" ]; then s="not a block device"
  else
    fs=$(lsblk -dno FSTYPE "$d" 2>/dev/null | tr -d ' ')
    parts=$(lsblk -no TYPE "$d" 2>/dev/null | grep -c part)
    if [ -n "$fs" ]; then s="holds a $fs filesystem"; elif [ "$parts" -gt 0 ]; then s="has partitions"; else s="ok"; fi
  fi
  out="$out${out:+,}\"$d\":\"$s\""
done
rbd=false; { [ -d /sys/module/rbd ] || modprobe -n rbd >/dev/null 2>&1; } && rbd=true
lvm=false; command -v lvm >/dev/null 2>&1 && lvm=true
printf '{"devices":{%s},"rbd":%s,"lvm":%s}\n' "$out" "$rbd" "$lvm"

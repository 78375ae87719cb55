#!/bin/sh
set -eu
action=$1 lock=$2 run=$3 owner=$4 stale=$5
now=$(date +%s)
read_lock() {
  held_run=$(sed -n 's/^run=//p' "$lock" 2>/dev/null || true)
  held_owner=$(sed -n 's/^owner=//p' "$lock" 2>/dev/null || true)
  beat=$(sed -n 's/^heartbeat=//p' "$lock" 2>/dev/null || true)
  case $beat in ''|*[!0-9]*) beat=0 ;; esac
  age=$((now - beat))
}
write_tmp() {
  tmp=$(mktemp "$lock.XXXXXX")
  printf 'run=%s\nowner=%s\nstarted=%s\nheartbeat=%s\n' "$run" "$owner" "$1" "$now" > "$tmp"
  chmod 600 "$tmp"
}
# Every action that writes reads and writes the lock under one guard, so a heartbeat can never
# write back a lock another run has just taken (read-check-write is not atomic by itself).
# `inspect` (used by `plan`) only reads, and creates nothing.
if [ "$action" != inspect ]; then
  case $action in
  acquire|break)
    # shellcheck disable=SC2174  # only the lock directory itself is private
    mkdir -p -m 700 "$(dirname "$lock")" ;;
  *)
    # A heartbeat or release whose directory is gone (a reset removed it) has nothing to guard,
    # and must not leave a new directory behind.
    [ -d "$(dirname "$lock")" ] || { echo lost; exit 0; } ;;
  esac
  exec 9>>"$lock.guard"
  flock -w 20 9 || { echo "lock guard $lock.guard busy" >&2; exit 1; }
  now=$(date +%s)
fi
case $action in
acquire|break)
  # shellcheck disable=SC2174  # only the lock directory itself is private
  mkdir -p -m 700 "$(dirname "$lock")"
  if [ "$action" = break ]; then rm -f "$lock"; fi
  write_tmp "$now"
  if ln "$tmp" "$lock" 2>/dev/null; then rm -f "$tmp"; echo acquired; exit 0; fi
  rm -f "$tmp"
  read_lock
  if [ "$held_run" = "$run" ]; then echo acquired; exit 0; fi
  if [ "$age" -ge "$stale" ]; then echo "stale $age $held_run $held_owner"; else echo "held $age $held_run $held_owner"; fi
  ;;
heartbeat)
  read_lock
  if [ "$held_run" != "$run" ]; then
    # Who has it now (run, when it took the lock by this host's clock, owner), if anyone.
    if [ -e "$lock" ]; then echo "lost $held_run $(sed -n 's/^started=//p' "$lock") $held_owner"; else echo lost; fi
    exit 0
  fi
  # shellcheck disable=SC2174  # only the lock directory itself is private
  mkdir -p -m 700 "$(dirname "$lock")"
  started=$(sed -n 's/^started=//p' "$lock")
  write_tmp "$started"
  mv -f "$tmp" "$lock"
  echo renewed
  ;;
release)
  read_lock
  if [ "$held_run" = "$run" ]; then rm -f "$lock" "$lock.guard"; echo released
  elif [ ! -e "$lock" ]; then rm -f "$lock.guard"; echo lost
  else echo lost; fi
  # Leave no empty directory behind (a reset removes everything else of Cairn's).
  rmdir "$(dirname "$lock")" 2>/dev/null || true
  ;;
inspect)
  if [ -e "$lock" ]; then read_lock
    if [ "$age" -ge "$stale" ]; then echo "stale $age $held_run $held_owner"; else echo "held $age $held_run $held_owner"; fi
  else echo free; fi
  ;;
esac

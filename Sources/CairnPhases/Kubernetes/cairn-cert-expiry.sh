#!/bin/sh
# Prints "NOT_AFTER_EPOCH PATH" for every *.crt under the directories given (read-only). The end
# date, not the time left, so that facts read twice compare equal.
set -u
for dir in "$@"; do
  [ -d "$dir" ] || continue
  find "$dir" -name '*.crt' -type f | sort | while read -r file; do
    end=$(openssl x509 -enddate -noout -in "$file" 2>/dev/null | sed 's/^notAfter=//')
    [ -n "$end" ] || continue
    epoch=$(date -d "$end" +%s 2>/dev/null) || continue
    printf '%s %s\n' "$epoch" "$file"
  done
done

#!/bin/sh
# cairn-probe-port ADDRESS PORT: exit 0 when a TCP connection opens within 3 seconds.
exec timeout 3 bash -c '</dev/tcp/$1/$2' probe "$1" "$2"

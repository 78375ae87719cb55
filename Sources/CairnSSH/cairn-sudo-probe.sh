#!/bin/sh
# cairn-sudo-probe auto|always: root, sudo, nosudo or "denied REASON".
if [ "$(id -u)" = 0 ] && [ "$1" = auto ]; then echo root; exit 0; fi
command -v sudo >/dev/null 2>&1 || { echo nosudo; exit 0; }
if out=$(sudo -n true 2>&1); then echo sudo; else echo "denied $out"; fi

#!/bin/sh
# cairn-service ACTION UNIT: a systemd unit as Cairn changes it, after a daemon-reload.
#   start             enable (best effort) and start, waiting for it
#   enable            enable only (the kubelet: kubeadm starts it)
#   restart           restart, waiting for it
#   enable-restart    enable (best effort) and restart
#   start-detached, restart-detached
#                     enable, then start or restart without waiting: a first etcd member is
#                     not ready until it has quorum, so readiness is checked with etcdctl
set -u
action=$1 unit=$2
systemctl daemon-reload || true
case $action in
  start) systemctl enable "$unit" >/dev/null 2>&1; exec systemctl start "$unit" ;;
  enable) exec systemctl enable "$unit" >/dev/null 2>&1 ;;
  restart) exec systemctl restart "$unit" ;;
  enable-restart) systemctl enable "$unit" >/dev/null 2>&1; exec systemctl restart "$unit" ;;
  start-detached | restart-detached)
    systemctl enable "$unit" >/dev/null 2>&1 || exit 1
    exec setsid -f systemctl "${action%-detached}" "$unit" </dev/null >/dev/null 2>&1 ;;
  *) echo "cairn-service: unknown action $action" >&2; exit 2 ;;
esac

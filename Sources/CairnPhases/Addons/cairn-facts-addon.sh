#!/bin/sh
set -u
name=$1; shift
k() { kubectl --kubeconfig /etc/kubernetes/admin.conf --request-timeout=15s "$@"; }
record=$(k get configmap "cairn-addon-$name" -n kube-system -o jsonpath='{.data}' 2>/dev/null)
[ -z "$record" ] && record=null
missing=""
while [ "$#" -ge 2 ]; do
  ns=$1 obj=$2; shift 2
  k get -n "$ns" "$obj" -o name >/dev/null 2>&1 || missing="$missing${missing:+,}\"$ns/$obj\""
done
printf '{"record":%s,"missing":[%s]}\n' "$record" "$missing"

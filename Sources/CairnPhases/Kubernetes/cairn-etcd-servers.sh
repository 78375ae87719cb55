#!/bin/sh
# cairn-etcd-servers URLS ADDRESS: sets kube-apiserver's --etcd-servers in its static pod manifest
# to URLS (written beside and renamed in: the kubelet restarts the pod on the change, and a kill
# leaves the manifest whole), then waits until the API server on ADDRESS:6443 is ready again.
set -u
urls=$1 address=$2
manifest=/etc/kubernetes/manifests/kube-apiserver.yaml work=/etc/kubernetes/cairn
mkdir -p "$work"
if ! grep -q -- '^ *- --etcd-servers=' "$manifest"; then
  echo "$manifest has no --etcd-servers flag" >&2
  exit 1
fi
listener() { ss -ltnpH 'sport = :6443' 2>/dev/null | grep -o 'pid=[0-9]*' | head -1; }
old=$(listener)
sed "s|^\( *- --etcd-servers=\).*|\1$urls|" "$manifest" > "$work/kube-apiserver.yaml.new" \
  && mv "$work/kube-apiserver.yaml.new" "$manifest"
# The old server may still answer for a moment: wait for a new process on the port, ready.
i=0 ready=""
while [ "$i" -lt 240 ]; do
  now=$(listener)
  if [ -n "$now" ] && [ "$now" != "$old" ]; then
    ready=$(curl -sk --max-time 3 "https://$address:6443/readyz" 2>/dev/null)
    [ "$ready" = ok ] && exit 0
  fi
  sleep 2; i=$((i + 2))
done
echo "the API server on $address was not ready with the new etcd endpoints within 240 s (readyz: ${ready:-no answer})" >&2
exit 1

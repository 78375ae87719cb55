#!/bin/sh
set -u
if pkill -x kubeadm 2>/dev/null; then sleep 2; pkill -9 -x kubeadm 2>/dev/null || true; fi
if [ "$1" = always ] || [ -e /etc/kubernetes/manifests/kube-apiserver.yaml ] || [ -e /etc/kubernetes/kubelet.conf ] \
   || [ -e /var/lib/kubelet/config.yaml ] || [ -e /etc/kubernetes/admin.conf ] || [ -e /etc/kubernetes/pki/ca.crt ]; then
  keep=$(mktemp)
  tar -C / -cf "$keep" etc/kubernetes/pki/etcd/ca.crt etc/kubernetes/pki/apiserver-etcd-client.crt \
      etc/kubernetes/pki/apiserver-etcd-client.key 2>/dev/null || true
  kubeadm reset -f >/dev/null 2>&1 || true
  rm -rf /var/lib/kubelet/config.yaml /etc/kubernetes/cairn/initialized
  tar -C / -xf "$keep" 2>/dev/null || true
  rm -f "$keep"
fi
i=0
while [ "$i" -lt 30 ]; do
  # Cairn's own haproxy (a nodeLocal endpoint on a worker) may hold 6443; it is no leftover.
  pids=$(ss -ltnpH 2>/dev/null | awk '$4 ~ /:(6443|10250|10257|10259)$/ && $0 !~ /"haproxy"/' | grep -o 'pid=[0-9]*' \
    | cut -d= -f2 | sort -u)
  [ -z "$pids" ] && break
  kill $pids 2>/dev/null || true
  i=$((i + 1)); sleep 1
done

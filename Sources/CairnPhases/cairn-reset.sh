#!/bin/sh
set -u
data=$1 lbport=$2; shift 2
if command -v kubeadm >/dev/null 2>&1; then kubeadm reset -f >/dev/null 2>&1 || true; fi
for unit in kubelet cairn-vip cairn-apiserver-lb etcd containerd; do
  systemctl stop "$unit" >/dev/null 2>&1 || true
  systemctl disable "$unit" >/dev/null 2>&1 || true
done
rm -f /etc/systemd/system/kubelet.service /etc/systemd/system/etcd.service /etc/systemd/system/containerd.service \
      /etc/systemd/system/cairn-apiserver-lb.service /etc/systemd/system/cairn-vip.service
rm -rf /etc/systemd/system/kubelet.service.d
systemctl daemon-reload >/dev/null 2>&1 || true
# The nodeLocal endpoint's name (cairn-hosts-entry's tagged line).
if grep -q ' # cairn api endpoint$' /etc/hosts 2>/dev/null; then sed -i '/ # cairn api endpoint$/d' /etc/hosts; fi
rm -rf /etc/kubernetes /var/lib/kubelet /etc/etcd /etc/etcd.env "$data" /var/lib/etcd \
       /etc/cni/net.d /var/lib/cni /opt/cni/bin /etc/containerd /var/lib/containerd /run/containerd \
       /etc/crictl.yaml /etc/cairn /var/cache/cairn /var/lib/rook \
       /etc/sysctl.d/99-cairn.conf /etc/modules-load.d/cairn.conf
# The run's cluster lock stays until the run releases it (the release removes it and the
# directory): a lock gone mid-run would stop the reset as a lost lock.
if [ -d /var/lib/cairn ]; then
  find /var/lib/cairn -mindepth 1 -maxdepth 1 ! -name run.lock ! -name run.lock.guard -exec rm -rf {} +
  rmdir /var/lib/cairn 2>/dev/null || true
fi
for b in kubeadm kubelet kubectl crictl runc etcd etcdctl etcdutl containerd containerd-shim-runc-v2 ctr; do
  rm -f "/usr/local/bin/$b"
done
rmdir /opt/cni 2>/dev/null || true
# Processes Cairn's services started and that a stop did not end (static pods): wait until
# their ports are free, ending what still holds them, so the host is ready for a new apply.
for p in kube-apiserver kube-controller-manager kube-scheduler etcd haproxy keepalived containerd kubelet; do
  pkill -x "$p" >/dev/null 2>&1 || true
done
i=0
while [ "$i" -lt 30 ]; do
  pids=$(ss -ltnpH 2>/dev/null | awk -v lb=":$lbport\$" '$4 ~ /:(6443|10250|10257|10259|2379|2380)$/ || $4 ~ lb' \
    | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u)
  [ -z "$pids" ] && break
  kill $pids 2>/dev/null || true
  i=$((i + 1)); sleep 1
done
for dev in "$@"; do
  wipefs -a "$dev" >/dev/null 2>&1 || true
  dd if=/dev/zero of="$dev" bs=1M count=16 conv=fsync status=none 2>/dev/null || true
done

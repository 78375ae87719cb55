#!/bin/sh
set -u
# Every part at once: each phase of a run (and `cairn status`) shares this one answer.
adv=$1 markers=$2; shift 2
b64() { base64 -w0; }
ver() {  # component binary: the recorded version if the binary is the one recorded
  m="$markers/$1"; b=$2
  [ -e "$b" ] || return 0
  if [ -f "$m" ]; then
    read -r v s t < "$m"
    [ "$s $t" = "$(stat -c '%s %Y' "$b")" ] && { printf %s "$v"; return 0; }
  fi
  case $1 in
    kubeadm) "$b" version -o short 2>/dev/null ;;
    kubelet) "$b" --version 2>/dev/null | sed 's/^Kubernetes //' ;;
    kubectl) "$b" version --client -o json 2>/dev/null | tr -d '\n ' | sed -n 's/.*"gitVersion":"\([^"]*\)".*/\1/p' ;;
    containerd) "$b" --version 2>/dev/null | awk '{print $3}' ;;
    runc|crictl) "$b" --version 2>/dev/null | head -1 | awk '{print $3}' ;;
  esac | head -1 | tr -d '"\\'
}
. /etc/os-release 2>/dev/null || true
os=${ID:-unknown}; osv=${VERSION_ID:-}; machine=$(uname -m); mem=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
cpus=$(nproc); host=$(hostname); mid=$(cat /etc/machine-id 2>/dev/null); now=$(date +%s)
swaps=$(($(wc -l < /proc/swaps) - 1)); fwd=$(cat /proc/sys/net/ipv4/ip_forward)
# cgroup2fs on a cgroup v2 host; tmpfs where v1 hierarchies are mounted (legacy or hybrid).
cgroup=$(stat -fc %T /sys/fs/cgroup/ 2>/dev/null)
listening=$(ss -ltnpH 2>/dev/null | awk '{n=split($4,a,":"); port=a[n]; proc=$6; sub(/^users:\(\("/,"",proc); sub(/".*/,"",proc); print port" "proc}' | sort -u | b64)
versions=$(printf '"kubeadm":"%s","kubelet":"%s","kubectl":"%s","containerd":"%s","runc":"%s","crictl":"%s","cni":"%s"' \
  "$(ver kubeadm /usr/local/bin/kubeadm)" "$(ver kubelet /usr/local/bin/kubelet)" "$(ver kubectl /usr/local/bin/kubectl)" \
  "$(ver containerd /usr/local/bin/containerd)" "$(ver runc /usr/local/bin/runc)" "$(ver crictl /usr/local/bin/crictl)" \
  "$(cat /opt/cni/bin/.cairn-version 2>/dev/null)")
files=""
for f in "$@"; do
  s=""; [ -f "$f" ] && s=$(sha256sum < "$f" | cut -d' ' -f1)
  files="$files${files:+,}\"$f\":\"$s\""
done
# One systemctl for the four units: it prints one state per unit, in order.
units="containerd kubelet cairn-apiserver-lb cairn-vip"
# shellcheck disable=SC2046,SC2086 # the unit names and states are words
set -- $(systemctl is-active $units 2>/dev/null)
svc=""
for u in $units; do
  svc="$svc${svc:+,}\"$u\":\"${1:-unknown}\""
  [ "$#" -gt 0 ] && shift
done
interfaces=$(ip -o -4 addr show 2>/dev/null | b64)
# The nodeLocal endpoint name's line that cairn-hosts-entry owns in /etc/hosts.
entry="\"$(awk '/# cairn api endpoint$/ {print $1; exit}' /etc/hosts 2>/dev/null | tr -d '"\\')\""
manifests=""
for m in /etc/kubernetes/manifests/*.yaml; do [ -f "$m" ] && manifests="$manifests${manifests:+,}\"$(basename "$m")\""; done
# The version of this host's API server static pod: its image tag.
cpversion=""
[ -f /etc/kubernetes/manifests/kube-apiserver.yaml ] &&
  cpversion=$(sed -n 's/^ *image: *"\{0,1\}[^"]*:\(v[0-9][^"]*\)"\{0,1\} *$/\1/p' /etc/kubernetes/manifests/kube-apiserver.yaml | head -1)
ready=""
if [ -f /etc/kubernetes/manifests/kube-apiserver.yaml ] && [ -n "$adv" ]; then
  ready=$(curl -sk --max-time 3 "https://$adv:6443/readyz" 2>/dev/null | head -c 40 | tr -d '"\\\n')
fi
printf '{"os":"%s","osVersion":"%s","machine":"%s","memoryKiB":%s,"cpus":%s,"hostname":"%s","machineID":"%s","epoch":%s,"swapActive":%s,"ipForward":"%s","cgroupFilesystem":"%s",' \
  "$os" "$osv" "$machine" "${mem:-0}" "$cpus" "$host" "$mid" "$now" "$swaps" "$fwd" "$cgroup"
printf '"versions":{%s},"files":{%s},"services":{%s},"hasKubeletConfig":%s,"hasKubeletConf":%s,"hasAdminConf":%s,"initialized":%s,"manifests":[%s],"listening":"%s","interfaces":"%s","apiserverReady":"%s","controlPlaneVersion":"%s","endpointEntry":%s}\n' \
  "$versions" "$files" "$svc" "$([ -f /var/lib/kubelet/config.yaml ] && echo true || echo false)" \
  "$([ -f /etc/kubernetes/kubelet.conf ] && echo true || echo false)" "$([ -f /etc/kubernetes/admin.conf ] && echo true || echo false)" \
  "$([ -f /etc/kubernetes/cairn/initialized ] && echo true || echo false)" \
  "$manifests" "$listening" "$interfaces" "$ready" "$cpversion" "$entry"

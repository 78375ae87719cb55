#!/bin/sh
# cairn-drill ACTION TOKEN UNDO_AFTER [ARGS...] | restore | leftovers
# One disruption of `cairn drill` on this host, and its undoing (docs/drill.md).
#
# Every disruption first writes the commands that undo it to $dir/undo.sh, then arms a timer
# that runs them after UNDO_AFTER seconds: a host is never left disrupted because the
# operator's machine (or its link) went away in the middle of a drill. `restore` runs the
# undo commands now and disarms the timer; `leftovers` prints what is still disrupted.
#   stop-kubelet        stops the kubelet (the node stops reporting; its containers keep running)
#   stop-control-plane  parks the control-plane static pod manifests (the kubelet stops those
#                       pods), then stops the kubelet, etcd and the API balancer
#   isolate cut|peer ADDR...
#                       blackhole routes to ADDR...: this host sends nothing to them. Cairn runs
#                       it on both sides of a partition (cut: the side cut off, which also stops
#                       keepalived), so nothing crosses in either direction; the operator's own
#                       address is never among them
#   note TEXT           records an API-side disruption (a cordon, stopped OSDs) that Cairn undoes
set -u
dir=/var/lib/cairn/drill
manifests=/etc/kubernetes/manifests
action=$1

# Route protocol number marking Cairn's blackhole routes (any value the kernel does not use).
proto=199

arm() {
    token=$1 after=$2
    printf '%s\n' "$token" >"$dir/token"
    # setsid: the timer outlives this SSH session; it only undoes the disruption it belongs to.
    setsid sh -c 'sleep "$1"; [ "$(cat "$2/token" 2>/dev/null)" = "$3" ] && sh "$2/undo.sh" && rm -f "$2/undo.sh" "$2/token"' \
        cairn-drill-timer "$after" "$dir" "$token" </dev/null >/dev/null 2>&1 &
}

begin() {
    mkdir -p "$dir/parked"
    if [ -s "$dir/undo.sh" ]; then
        echo "cairn-drill: a disruption is already in place on this host: $(head -n 1 "$dir/undo.sh")" >&2
        exit 3
    fi
}

case "$action" in
stop-kubelet)
    token=$2 after=$3
    begin
    printf '# kubelet stopped by cairn drill\nsystemctl start kubelet\n' >"$dir/undo.sh"
    arm "$token" "$after"
    systemctl stop kubelet
    ;;
stop-control-plane)
    token=$2 after=$3
    begin
    {
        echo "# control plane stopped by cairn drill"
        echo "systemctl start etcd 2>/dev/null || true"
        echo "mv $dir/parked/*.yaml $manifests/ 2>/dev/null || true"
        echo "systemctl start kubelet"
        echo "systemctl start cairn-apiserver-lb 2>/dev/null || true"
        echo "systemctl start cairn-vip 2>/dev/null || true"
    } >"$dir/undo.sh"
    arm "$token" "$after"
    for name in kube-apiserver kube-controller-manager kube-scheduler; do
        if [ -f "$manifests/$name.yaml" ]; then mv "$manifests/$name.yaml" "$dir/parked/"; fi
    done
    # The kubelet stops a static pod whose manifest is gone; wait for the API server to go.
    i=0
    while [ $i -lt 60 ] && curl -sk -o /dev/null --max-time 2 https://127.0.0.1:6443/livez; do
        sleep 1
        i=$((i + 1))
    done
    systemctl stop kubelet
    for unit in etcd cairn-apiserver-lb cairn-vip; do
        if [ -f "/etc/systemd/system/$unit.service" ]; then systemctl stop "$unit"; fi
    done
    ;;
isolate)
    token=$2 after=$3 side=$4
    shift 4
    begin
    printf '# isolated by cairn drill\nip route flush proto %s\nip -6 route flush proto %s\n' "$proto" "$proto" >"$dir/undo.sh"
    # keepalived binds its socket to the interface, so routes do not cut VRRP: on the cut-off
    # side it is stopped, and the virtual IP moves to the majority as its clients would see it.
    vip=""
    if [ "$side" = cut ] && [ -f /etc/systemd/system/cairn-vip.service ] && systemctl is-active --quiet cairn-vip; then
        vip=1
        echo "systemctl start cairn-vip" >>"$dir/undo.sh"
    fi
    arm "$token" "$after"
    if [ -n "$vip" ]; then systemctl stop cairn-vip; fi
    for address in "$@"; do
        case "$address" in
        *:*) ip -6 route replace blackhole "$address/128" proto "$proto" ;;
        *) ip route replace blackhole "$address/32" proto "$proto" ;;
        esac
    done
    ;;
note)
    mkdir -p "$dir"
    printf '%s\n' "$2" >>"$dir/api-notes"
    ;;
restore)
    if [ -s "$dir/undo.sh" ]; then
        rm -f "$dir/token"
        sh "$dir/undo.sh" >&2 || exit 1
        rm -f "$dir/undo.sh"
    fi
    # What Cairn undoes through the API (printed, then forgotten).
    if [ -s "$dir/api-notes" ]; then cat "$dir/api-notes"; fi
    rm -f "$dir/api-notes"
    ;;
leftovers)
    if [ -s "$dir/undo.sh" ]; then head -n 1 "$dir/undo.sh"; fi
    if [ -s "$dir/api-notes" ]; then cat "$dir/api-notes"; fi
    ;;
*)
    echo "cairn-drill: unknown action $action" >&2
    exit 2
    ;;
esac

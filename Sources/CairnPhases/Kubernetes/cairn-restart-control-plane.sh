#!/bin/sh
# cairn-restart-control-plane ADDRESS STAMP: restarts this host's control-plane static pods so that
# they load renewed certificates. Each manifest gets the annotation cairn.dev/restarted-at: STAMP
# (a changed manifest is a new pod to the kubelet), written beside and renamed in, so a kill leaves
# either manifest whole. Then waits until the API server on ADDRESS:6443 is ready and serves the
# certificate in /etc/kubernetes/pki/apiserver.crt, and the controller-manager and scheduler are healthy.
set -u
address=$1 stamp=$2
dir=/etc/kubernetes/manifests work=/etc/kubernetes/cairn
mkdir -p "$work"
for c in kube-apiserver kube-controller-manager kube-scheduler; do
  f="$dir/$c.yaml"
  [ -f "$f" ] || continue
  awk -v line="    cairn.dev/restarted-at: \"$stamp\"" '
    /^    cairn\.dev\/restarted-at:/ { next }
    done { print; next }
    /^metadata:/ { inmeta = 1; print; next }
    inmeta && /^  annotations:/ { print; print line; done = 1; next }
    inmeta && /^[^ ]/ { print "  annotations:"; print line; done = 1; print; next }
    { print }
  ' "$f" > "$work/$c.yaml.new" && mv "$work/$c.yaml.new" "$f"
done
want=$(openssl x509 -noout -enddate -in /etc/kubernetes/pki/apiserver.crt 2>/dev/null)
i=0 last=""
while [ "$i" -lt 240 ]; do
  ready=$(curl -sk --max-time 3 "https://$address:6443/readyz" 2>/dev/null)
  served=$(echo | timeout 5 openssl s_client -connect "$address:6443" 2>/dev/null | openssl x509 -noout -enddate 2>/dev/null)
  cm=$(curl -sk --max-time 3 https://127.0.0.1:10257/healthz 2>/dev/null)
  sched=$(curl -sk --max-time 3 https://127.0.0.1:10259/healthz 2>/dev/null)
  if [ "$ready" = ok ] && [ "$served" = "$want" ] && [ "$cm" = ok ] && [ "$sched" = ok ]; then exit 0; fi
  last="readyz=${ready:-no answer}, serving ${served:-nothing} (want $want), controller-manager=${cm:-no answer}, scheduler=${sched:-no answer}"
  sleep 3; i=$((i + 3))
done
echo "the control plane on $address did not come back with the renewed certificates within 240 s: $last" >&2
exit 1

#!/bin/sh
set -eu
file=$1 name=$2 cluster=$3 token=$4 peer=$5 data=$6
if [ -x /usr/local/bin/etcdutl ]; then tool=/usr/local/bin/etcdutl; else tool=/usr/local/bin/etcdctl; export ETCDCTL_API=3; fi
"$tool" snapshot restore "$file" --name "$name" --initial-cluster "$cluster" \
  --initial-cluster-token "$token" --initial-advertise-peer-urls "$peer" --data-dir "$data" >/dev/null
chmod 700 "$data"
rm -f "$file"

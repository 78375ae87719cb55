#!/bin/sh
# cairn-cert-expiry PATH...: one line per certificate, "PATH<TAB>BASE64 OF ITS PEM", for every *.crt
# under the directories given, every file given (a PEM certificate, or a kubeconfig whose first
# client-certificate-data is read) and every tls:HOST:PORT given (the certificate a TLS server there
# presents). Read-only. Cairn reads the certificates itself (swift-certificates): an openssl process
# per certificate costs some 0.05 s of CPU, and a control-plane host holds about thirty.
set -u
line() { [ -n "$2" ] && printf '%s\t%s\n' "$1" "$2"; return 0; }
for path in "$@"; do
  if [ "${path#tls:}" != "$path" ]; then
    line "$path" "$(echo | timeout 5 openssl s_client -connect "${path#tls:}" 2>/dev/null \
      | sed -n '/-BEGIN CERTIFICATE-/,/-END CERTIFICATE-/p' | base64 -w0)"
  elif [ -d "$path" ]; then
    find "$path" -name '*.crt' -type f | sort | while read -r file; do line "$file" "$(base64 -w0 < "$file")"; done
  elif [ -f "$path" ]; then
    case $path in
      *.conf) line "$path" "$(sed -n 's/^ *client-certificate-data: *//p' "$path" | head -1)" ;;
      *) line "$path" "$(base64 -w0 < "$path")" ;;
    esac
  fi
done

#!/bin/sh
# cairn-cert-expiry PATH...: one line per certificate, "NOT_AFTER_EPOCH<TAB>ISSUER_CN<TAB>NAMES<TAB>PATH"
# (NAMES: its subject CN, then its subject alternative names, comma-separated), for
# every *.crt under the directories given, every file given (a PEM certificate, or a kubeconfig
# whose first client-certificate-data is read) and every tls:HOST:PORT given (the certificate a TLS
# server there presents). Read-only. The end date, not the time left, so that facts read twice
# compare equal.
set -u
tab=$(printf '\t')
show() {  # PATH, the certificate on stdin
  pem=$(cat)
  info=$(printf '%s\n' "$pem" | openssl x509 -noout -enddate -issuer -subject -nameopt RFC2253 2>/dev/null) || return 0
  end=$(printf '%s\n' "$info" | sed -n 's/^notAfter=//p')
  issuer=$(printf '%s\n' "$info" | sed -n 's/^issuer=//p' | sed -n 's/^.*CN=\([^,]*\).*$/\1/p')
  subject=$(printf '%s\n' "$info" | sed -n 's/^subject=//p' | sed -n 's/^.*CN=\([^,]*\).*$/\1/p')
  sans=$(printf '%s\n' "$pem" | openssl x509 -noout -ext subjectAltName 2>/dev/null | sed -n '2,$p' \
    | tr -d ' ' | sed 's/IPAddress:/IP:/g')
  [ -n "$end" ] || return 0
  epoch=$(date -d "$end" +%s 2>/dev/null) || return 0
  printf '%s%s%s%s%s%s%s\n' "$epoch" "$tab" "$issuer" "$tab" "$subject${sans:+,$sans}" "$tab" "$1"
}
for path in "$@"; do
  if [ "${path#tls:}" != "$path" ]; then
    echo | timeout 5 openssl s_client -connect "${path#tls:}" 2>/dev/null | show "$path"
  elif [ -d "$path" ]; then
    find "$path" -name '*.crt' -type f | sort | while read -r file; do show "$file" < "$file"; done
  elif [ -f "$path" ]; then
    case $path in
      *.conf) sed -n 's/^ *client-certificate-data: *//p' "$path" | head -1 | base64 -d 2>/dev/null | show "$path" ;;
      *) show "$path" < "$path" ;;
    esac
  fi
done

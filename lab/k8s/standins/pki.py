"""Certificates through Debian's openssl CLI: a real CA, real X.509 certificates and keys.

kubeadm's layout and subjects are followed (see kubeadm's pkiutil and certs list).
"""
import hashlib
import ipaddress
import os
import random
import subprocess
import tempfile

from common import Fatal, write_file

DAYS_CA = 3650
DAYS_LEAF = 365


def _openssl(args, data=None):
    r = subprocess.run(["openssl"] + args, input=data, capture_output=True)
    if r.returncode != 0:
        raise Fatal("openssl %s failed: %s" % (args[0], r.stderr.decode(errors="replace").strip()))
    return r.stdout


def gen_key(path, algorithm="RSA-2048"):
    """Write a private key (PKCS#8 PEM like Go's x509.MarshalPKCS8PrivateKey? kubeadm writes
    'RSA PRIVATE KEY' PKCS#1 for RSA; openssl genrsa -traditional gives that)."""
    if algorithm.startswith("ECDSA"):
        curve = {"ECDSA-P256": "prime256v1", "ECDSA-P384": "secp384r1"}.get(algorithm, "prime256v1")
        pem = _openssl(["ecparam", "-genkey", "-noout", "-name", curve])
    else:
        bits = algorithm.split("-")[1] if "-" in algorithm else "2048"
        pem = _openssl(["genrsa", "-traditional", bits])
    write_file(path, pem, 0o600)
    return path


def _ext_file(lines):
    fd, p = tempfile.mkstemp(prefix="cairn-lab-ext-")
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")
    return p


def subject(cn, orgs=()):
    s = "".join("/O=%s" % o for o in orgs)
    return s + "/CN=%s" % cn


def self_signed_ca(key, crt, cn, days=DAYS_CA):
    ext = _ext_file(["[v3]", "basicConstraints=critical,CA:TRUE", "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign",
                     "subjectKeyIdentifier=hash"])
    try:
        pem = _openssl(["req", "-x509", "-new", "-key", key, "-subj", subject(cn), "-days", str(days),
                        "-sha256", "-extensions", "v3", "-config", ext,
                        "-set_serial", str(random.SystemRandom().getrandbits(63))])
    finally:
        os.unlink(ext)
    write_file(crt, pem, 0o644)


def split_sans(sans):
    dns, ips = [], []
    for s in sans:
        s = str(s).strip()
        if not s:
            continue
        try:
            ips.append(str(ipaddress.ip_address(s)))
        except ValueError:
            dns.append(s)
    # keep order, drop duplicates
    return list(dict.fromkeys(dns)), list(dict.fromkeys(ips))


def sign(ca_crt, ca_key, key, crt, cn, orgs=(), sans=(), server=False, client=False, days=DAYS_LEAF, csr=None,
         lifetime=None):
    """Sign a leaf certificate for `key` (or the CSR in `csr`, PEM bytes) with the CA. `lifetime`
    (seconds) instead of `days`: valid from now for that long, to the second."""
    eku = []
    if server:
        eku.append("serverAuth")
    if client:
        eku.append("clientAuth")
    lines = ["[v3]", "basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment",
             "authorityKeyIdentifier=keyid"]
    if eku:
        lines.append("extendedKeyUsage=" + ",".join(eku))
    dns, ips = split_sans(sans)
    alt = ["DNS:%s" % d for d in dns] + ["IP:%s" % i for i in ips]
    if alt:
        lines.append("subjectAltName=" + ",".join(alt))
    ext = _ext_file(lines)
    try:
        if csr is None:
            csr = _openssl(["req", "-new", "-key", key, "-subj", subject(cn, orgs)])
        if lifetime is not None and lifetime % 86400 != 0:
            pem = _sign_until(ca_crt, ca_key, csr, ext, lifetime)
        else:
            if lifetime is not None:
                days = lifetime // 86400
            args = ["x509", "-req", "-CA", ca_crt, "-CAkey", ca_key, "-days", str(days), "-sha256",
                    "-set_serial", str(random.SystemRandom().getrandbits(63)), "-extfile", ext, "-extensions", "v3"]
            pem = _openssl(args, data=csr)
    finally:
        os.unlink(ext)
    if crt:
        write_file(crt, pem, 0o644)
    return pem


def _sign_until(ca_crt, ca_key, csr, ext, lifetime):
    """`openssl x509 -req` counts whole days only; `openssl ca` takes an exact end date (a lifetime
    of hours, for the lab's short-lived certificates)."""
    import datetime
    import shutil
    d = tempfile.mkdtemp(prefix="cairn-lab-ca-")
    try:
        for name, text in (("index.txt", ""), ("serial", "%016X\n" % random.SystemRandom().getrandbits(63)),
                           ("csr.pem", csr.decode() if isinstance(csr, bytes) else csr),
                           ("ca.cnf", "[ca]\ndefault_ca = lab\n[lab]\ndatabase = %s/index.txt\nnew_certs_dir = %s\n"
                                      "serial = %s/serial\ndefault_md = sha256\npolicy = any\nunique_subject = no\n"
                                      "[any]\ncommonName = optional\n" % (d, d, d))):
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        end = now + datetime.timedelta(seconds=max(1, int(lifetime)))
        fmt = "%Y%m%d%H%M%SZ"
        _openssl(["ca", "-batch", "-config", os.path.join(d, "ca.cnf"), "-cert", ca_crt, "-keyfile", ca_key,
                  "-in", os.path.join(d, "csr.pem"), "-out", os.path.join(d, "crt.pem"), "-notext", "-preserveDN",
                  "-startdate", now.strftime(fmt), "-enddate", end.strftime(fmt), "-extfile", ext, "-extensions", "v3"])
        with open(os.path.join(d, "crt.pem"), "rb") as f:
            return f.read()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def make_csr(key, cn, orgs=()):
    return _openssl(["req", "-new", "-key", key, "-subj", subject(cn, orgs)])


def csr_subject(csr_pem):
    out = _openssl(["req", "-noout", "-subject", "-nameopt", "RFC2253"], data=csr_pem).decode()
    return _parse_rfc2253(out.split("=", 1)[1] if out.startswith("subject=") else out)


def _parse_rfc2253(s):
    cn, orgs = None, []
    for part in s.strip().split(","):
        if "=" not in part:
            continue
        k, v = part.split("=", 1)
        if k.strip() == "CN":
            cn = v.strip()
        elif k.strip() == "O":
            orgs.append(v.strip())
    return cn, orgs


def sa_keypair(key, pub):
    gen_key(key)
    write_file(pub, _openssl(["rsa", "-in", key, "-pubout"]), 0o644)


def spki_der(crt_pem_or_path):
    if isinstance(crt_pem_or_path, bytes):
        data = crt_pem_or_path
    else:
        with open(crt_pem_or_path, "rb") as f:
            data = f.read()
    pub = _openssl(["x509", "-noout", "-pubkey"], data=data)
    return _openssl(["pkey", "-pubin", "-outform", "DER"], data=pub)


def ca_cert_hash(crt):
    """kubeadm's --discovery-token-ca-cert-hash: sha256 of the CA's SubjectPublicKeyInfo (DER)."""
    return "sha256:" + hashlib.sha256(spki_der(crt)).hexdigest()


def cert_info(crt_pem_or_path):
    """subject CN/O, SANs (dns, ips), notAfter text of a certificate."""
    if isinstance(crt_pem_or_path, bytes):
        data = crt_pem_or_path
    else:
        with open(crt_pem_or_path, "rb") as f:
            data = f.read()
    inform = ["-inform", "DER"] if not data.lstrip().startswith(b"-----") else []
    out = _openssl(["x509", "-noout"] + inform + ["-subject", "-nameopt", "RFC2253", "-enddate", "-ext", "subjectAltName"],
                   data=data).decode()
    cn, orgs, dns, ips, end = None, [], [], [], None
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("subject="):
            cn, orgs = _parse_rfc2253(line[len("subject="):])
        elif line.startswith("notAfter="):
            end = line[len("notAfter="):]
        else:
            for item in line.split(","):
                item = item.strip()
                if item.startswith("DNS:"):
                    dns.append(item[4:])
                elif item.startswith("IP Address:"):
                    ips.append(item[len("IP Address:"):])
    return {"cn": cn, "orgs": orgs, "dns": dns, "ips": ips, "notAfter": end}


def cert_details(crt_pem_or_path):
    """What renewing a certificate keeps (kubeadm's certToConfig: CN, O, SANs, extended key usages) and
    its validity period (notBefore/notAfter as UTC datetimes)."""
    import datetime
    if isinstance(crt_pem_or_path, bytes):
        data = crt_pem_or_path
    else:
        with open(crt_pem_or_path, "rb") as f:
            data = f.read()
    info = cert_info(data)
    out = _openssl(["x509", "-noout", "-startdate", "-enddate", "-ext", "extendedKeyUsage"], data=data).decode()
    dates, eku = {}, set()
    for line in out.splitlines():
        line = line.strip()
        if "=" in line and line.split("=", 1)[0] in ("notBefore", "notAfter"):
            k, v = line.split("=", 1)
            dates[k] = datetime.datetime.strptime(" ".join(v.split()), "%b %d %H:%M:%S %Y GMT").replace(
                tzinfo=datetime.timezone.utc)
        for u in line.split(","):
            u = u.strip()
            if u == "TLS Web Server Authentication":
                eku.add("server")
            elif u == "TLS Web Client Authentication":
                eku.add("client")
    return dict(info, notBefore=dates.get("notBefore"), notAfter=dates.get("notAfter"), server="server" in eku,
                client="client" in eku)


def verify(ca, crt):
    r = subprocess.run(["openssl", "verify", "-CAfile", ca, crt], capture_output=True, text=True)
    return r.returncode == 0


def key_matches_cert(key, crt):
    try:
        a = _openssl(["pkey", "-in", key, "-pubout"])
        b = _openssl(["x509", "-in", crt, "-noout", "-pubkey"])
        return a.strip() == b.strip()
    except Fatal:
        return False


# --- authenticated encryption for the kubeadm-certs Secret -------------------------------
# kubeadm uses AES-256-GCM keyed by the certificate key. The stdlib has no AES and
# `openssl enc` refuses GCM, so: AES-256-CTR (openssl) + HMAC-SHA256 (encrypt-then-MAC).
# A wrong key fails with kubeadm's GCM wording.

def encrypt(key_hex, plaintext):
    import hmac
    key = bytes.fromhex(key_hex)
    iv = os.urandom(16)
    ct = _openssl(["enc", "-aes-256-ctr", "-K", key.hex(), "-iv", iv.hex()], data=plaintext)
    tag = hmac.new(hashlib.sha256(b"mac" + key).digest(), iv + ct, hashlib.sha256).digest()
    return iv + ct + tag


def decrypt(key_hex, blob):
    import hmac
    key = bytes.fromhex(key_hex)
    if len(blob) < 48:
        raise Fatal("cipher: message authentication failed")
    iv, ct, tag = blob[:16], blob[16:-32], blob[-32:]
    want = hmac.new(hashlib.sha256(b"mac" + key).digest(), iv + ct, hashlib.sha256).digest()
    if not hmac.compare_digest(tag, want):
        raise Fatal("cipher: message authentication failed")
    return _openssl(["enc", "-d", "-aes-256-ctr", "-K", key.hex(), "-iv", iv.hex()], data=ct)

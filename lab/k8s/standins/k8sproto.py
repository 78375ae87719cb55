"""Request bodies in Kubernetes' protobuf encoding (application/vnd.kubernetes.protobuf), which
client-go's typed clients send for built-in kinds (`kubectl create namespace|configmap|secret|
serviceaccount`, drain's evictions, delete options), decoded into the JSON objects the API server
stand-in works with. Only the kinds listed in MESSAGES are known; anything else is refused with the
real server's 415 for a media type it cannot decode.

Wire format: the 4 bytes `k8s\\0`, then a runtime.Unknown {typeMeta{apiVersion=1, kind=2}=1, raw=2,
contentEncoding=3, contentType=4} whose `raw` is the object's own message (field numbers from
k8s.io/api's generated.proto).
"""
import base64
import datetime

MAGIC = b"k8s\x00"


class ProtoError(ValueError):
    pass


def _varint(buf, i):
    shift = result = 0
    while True:
        if i >= len(buf):
            raise ProtoError("truncated varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def fields(buf):
    """[(number, wire type, value)] of one message (value: int for varints, bytes for the rest)."""
    out, i = [], 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(buf, i)
        elif wt == 2:
            n, i = _varint(buf, i)
            v, i = buf[i:i + n], i + n
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ProtoError("unsupported wire type %d" % wt)
        out.append((num, wt, v))
    return out


# Field types: "s" string, "b" bytes (base64 in JSON), "i" integer, "t" bool, "T" Time,
# "m:S" string map, "mb" bytes map, "[s" repeated string, "M:Name" message, "[M:Name" repeated message.
MESSAGES = {
    "ObjectMeta": {1: ("name", "s"), 2: ("generateName", "s"), 3: ("namespace", "s"), 4: ("selfLink", "s"),
                   5: ("uid", "s"), 6: ("resourceVersion", "s"), 7: ("generation", "i"),
                   8: ("creationTimestamp", "T"), 9: ("deletionTimestamp", "T"),
                   10: ("deletionGracePeriodSeconds", "i"), 11: ("labels", "m:s"), 12: ("annotations", "m:s"),
                   13: ("ownerReferences", "[M:OwnerReference"), 14: ("finalizers", "[s")},
    "OwnerReference": {1: ("kind", "s"), 3: ("name", "s"), 4: ("uid", "s"), 5: ("apiVersion", "s"),
                       6: ("controller", "t"), 7: ("blockOwnerDeletion", "t")},
    "ConfigMap": {1: ("metadata", "M:ObjectMeta"), 2: ("data", "m:s"), 3: ("binaryData", "mb"),
                  4: ("immutable", "t")},
    "Secret": {1: ("metadata", "M:ObjectMeta"), 2: ("data", "mb"), 3: ("type", "s"), 4: ("stringData", "m:s"),
               5: ("immutable", "t")},
    "Namespace": {1: ("metadata", "M:ObjectMeta"), 2: ("spec", "M:NamespaceSpec")},
    "NamespaceSpec": {1: ("finalizers", "[s")},
    "ServiceAccount": {1: ("metadata", "M:ObjectMeta"), 2: ("secrets", "[M:ObjectReference"),
                       3: ("imagePullSecrets", "[M:LocalObjectReference"), 4: ("automountServiceAccountToken", "t")},
    "ObjectReference": {1: ("kind", "s"), 2: ("namespace", "s"), 3: ("name", "s"), 4: ("uid", "s"),
                        5: ("apiVersion", "s"), 6: ("resourceVersion", "s"), 7: ("fieldPath", "s")},
    "LocalObjectReference": {1: ("name", "s")},
    "Eviction": {1: ("metadata", "M:ObjectMeta"), 2: ("deleteOptions", "M:DeleteOptions")},
    "DeleteOptions": {1: ("gracePeriodSeconds", "i"), 2: ("preconditions", "M:Preconditions"),
                      3: ("orphanDependents", "t"), 4: ("propagationPolicy", "s"), 5: ("dryRun", "[s")},
    "Preconditions": {1: ("uid", "s"), 2: ("resourceVersion", "s")},
}


def _time(buf):
    secs = 0
    for num, _, v in fields(buf):
        if num == 1:
            secs = v
    return datetime.datetime.fromtimestamp(secs, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _decode(name, buf):
    spec = MESSAGES[name]
    out = {}
    for num, _, v in fields(buf):
        if num not in spec:
            continue
        key, t = spec[num]
        if t == "s":
            out[key] = v.decode()
        elif t == "b":
            out[key] = base64.b64encode(v).decode()
        elif t == "i":
            out[key] = v if v < 1 << 63 else v - (1 << 64)
        elif t == "t":
            out[key] = bool(v)
        elif t == "T":
            out[key] = _time(v)
        elif t in ("m:s", "mb"):
            k = val = None
            for n2, _, v2 in fields(v):
                if n2 == 1:
                    k = v2.decode()
                elif n2 == 2:
                    val = v2
            out.setdefault(key, {})[k] = (val or b"").decode() if t == "m:s" else base64.b64encode(val or b"").decode()
        elif t == "[s":
            out.setdefault(key, []).append(v.decode())
        elif t.startswith("[M:"):
            out.setdefault(key, []).append(_decode(t[3:], v))
        elif t.startswith("M:"):
            out[key] = _decode(t[2:], v)
    return out


def decode(data):
    """The JSON object (with apiVersion and kind) of a protobuf request body. Raises ProtoError for
    what is not Kubernetes protobuf, KeyError (the kind) for a kind this module does not know."""
    if not data.startswith(MAGIC):
        raise ProtoError("provided data does not appear to be a protobuf message, expected prefix %r" % MAGIC)
    api_version = kind = ""
    raw = b""
    for num, _, v in fields(data[len(MAGIC):]):
        if num == 1:
            for n2, _, v2 in fields(v):
                if n2 == 1:
                    api_version = v2.decode()
                elif n2 == 2:
                    kind = v2.decode()
        elif num == 2:
            raw = v
    if kind not in MESSAGES:
        raise KeyError(kind)
    obj = _decode(kind, raw)
    obj = dict({"apiVersion": api_version, "kind": kind}, **obj)
    return obj

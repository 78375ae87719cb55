"""Kubernetes object storage on the real etcd (keys under /registry/, JSON values)."""
import copy
import json
import time
import uuid

from common import rfc3339
from etcdclient import EtcdError
from resources import Registry


class StatusError(Exception):
    """An API error carried to the client as a metav1.Status."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details or {}

    def status(self):
        s = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": self.message,
             "reason": self.reason, "code": self.code}
        if self.details:
            s["details"] = self.details
        return s


def not_found(res, name):
    return StatusError(404, "NotFound", '%s "%s" not found' % (res.group_resource, name),
                       {"name": name, "group": res.group, "kind": res.plural})


def already_exists(res, name):
    return StatusError(409, "AlreadyExists", '%s "%s" already exists' % (res.group_resource, name),
                       {"name": name, "group": res.group, "kind": res.plural})


def conflict(res, name):
    return StatusError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                       'please apply your changes to the latest version and try again' % (res.group_resource, name),
                       {"name": name, "group": res.group, "kind": res.plural})


def etcd_failure(e):
    msg = e.msg if isinstance(e, EtcdError) else str(e)
    if "deadline" in msg or "timed out" in msg or "no leader" in msg or getattr(e, "unavailable", False):
        if "timed out" not in msg and "deadline" not in msg:
            msg = "etcdserver: request timed out"
        return StatusError(500, "InternalError" if "timed out" in msg else "Timeout", msg)
    return StatusError(500, "InternalError", msg)


class Store:
    def __init__(self, etcd):
        self.etcd = etcd
        self._registry = None
        self._registry_at = 0.0

    # --- registry (built-ins + CRDs from etcd, refreshed every 2 s) ---
    def registry(self, refresh=False):
        if refresh or self._registry is None or time.monotonic() - self._registry_at > 2.0:
            try:
                kvs, _ = self.etcd.list("/registry/apiextensions.k8s.io/customresourcedefinitions/")
                crds = [json.loads(v) for _, v, _, _ in kvs]
                self._registry = Registry(crds)
                self._registry_at = time.monotonic()
            except EtcdError:
                if self._registry is None:
                    self._registry = Registry()
        return self._registry

    @staticmethod
    def _decode(value, mod):
        obj = json.loads(value)
        obj.setdefault("metadata", {})["resourceVersion"] = str(mod)
        return obj

    @staticmethod
    def _encode(obj):
        o = dict(obj)
        md = dict(o.get("metadata") or {})
        md.pop("resourceVersion", None)
        o["metadata"] = md
        return json.dumps(o, separators=(",", ":"))

    def get(self, res, ns, name):
        try:
            r = self.etcd.get(res.key(ns, name))
        except EtcdError as e:
            raise etcd_failure(e)
        if r is None:
            return None
        return self._decode(*r)

    def list(self, res, ns=None):
        prefix = res.etcd_prefix() + (ns + "/" if res.namespaced and ns else "")
        try:
            kvs, rev = self.etcd.list(prefix)
        except EtcdError as e:
            raise etcd_failure(e)
        items = []
        for k, v, mod, _ in kvs:
            rest = k[len(res.etcd_prefix()):]
            # a namespaced prefix must not match deeper keys of other resources
            if res.namespaced and rest.count("/") != 1:
                continue
            if not res.namespaced and "/" in rest:
                continue
            items.append(self._decode(v, mod))
        return items, rev

    def create(self, res, ns, obj):
        obj = copy.deepcopy(obj)
        md = obj.setdefault("metadata", {})
        md.setdefault("uid", str(uuid.uuid4()))
        md.setdefault("creationTimestamp", rfc3339())
        if res.namespaced:
            md["namespace"] = ns
        else:
            md.pop("namespace", None)
        md.setdefault("generation", 1)
        obj["apiVersion"] = res.api_version
        obj["kind"] = res.kind
        try:
            rev = self.etcd.create(res.key(ns, md["name"]), self._encode(obj))
        except EtcdError as e:
            raise etcd_failure(e)
        if rev is None:
            raise already_exists(res, md["name"])
        md["resourceVersion"] = str(rev)
        return obj

    def update(self, res, ns, name, obj, expect_rv=None):
        """Replace the object; with expect_rv, only if unchanged since that resourceVersion."""
        key = res.key(ns, name)
        try:
            if expect_rv is None:
                cur = self.etcd.get(key)
                if cur is None:
                    raise not_found(res, name)
                expect_rv = cur[1]
            obj = copy.deepcopy(obj)
            obj["apiVersion"] = res.api_version
            obj["kind"] = res.kind
            rev = self.etcd.update(key, self._encode(obj), int(expect_rv))
        except EtcdError as e:
            raise etcd_failure(e)
        if rev is None:
            if self.get(res, ns, name) is None:
                raise not_found(res, name)
            raise conflict(res, name)
        obj.setdefault("metadata", {})["resourceVersion"] = str(rev)
        md = obj["metadata"]
        if md.get("deletionTimestamp") and not md.get("finalizers"):
            # the last finalizer of an object being deleted is gone: the object goes
            try:
                self.etcd.delete(key)
            except EtcdError as e:
                raise etcd_failure(e)
        return obj

    def delete(self, res, ns, name):
        cur = self.get(res, ns, name)
        if cur is None:
            raise not_found(res, name)
        try:
            self.etcd.delete(res.key(ns, name))
        except EtcdError as e:
            raise etcd_failure(e)
        return cur

    def delete_namespace_contents(self, ns):
        for res in self.registry().resources:
            if res.namespaced:
                try:
                    self.etcd.delete(res.etcd_prefix() + ns + "/", prefix=True)
                except EtcdError as e:
                    raise etcd_failure(e)

    # --- raw keys for lab-internal state (ceph status, fault flags) ---
    def put_raw(self, key, value):
        try:
            self.etcd.put(key, json.dumps(value))
        except EtcdError as e:
            raise etcd_failure(e)

    def get_raw(self, key):
        try:
            r = self.etcd.get(key)
        except EtcdError as e:
            raise etcd_failure(e)
        return json.loads(r[0]) if r else None

"""Job controller (batch/v1) of the kube-controller-manager stand-in, and what the lab's Jobs "do".

No process runs in the lab: the kubelet stand-in lets a run-to-completion pod (restartPolicy
Never/OnFailure) exit 0 one sync after it started. This controller creates a Job's pods
(parallelism/completions), counts the succeeded ones and marks the Job Complete
(`SuccessCriteriaMet` + `Complete`, `succeeded`, `completionTime`) like the real one, and deletes
it ttlSecondsAfterFinished after it finished. Under the `job-fail` fault the pods exit 1: each failed
pod is replaced after a back-off (BACKOFF_SECONDS, doubled per failure; real: 10 s) until more than
`backoffLimit` (default 6) have failed, then the Job is `Failed` (`FailureTarget` + `Failed`, reason
BackoffLimitExceeded, "Job has reached the specified backoff limit"). Not simulated: indexed jobs,
podFailurePolicy, CronJobs.

Known job images get their effect applied before the Job completes (if that fails, the Job stays
active and is retried, as a failing container would be restarted):

* registry.k8s.io/ingress-nginx/kube-webhook-certgen `create`: the Secret `--secret-name` in
  `--namespace` with keys ca, cert, key (a real CA and serving certificate for `--host`, made with
  openssl); an existing Secret is kept. `patch`: the caBundle of every webhook of the
  ValidatingWebhookConfiguration (and the Mutating one unless `--patch-mutating=false`) named
  `--webhook-name`, and their failurePolicy if `--patch-failure-policy` is given; fails while the
  Secret does not exist.
"""
import base64
import os
import shutil
import tempfile

from apiclient import ApiError
from common import log, now as utcnow, parse_time, rfc3339

BACKOFF_SECONDS = 1.0


def owned_by(obj, owner):
    return any(o.get("uid") == owner["metadata"]["uid"] for o in obj["metadata"].get("ownerReferences") or [])


def cond(obj, typ):
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == typ), None)


def sync(kcm):
    for job in kcm.list("/apis/batch/v1/jobs"):
        try:
            sync_job(kcm, job)
        except ApiError as e:
            log("kcm", "job %s/%s: %s", job["metadata"].get("namespace"), job["metadata"]["name"], e.message)


def sync_job(kcm, job):
    md = job["metadata"]
    if md.get("deletionTimestamp"):
        return
    for t in ("Complete", "Failed"):
        c = cond(job, t)
        if c and c.get("status") == "True":
            expire_finished(kcm, job)
            return
    spec = job.get("spec") or {}
    if spec.get("suspend"):
        return
    completions = spec.get("completions", 1)
    completions = 1 if completions is None else int(completions)
    parallelism = int(spec.get("parallelism", 1) if spec.get("parallelism") is not None else 1)
    pods = [p for p in kcm.pods if p["metadata"].get("namespace") == md["namespace"] and owned_by(p, job)]
    succeeded = [p for p in pods if (p.get("status") or {}).get("phase") == "Succeeded"]
    failed = [p for p in pods if (p.get("status") or {}).get("phase") == "Failed"]
    active = [p for p in pods if not p["metadata"].get("deletionTimestamp") and
              (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    now = rfc3339()
    st = dict(job.get("status") or {})
    st.setdefault("startTime", now)
    st["uncountedTerminatedPods"] = {}
    st["terminating"] = 0
    if len(succeeded) >= completions:
        err = job_effect(kcm, job)
        if err:
            log("kcm", "job %s/%s: %s (will retry)", md["namespace"], md["name"], err)
            return
        st.update({"succeeded": len(succeeded), "failed": len(failed), "active": 0, "ready": 0,
                   "completionTime": now})
        st["conditions"] = [
            {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached",
             "message": "Reached expected number of succeeded pods", "lastProbeTime": now, "lastTransitionTime": now},
            {"type": "Complete", "status": "True", "reason": "CompletionsReached",
             "message": "Reached expected number of succeeded pods", "lastProbeTime": now, "lastTransitionTime": now}]
        put_status(kcm, job, st)
        log("kcm", "job %s/%s complete", md["namespace"], md["name"])
        return
    backoff_limit = int(spec.get("backoffLimit", 6) if spec.get("backoffLimit") is not None else 6)
    if len(failed) > backoff_limit:
        st.update({"succeeded": len(succeeded), "failed": len(failed), "active": 0, "ready": 0})
        st["conditions"] = [
            {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded",
             "message": "Job has reached the specified backoff limit", "lastProbeTime": now, "lastTransitionTime": now},
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
             "message": "Job has reached the specified backoff limit", "lastProbeTime": now, "lastTransitionTime": now}]
        put_status(kcm, job, st)
        log("kcm", "job %s/%s failed: backoff limit %d exceeded", md["namespace"], md["name"], backoff_limit)
        return
    if failed and not active:
        # a failed pod is replaced after a back-off that doubles with every failure
        last = max((parse_time(((cs.get("state") or {}).get("terminated") or {}).get("finishedAt")) or
                    parse_time(p["metadata"].get("creationTimestamp"))
                    for p in failed for cs in (p.get("status") or {}).get("containerStatuses") or [{}]),
                   default=None)
        delay = min(BACKOFF_SECONDS * 2 ** (len(failed) - 1), 360)
        if last is not None and (utcnow() - last).total_seconds() < delay:
            new = dict(st, active=0, ready=0, succeeded=len(succeeded), failed=len(failed))
            if new != (job.get("status") or {}):
                put_status(kcm, job, new)
            return
    want = min(parallelism, completions - len(succeeded)) - len(active)
    tmpl = (spec.get("template") or {})
    created = 0
    for _ in range(max(0, want)):
        labels = {"batch.kubernetes.io/controller-uid": md["uid"], "batch.kubernetes.io/job-name": md["name"],
                  "controller-uid": md["uid"], "job-name": md["name"]}
        if kcm.make_pod(job, "Job", "batch/v1", tmpl, generate=md["name"] + "-", extra_labels=labels):
            created += 1
    ready = sum(1 for p in active if any(c.get("type") == "Ready" and c.get("status") == "True"
                                         for c in (p.get("status") or {}).get("conditions") or []))
    new = dict(st, active=len(active) + created, ready=ready, succeeded=len(succeeded), failed=len(failed))
    if new != (job.get("status") or {}):
        put_status(kcm, job, new)


def expire_finished(kcm, job):
    """The TTL-after-finished controller: a finished Job with ttlSecondsAfterFinished is deleted that long
    after it finished (its pods follow through the garbage collector)."""
    ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
    done = parse_time((job.get("status") or {}).get("completionTime"))
    if ttl is None or done is None or (utcnow() - done).total_seconds() < int(ttl):
        return
    md = job["metadata"]
    try:
        kcm.c.delete("/apis/batch/v1/namespaces/%s/jobs/%s" % (md["namespace"], md["name"]))
        log("kcm", "ttl-after-finished deleted job %s/%s", md["namespace"], md["name"])
    except ApiError:
        pass


def put_status(kcm, job, st):
    job["status"] = st
    try:
        kcm.c.put("/apis/batch/v1/namespaces/%s/jobs/%s/status" % (job["metadata"]["namespace"],
                                                                   job["metadata"]["name"]), job)
    except ApiError as e:
        if e.code not in (404, 409):
            raise


# ------------------------------------------------------------------ what known job images do

def container_args(job):
    """(image, args) of the first container, with $(VAR) from env values and fieldRefs resolved."""
    tmpl = ((job.get("spec") or {}).get("template") or {}).get("spec") or {}
    cs = tmpl.get("containers") or []
    if not cs:
        return "", []
    c = cs[0]
    env = {}
    for e in c.get("env") or []:
        if "value" in e:
            env[e["name"]] = e["value"]
        elif ((e.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath") == "metadata.namespace":
            env[e["name"]] = job["metadata"]["namespace"]
    args = []
    for a in list(c.get("command") or []) + list(c.get("args") or []):
        for k, v in env.items():
            a = a.replace("$(%s)" % k, v)
        args.append(a)
    return c.get("image") or "", args


def flags(args):
    out = {}
    for a in args:
        if a.startswith("--") and "=" in a:
            k, v = a[2:].split("=", 1)
            out[k] = v
        elif a.startswith("--"):
            out[a[2:]] = "true"
    return out


def job_effect(kcm, job):
    image, args = container_args(job)
    if "kube-webhook-certgen" in image:
        cmd = next((a for a in args if not a.startswith("-") and a in ("create", "patch")), None)
        f = flags(args)
        if cmd == "create":
            return certgen_create(kcm, f, job["metadata"]["namespace"])
        if cmd == "patch":
            return certgen_patch(kcm, f, job["metadata"]["namespace"])
    return None


def certgen_create(kcm, f, job_ns):
    ns = f.get("namespace") or job_ns
    name = f.get("secret-name")
    if not name:
        return "kube-webhook-certgen create: --secret-name is required"
    path = "/api/v1/namespaces/%s/secrets" % ns
    try:
        kcm.c.get("%s/%s" % (path, name))
        return None          # certgen keeps an existing secret
    except ApiError as e:
        if e.code != 404:
            return e.message
    import pki
    d = tempfile.mkdtemp(prefix="cairn-lab-certgen-")
    try:
        pki.gen_key(os.path.join(d, "ca.key"), "ECDSA-P256")
        pki.self_signed_ca(os.path.join(d, "ca.key"), os.path.join(d, "ca.crt"), "certgen")
        pki.gen_key(os.path.join(d, "tls.key"), "ECDSA-P256")
        hosts = [h for h in (f.get("host") or "").split(",") if h]
        pki.sign(os.path.join(d, "ca.crt"), os.path.join(d, "ca.key"), os.path.join(d, "tls.key"),
                 os.path.join(d, "tls.crt"), hosts[0] if hosts else name, sans=hosts, server=True)
        data = {}
        for k, fn in (("ca", "ca.crt"), ("cert", "tls.crt"), ("key", "tls.key")):
            with open(os.path.join(d, fn), "rb") as fh:
                data[k] = base64.b64encode(fh.read()).decode()
    except Exception as e:  # noqa: BLE001 - openssl failures: the job is retried
        return "kube-webhook-certgen create: %s" % e
    finally:
        shutil.rmtree(d, ignore_errors=True)
    try:
        kcm.c.post(path, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns},
                          "type": "Opaque", "data": data})
    except ApiError as e:
        if e.code != 409:
            return e.message
    log("kcm", "kube-webhook-certgen: created secret %s/%s", ns, name)
    return None


def certgen_patch(kcm, f, job_ns):
    ns = f.get("namespace") or job_ns
    sname, wname = f.get("secret-name"), f.get("webhook-name")
    try:
        sec = kcm.c.get("/api/v1/namespaces/%s/secrets/%s" % (ns, sname))
    except ApiError as e:
        return "kube-webhook-certgen patch: secret %s/%s: %s" % (ns, sname, e.message)
    ca = (sec.get("data") or {}).get("ca")
    if not ca:
        return "kube-webhook-certgen patch: secret %s/%s has no ca" % (ns, sname)
    kinds = []
    if f.get("patch-validating", "true") == "true":
        kinds.append("validatingwebhookconfigurations")
    if f.get("patch-mutating", "true") == "true":
        kinds.append("mutatingwebhookconfigurations")
    for plural in kinds:
        path = "/apis/admissionregistration.k8s.io/v1/%s/%s" % (plural, wname)
        try:
            cfg = kcm.c.get(path)
        except ApiError as e:
            return "kube-webhook-certgen patch: %s %s: %s" % (plural, wname, e.message)
        for wh in cfg.get("webhooks") or []:
            wh.setdefault("clientConfig", {})["caBundle"] = ca
            if f.get("patch-failure-policy"):
                wh["failurePolicy"] = f["patch-failure-policy"]
        try:
            kcm.c.put(path, cfg)
        except ApiError as e:
            return "kube-webhook-certgen patch: %s %s: %s" % (plural, wname, e.message)
    log("kcm", "kube-webhook-certgen: patched caBundle of %s", wname)
    return None

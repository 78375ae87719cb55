"""Ceph command simulation for `kubectl exec deploy/rook-ceph-tools -- ceph ...`."""


def exec_in_pod(store, pod, container, cmd):
    if cmd[:1] == ["true"]:
        return "", "", 0
    if cmd[:1] == ["echo"]:
        return " ".join(cmd[1:]) + "\n", "", 0
    return "", ('OCI runtime exec failed: exec failed: unable to start container process: exec: "%s": executable file '
                'not found in $PATH: unknown\n' % (cmd[0] if cmd else "")), 126

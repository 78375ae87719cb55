"""Multi-call entry point of the Cairn lab's Kubernetes stand-ins (a zipapp copied under the
names kubeadm, kubelet, containerd, ctr, containerd-shim-runc-v2, runc, crictl; kubectl is the real one)."""
import os
import sys


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    from common import Fatal
    prog = os.path.basename(sys.argv[0])
    args = sys.argv[1:]
    # hidden override for tests: `python3 standins --as kubeadm ...`
    if args[:1] == ["--as"] and len(args) >= 2:
        prog, args = args[1], args[2:]
    for suffix in (".amd64", "-linux-amd64"):
        if prog.endswith(suffix):
            prog = prog[: -len(suffix)]
    try:
        if prog == "kubeadm":
            import kubeadm
            rc = kubeadm.main(args)
        elif prog == "kubelet":
            import kubelet
            rc = kubelet.main(args)
        elif prog == "containerd":
            import runtime
            rc = runtime.containerd_main(args)
        elif prog == "crictl":
            import runtime
            rc = runtime.crictl_main(args)
        elif prog == "ctr":
            import runtime
            rc = runtime.ctr_main(args)
        elif prog == "containerd-shim-runc-v2":
            import runtime
            rc = runtime.shim_main(args)
        elif prog == "runc":
            import runtime
            rc = runtime.runc_main(args)
        else:
            sys.stderr.write("cairn lab stand-ins: unknown program name %r\n" % prog)
            rc = 2
    except Fatal as e:
        sys.stderr.write(e.msg.rstrip("\n") + "\n")
        rc = e.code
    except KeyboardInterrupt:
        rc = 130
    sys.stdout.flush()
    sys.exit(rc or 0)


if __name__ == "__main__":
    main()

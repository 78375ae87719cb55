#!/usr/bin/python3
"""A minimal TCP load balancer for the lab tests (stands in for Cairn's API load balancer):
    tcplb.py LISTEN_ADDR:PORT BACKEND_ADDR:PORT...
Each connection goes to the first backend (round robin start) that accepts a TCP connection."""
import itertools
import socket
import sys
import threading


def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    backends = [(b.rsplit(":", 1)[0], int(b.rsplit(":", 1)[1])) for b in sys.argv[2:]]
    rr = itertools.cycle(range(len(backends)))
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, int(port)))
    srv.listen(128)
    print("listening on %s:%s" % (host, port), flush=True)
    while True:
        c, _ = srv.accept()
        start = next(rr)
        up = None
        for i in range(len(backends)):
            b = backends[(start + i) % len(backends)]
            try:
                up = socket.create_connection(b, timeout=1)
                up.settimeout(None)
                break
            except OSError:
                up = None
        if up is None:
            c.close()
            continue
        threading.Thread(target=pipe, args=(c, up), daemon=True).start()
        threading.Thread(target=pipe, args=(up, c), daemon=True).start()


if __name__ == "__main__":
    main()

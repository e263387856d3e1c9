"""How long a rotated server certificate takes to reach new handshakes.

A zmtls REP server reads its certificate and key from files. At a random
moment the key, then the certificate, are renamed over them (alternating
between two certificates of the test CA); new client sockets then connect
back to back, each reading the server's Serial peer property, until it
changes. Prints one line per rotation and min / median / max.

Run under the preload, with the test certificates of a build tree:
    LD_PRELOAD=build/libzmtls.so /usr/bin/python3 bench/rotation.py build/test-certs [ROUNDS]
ZMTLS_RELOAD_IVL in the environment sets the check interval (default 2000).
A measurement, not a test: the figures depend on the machine.
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "bindings", "python"))
import zmq  # noqa: E402
import zmtls  # noqa: E402


def second_server_cert(certs, d):
    """A server certificate like certs/server.pem, other key and serial."""
    ext = os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write("keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n"
                "basicConstraints=critical,CA:FALSE\n")
    key, csr, pem = (os.path.join(d, n) for n in ("alt.key", "alt.csr", "alt.pem"))
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
    run("openssl", "req", "-new", "-key", key, "-subj", "/CN=localhost", "-out", csr)
    run("openssl", "x509", "-req", "-in", csr, "-CA", os.path.join(certs, "ca.pem"),
        "-CAkey", os.path.join(certs, "ca.key"), "-set_serial", "0x1234567", "-days", "2",
        "-extfile", ext, "-out", pem)
    return pem, key


def main():
    certs = os.path.abspath(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    d = tempfile.mkdtemp(prefix="zmtls-rotation-")
    pairs = [(os.path.join(certs, "server.pem"), os.path.join(certs, "server.key")),
             second_server_cert(certs, d)]
    cur_pem, cur_key = os.path.join(d, "cur.pem"), os.path.join(d, "cur.key")
    shutil.copy(pairs[0][0], cur_pem)
    shutil.copy(pairs[0][1], cur_key)
    ctx = zmq.Context()
    srv = ctx.socket(zmq.REP)
    srv.setsockopt(zmq.LINGER, 0)
    zmtls.configure(srv, cert=cur_pem, key=cur_key, ca=os.path.join(certs, "ca.pem"))
    srv.bind("tls://127.0.0.1:*")
    ep = srv.getsockopt(zmq.LAST_ENDPOINT).decode()

    def serial_seen():
        c = ctx.socket(zmq.REQ)
        c.setsockopt(zmq.LINGER, 0)
        c.setsockopt(zmq.RCVTIMEO, 5000)
        zmtls.configure(c, cert=os.path.join(certs, "client.pem"),
                        key=os.path.join(certs, "client.key"),
                        ca=os.path.join(certs, "ca.pem"))
        c.connect(ep)
        c.send(b"x")
        if not srv.poll(5000):
            raise RuntimeError("no request within 5 s")
        srv.recv()
        srv.send(b"y")
        c.recv()
        s = zmtls.endpoint_peer_property(c, ep, "Serial")
        c.close()
        return s

    old = serial_seen()
    took = []
    for r in range(rounds):
        time.sleep(random.uniform(0, 2.5))  # a random phase against the check
        pem, key = pairs[(r + 1) % 2]
        shutil.copy(key, cur_key + ".new")
        shutil.copy(pem, cur_pem + ".new")
        os.rename(cur_key + ".new", cur_key)
        t0 = time.monotonic()
        os.rename(cur_pem + ".new", cur_pem)
        n = 0
        while True:
            s = serial_seen()
            n += 1
            if s != old or time.monotonic() - t0 > 10:
                break
        ms = (time.monotonic() - t0) * 1000
        print("rotation %d: serial %s after %.0f ms (%d handshakes)%s"
              % (r, s, ms, n, "" if s != old else " NOT SEEN within 10 s"), flush=True)
        took.append(ms)
        old = s
    took.sort()
    print("rotations %d: min %.0f median %.0f max %.0f ms"
          % (len(took), took[0], took[len(took) // 2], took[-1]))
    srv.close()
    ctx.term()
    shutil.rmtree(d)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""REQ/REP over tls:// with Debian's pyzmq and libzmtls, printing the
monitor events of both sides by name.

    /usr/bin/python3 examples/python_reqrep.py CERTS_DIR [REQUESTS]

CERTS_DIR holds the files scripts/make-certs.sh makes (ca.pem, server.pem,
server.key, client.pem, client.key; with rogue-client.pem/.key the demo ends
with a client whose certificate the server refuses). libzmtls.so is found
through ZMTLS_LIBRARY, a build directory of this source tree or the system
library path.

pyzmq needs nothing special: the script restarts itself with libzmtls in
LD_PRELOAD (zmtls.reexec_with_preload(), before pyzmq is imported), and from
then on "tls://" endpoints simply work in bind() and connect().
"""

import os
import sys
import time

try:
    import zmtls
except ImportError:  # running from the source tree
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "..", "bindings", "python"))
    import zmtls

# LD_PRELOAD must be in effect before pyzmq loads libzmq: restart now.
zmtls.reexec_with_preload()

import zmq  # noqa: E402  (after the restart, on purpose)

TIMEOUT_MS = 10000


def show(who, monitor):
    """Print every event queued on a monitor socket; return them."""
    events = []
    while True:
        ev = zmtls.recv_event(monitor, 0)
        if ev is None:
            return events
        alert = " (TLS alert %s)" % ev.alert if ev.alert else ""
        print("  %-8s %-26s value=%-5d %s%s" % (who, ev.name, ev.value, ev.endpoint,
                                               alert))
        events.append(ev)


def pump(monitors, sock=None, until=None):
    """Print events until ``sock`` is readable or ``until(events)`` holds;
    False on timeout."""
    poller = zmq.Poller()
    for _, mon in monitors:
        poller.register(mon, zmq.POLLIN)
    if sock is not None:
        poller.register(sock, zmq.POLLIN)
    seen = []
    deadline = time.monotonic() + TIMEOUT_MS / 1000.0
    while True:
        for who, mon in monitors:
            seen += show(who, mon)
        if sock is not None and sock.poll(0, zmq.POLLIN):
            return True
        if until is not None and until(seen):
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        poller.poll(max(1, int(left * 1000)))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    certs = sys.argv[1]
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    path = lambda name: os.path.join(certs, name)  # noqa: E731
    print("libzmtls %d.%d.%d interposed: %s" % (zmtls.version() + (zmtls.is_active(),)))

    ctx = zmq.Context()
    server = ctx.socket(zmq.REP)
    client = ctx.socket(zmq.REQ)
    for s in (server, client):
        s.setsockopt(zmq.LINGER, 0)
    zmtls.configure(server, cert=path("server.pem"), key=path("server.key"),
                    ca=path("ca.pem"))
    zmtls.configure(client, cert=path("client.pem"), key=path("client.key"),
                    ca=path("ca.pem"))
    monitors = [("server", server.get_monitor_socket()),
                ("client", client.get_monitor_socket())]

    server.bind("tls://127.0.0.1:*")
    endpoint = server.getsockopt_string(zmq.LAST_ENDPOINT)
    print("server bound to %s" % endpoint)
    client.connect(endpoint)

    ok = True
    for i in range(requests):
        client.send_string("request %d" % i)
        if not pump(monitors, server):
            sys.exit("no request arrived")
        msg = server.recv_string()
        server.send_string("reply to '%s'" % msg)
        if not pump(monitors, client):
            sys.exit("no reply arrived")
        print("client got: %s" % client.recv_string())

    rogue_cert = path("rogue-client.pem")
    if os.path.exists(rogue_cert):
        print("a client with a certificate from an untrusted CA:")
        rogue = ctx.socket(zmq.DEALER)
        rogue.setsockopt(zmq.LINGER, 0)
        zmtls.configure(rogue, cert=rogue_cert, key=path("rogue-client.key"),
                        ca=path("ca.pem"), auth_ivl=2000)
        rogue_mon = ("rogue", rogue.get_monitor_socket())
        rogue.connect(endpoint)
        rogue.send(b"refused, never delivered")
        refused = lambda seen: any(  # noqa: E731
            e.event == zmq.EVENT_HANDSHAKE_FAILED_AUTH for e in seen)
        ok = pump(monitors + [rogue_mon], until=refused)
        if server.poll(0, zmq.POLLIN):
            sys.exit("the server received a message from the refused client")
        rogue.disable_monitor()
        rogue_mon[1].close()
        rogue.close()

    for s, (_, mon) in zip((server, client), monitors):
        s.disable_monitor()
        mon.close()
    server.close()
    client.close()
    ctx.term()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Helpers for the pyzmq scenarios (they run in a child process that has
libzmtls in LD_PRELOAD; see conftest.py and _scenario.py).

Every wait here is a poll with a deadline: nothing sleeps to synchronise.
"""

import os
import time

import zmq

import zmtls

TIMEOUT_MS = 10000  # upper bound for anything that should happen "soon"
QUIET_MS = 300      # how long "nothing more arrives" is watched for


def now_ms():
    return time.monotonic() * 1000.0


class Peer:
    """A socket with its monitor and the log of decoded events.

    ``cert``/``key``/``ca`` are file names in ``certs`` (None: not set);
    ``opts`` are more zmtls.configure() arguments.
    """

    def __init__(self, ctx, name, kind, certs, cert=None, key=None, ca="ca.pem",
                 **opts):
        self.name = name
        self.sock = ctx.socket(kind)
        self.sock.setsockopt(zmq.LINGER, 0)
        path = (lambda f: os.path.join(certs, f) if f else None)
        zmtls.configure(self.sock, cert=path(cert), key=path(key), ca=path(ca), **opts)
        self.mon = self.sock.get_monitor_socket()
        self.events = []  # (ms since start, zmtls.Event)
        self.t0 = now_ms()
        self.endpoint = None

    def bind(self, endpoint="tls://127.0.0.1:*"):
        self.sock.bind(endpoint)
        self.endpoint = self.sock.getsockopt_string(zmq.LAST_ENDPOINT)
        return self.endpoint

    def connect(self, endpoint):
        self.sock.connect(endpoint)
        self.endpoint = endpoint

    def pump(self):
        """Move every event already queued on the monitor into the log."""
        while True:
            ev = zmtls.recv_event(self.mon, 0)
            if ev is None:
                return
            self.events.append((now_ms() - self.t0, ev))

    def names(self):
        return [e.name for _, e in self.events]

    def count(self, name):
        return sum(1 for _, e in self.events if e.name == name)

    def values(self, name):
        return [e.value for _, e in self.events if e.name == name]

    def index(self, name, nth=0):
        hits = [i for i, (_, e) in enumerate(self.events) if e.name == name]
        return hits[nth] if len(hits) > nth else -1

    def log(self):
        """JSON-friendly event log: [ms, name, value, endpoint, alert]."""
        return [[round(t, 1), e.name, e.value, e.endpoint, e.alert]
                for t, e in self.events]

    def close(self):
        if self.sock.closed:
            return
        self.pump()
        self.sock.disable_monitor()
        self.mon.close(0)
        self.sock.close(0)


def wait(peers, until=None, timeout_ms=TIMEOUT_MS, watch=()):
    """Pump the peers' monitors until ``until()`` is true or the deadline.

    ``watch`` are application sockets that must stay silent: the first one
    found readable is returned as ``(False, sock)``. Otherwise returns
    ``(True, None)`` when ``until()`` became true, ``(False, None)`` at the
    deadline (when ``until`` is None, waiting the whole time is the point
    and the result is ``(True, None)``).
    """
    deadline = now_ms() + timeout_ms
    poller = zmq.Poller()
    for p in peers:
        poller.register(p.mon, zmq.POLLIN)
    for s in watch:
        poller.register(s, zmq.POLLIN)
    while True:
        for p in peers:
            p.pump()
        for s in watch:
            if s.poll(0, zmq.POLLIN):
                return False, s
        if until is not None and until():
            return True, None
        left = deadline - now_ms()
        if left <= 0:
            return until is None, None
        poller.poll(max(1, int(left)))


def expect(peers, peer, name, count=1, timeout_ms=TIMEOUT_MS):
    """Wait for ``count`` events ``name`` on ``peer``; AssertionError (with
    the logs) when they do not come. Returns the last such value."""
    ok, _ = wait(peers, lambda: peer.count(name) >= count, timeout_ms)
    assert ok, "%s: no %d x %s within %d ms; events %s" % (
        peer.name, count, name, timeout_ms, peer.names())
    return peer.values(name)[count - 1]


def recv(sock, timeout_ms=TIMEOUT_MS):
    """recv_multipart with a deadline (AssertionError on timeout)."""
    assert sock.poll(timeout_ms, zmq.POLLIN), "nothing received in %d ms" % timeout_ms
    return sock.recv_multipart()


def roundtrip(cli, srv, parts, timeout_ms=TIMEOUT_MS):
    """Client sends ``parts``; server (REP/DEALER-style echo) sends them
    back; returns what the client got back."""
    cli.send_multipart(parts)
    got = recv(srv, timeout_ms)
    srv.send_multipart(got)
    return recv(cli, timeout_ms)


def closed_port():
    """A TCP port on 127.0.0.1 nobody listens on, and the socket holding it
    (bound, not listening: connects are refused). Close it when done."""
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1], s


class Context:
    """zmq.Context that, on leaving the block, closes the peers and terms the
    context (asserting it terms). On an exception it destroys the context
    with linger 0 so a failure never hangs in term()."""

    def __init__(self):
        self.ctx = zmq.Context()
        self.peers = []

    def peer(self, *args, **kwargs):
        p = Peer(self.ctx, *args, **kwargs)
        self.peers.append(p)
        return p

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.ctx.destroy(linger=0)
            return False
        for p in self.peers:
            p.close()
        self.ctx.term()
        return False

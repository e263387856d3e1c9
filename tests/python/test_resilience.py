"""Reconnects, hostile bytes on the tls port, and the transports zmtls must
leave alone under the preload."""

import socket

import zmq

import zt


def scenario_server_restart(certs, kind):
    """An established client loses its server (closed); a new server binds
    the same port; the client's next request must get through."""
    with zt.Context() as c:
        srv = c.peer("server-1", zmq.REP, certs, "server.pem", "server.key")
        endpoint = srv.bind()
        cli = c.peer("client", getattr(zmq, kind), certs, "client.pem", "client.key")
        if kind == "REQ":
            cli.sock.setsockopt(zmq.REQ_RELAXED, 1)
            cli.sock.setsockopt(zmq.REQ_CORRELATE, 1)
        cli.sock.setsockopt(zmq.RECONNECT_IVL, 100)
        cli.connect(endpoint)
        zt.expect([cli, srv], cli, "HANDSHAKE_SUCCEEDED")
        delim = [b""] if kind == "DEALER" else []
        before = zt.roundtrip(cli.sock, srv.sock, delim + [b"before"])
        srv.close()

        zt.expect([cli], cli, "DISCONNECTED")
        zt.expect([cli], cli, "CONNECT_RETRIED", 2)
        srv2 = c.peer("server-2", zmq.REP, certs, "server.pem", "server.key")
        srv2.bind(endpoint)
        zt.expect([cli, srv2], cli, "HANDSHAKE_SUCCEEDED", 2)
        after = zt.roundtrip(cli.sock, srv2.sock, delim + [b"after"])
        zt.wait([cli], timeout_ms=100)
        return {"before": [p.decode() for p in before],
                "after": [p.decode() for p in after],
                "client": cli.log(), "server2": srv2.log()}


def names(log):
    return [e[1] for e in log]


def check_restart(r, delim):
    assert r["before"] == delim + ["before"]
    assert r["after"] == delim + ["after"]
    cn = names(r["client"])
    assert cn.count("DISCONNECTED") == 1, cn
    assert cn.count("CONNECTED") == 2 and cn.count("HANDSHAKE_SUCCEEDED") == 2, cn
    assert "HANDSHAKE_FAILED_AUTH" not in cn, cn
    # DISCONNECTED belongs to the first connection: before any retry.
    assert cn.index("DISCONNECTED") < cn.index("CONNECT_RETRIED"), cn
    # Transient retries follow ZMQ_RECONNECT_IVL (100 ms + jitter < 100),
    # far below the auth schedule's 1 s floor.
    retried = [e[2] for e in r["client"] if e[1] == "CONNECT_RETRIED"]
    assert retried and all(100 <= v < 200 for v in retried), retried
    assert "HANDSHAKE_SUCCEEDED" in names(r["server2"])


def test_server_restart_dealer(preloaded):
    check_restart(preloaded(scenario_server_restart, kind="DEALER"), [""])


def test_server_restart_req_relaxed(preloaded):
    check_restart(preloaded(scenario_server_restart, kind="REQ"), [])


GARBAGE = [
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    bytes(range(256)) * 16,
    # A plain (unencrypted) ZMTP 3.0 greeting, as a tcp:// peer would send.
    b"\xff" + b"\x00" * 8 + b"\x7f\x03\x00NULL" + b"\x00" * 16 + b"\x00" * 32,
    # A TLS handshake record header announcing a huge body, then junk.
    b"\x16\x03\x01\xff\xff" + b"\x00" * 64,
]


def scenario_garbage(certs):
    """Raw TCP connections send junk (and one stays silent, one closes at
    once) to the tls port; then a good client must be served."""
    with zt.Context() as c:
        srv = c.peer("server", zmq.REP, certs, "server.pem", "server.key")
        srv.sock.setsockopt(zmq.HANDSHAKE_IVL, 5000)
        srv.bind()
        port = int(srv.endpoint.rsplit(":", 1)[1])
        raw = []
        for blob in GARBAGE:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            try:
                s.sendall(blob)
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the server may already have reset it: that is fine
            raw.append(s)
        silent = socket.create_connection(("127.0.0.1", port), timeout=5)
        quick = socket.create_connection(("127.0.0.1", port), timeout=5)
        quick.close()
        peers = [srv]
        failed = lambda: sum(srv.count(n) for n in (  # noqa: E731
            "HANDSHAKE_FAILED_PROTOCOL", "HANDSHAKE_FAILED_NO_DETAIL"))
        ok, leaked = zt.wait(peers, lambda: failed() >= len(GARBAGE) + 1,
                             watch=[srv.sock])
        cli = c.peer("client", zmq.REQ, certs, "client.pem", "client.key")
        cli.connect(srv.endpoint)
        zt.expect([cli, srv], cli, "HANDSHAKE_SUCCEEDED")
        reply = zt.roundtrip(cli.sock, srv.sock, [b"still serving"])
        # The silent connection did not block the good one and is still open.
        silent_open = True
        silent.settimeout(0)
        try:
            silent_open = silent.recv(1) != b""
        except BlockingIOError:
            pass
        except OSError:
            silent_open = False
        for s in raw + [silent]:
            s.close()
        return {"ok": ok, "server_received": leaked is not None,
                "reply": [p.decode() for p in reply], "server": srv.log(),
                "silent_open": silent_open}


def test_garbage_does_not_stop_server(preloaded):
    r = preloaded(scenario_garbage)
    sn = names(r["server"])
    assert r["ok"], sn
    assert not r["server_received"]
    assert r["reply"] == ["still serving"]
    assert sn.count("ACCEPTED") >= len(GARBAGE) + 3, sn  # + silent, quick, client
    assert "HANDSHAKE_FAILED_AUTH" not in sn, sn
    assert sn.count("HANDSHAKE_SUCCEEDED") == 1, sn
    assert r["silent_open"]


def scenario_plain_transports(certs):
    """tcp:// and inproc:// under the preload: round trips, endpoints and
    libzmq's own monitor events, as without zmtls."""
    with zt.Context() as c:
        srv = c.peer("tcp-server", zmq.REP, certs)
        endpoint = srv.bind("tcp://127.0.0.1:*")
        cli = c.peer("tcp-client", zmq.REQ, certs)
        cli.connect(endpoint)
        tcp = zt.roundtrip(cli.sock, srv.sock, [b"over", b"tcp"])
        zt.expect([cli, srv], cli, "HANDSHAKE_SUCCEEDED")
        zt.expect([cli, srv], srv, "HANDSHAKE_SUCCEEDED")

        a = c.peer("inproc-a", zmq.PAIR, certs)
        a.bind("inproc://zmtls-python-test")
        b = c.peer("inproc-b", zmq.PAIR, certs)
        b.connect("inproc://zmtls-python-test")
        b.sock.send_multipart([b"over", b"inproc"])
        got = zt.recv(a.sock)
        a.sock.send(b"back")
        back = zt.recv(b.sock)
        zt.wait([cli, srv], timeout_ms=100)
        return {"tcp_endpoint": endpoint, "tcp": [p.decode() for p in tcp],
                "inproc": [p.decode() for p in got], "inproc_back": back[0].decode(),
                "inproc_endpoint": a.endpoint,
                "client": cli.log(), "server": srv.log()}


def test_plain_tcp_and_inproc_unaffected(preloaded):
    r = preloaded(scenario_plain_transports)
    assert r["tcp_endpoint"].startswith("tcp://127.0.0.1:")
    assert r["tcp"] == ["over", "tcp"]
    assert r["inproc"] == ["over", "inproc"] and r["inproc_back"] == "back"
    assert r["inproc_endpoint"] == "inproc://zmtls-python-test"
    cn, sn = names(r["client"]), names(r["server"])
    assert cn.index("CONNECTED") < cn.index("HANDSHAKE_SUCCEEDED"), cn
    assert all(e[3] == r["tcp_endpoint"] for e in r["client"]), r["client"]
    assert "LISTENING" in sn and "ACCEPTED" in sn, sn
    assert not any(n.startswith("HANDSHAKE_FAILED") for n in cn + sn)

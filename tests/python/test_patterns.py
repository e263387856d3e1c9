"""Socket types beyond REQ/REP over tls://, as pyzmq code uses them."""

import pytest
import zmq

import zt


def scenario_router_dealer(certs):
    """Two DEALERs with routing ids against a ROUTER: each reply reaches its
    own sender; a REQ's envelope arrives intact."""
    with zt.Context() as c:
        srv = c.peer("router", zmq.ROUTER, certs, "server.pem", "server.key")
        srv.bind()
        clients = []
        for rid in (b"alpha", b"beta"):
            d = c.peer(rid.decode(), zmq.DEALER, certs, "client.pem", "client.key")
            d.sock.setsockopt(zmq.ROUTING_ID, rid)
            d.connect(srv.endpoint)
            clients.append(d)
        req = c.peer("req", zmq.REQ, certs, "client.pem", "client.key")
        req.sock.setsockopt(zmq.ROUTING_ID, b"client-7")
        req.connect(srv.endpoint)
        for p in clients + [req]:
            zt.expect([p, srv], p, "HANDSHAKE_SUCCEEDED")

        seen = {}
        for d in clients:
            d.sock.send_multipart([b"from", d.name.encode()])
        for _ in clients:
            frames = zt.recv(srv.sock)
            seen[frames[0].decode()] = [f.decode() for f in frames[1:]]
            srv.sock.send_multipart([frames[0], b"reply-to", frames[0]])
        replies = {d.name: [f.decode() for f in zt.recv(d.sock)] for d in clients}

        req.sock.send(b"hello")
        envelope = [f.decode() for f in zt.recv(srv.sock)]
        srv.sock.send_multipart([b"client-7", b"", b"world"])
        req_reply = [f.decode() for f in zt.recv(req.sock)]
        return {"seen": seen, "replies": replies, "envelope": envelope,
                "req_reply": req_reply}


def test_router_dealer_routing(preloaded):
    r = preloaded(scenario_router_dealer)
    assert r["seen"] == {"alpha": ["from", "alpha"], "beta": ["from", "beta"]}
    assert r["replies"] == {"alpha": ["reply-to", "alpha"], "beta": ["reply-to", "beta"]}
    assert r["envelope"] == ["client-7", "", "hello"]
    assert r["req_reply"] == ["world"]


def publish_until_received(pub, sub, topics, timeout_ms=3000):
    """A subscription reaches the publisher some time after the handshake:
    publish each topic in turn until the subscriber gets something, then
    drain. Returns the messages received."""
    got, n = [], 0
    deadline = zt.now_ms() + timeout_ms
    while not got and zt.now_ms() < deadline:
        for t in topics:
            pub.send_multipart([t, b"%d" % n])
        n += 1
        if sub.poll(20, zmq.POLLIN):
            got.append(sub.recv_multipart())
    while sub.poll(50, zmq.POLLIN):
        got.append(sub.recv_multipart())
    return got


def scenario_pub_sub(certs, sub_kind):
    """A SUB subscribes to "news" with ZMQ_SUBSCRIBE (or an XSUB sends the
    subscription message itself once the handshake is done); the PUB
    publishes "sport" and "news"."""
    with zt.Context() as c:
        pub = c.peer("pub", zmq.PUB, certs, "server.pem", "server.key")
        pub.bind()
        sub = c.peer("sub", getattr(zmq, sub_kind), certs, "client.pem", "client.key")
        if sub_kind == "SUB":
            sub.sock.setsockopt(zmq.SUBSCRIBE, b"news")
        sub.connect(pub.endpoint)
        zt.expect([sub, pub], sub, "HANDSHAKE_SUCCEEDED")
        if sub_kind == "XSUB":
            sub.sock.send(b"\x01news")
        got = publish_until_received(pub.sock, sub.sock, [b"sport", b"news"])
        return {"topics": sorted({m[0].decode() for m in got}), "got": len(got)}


def test_pub_sub_xsub_subscription_message(preloaded):
    r = preloaded(scenario_pub_sub, sub_kind="XSUB")
    assert r["got"] >= 1
    assert r["topics"] == ["news"]  # the publisher filtered


def test_pub_sub_zmq_subscribe(preloaded):
    r = preloaded(scenario_pub_sub, sub_kind="SUB")
    assert r["got"] >= 1
    assert r["topics"] == ["news"]


def scenario_push_pull(certs):
    """The bound PUSH sends 100 messages to a connecting PULL."""
    with zt.Context() as c:
        push = c.peer("push", zmq.PUSH, certs, "server.pem", "server.key")
        push.bind()
        pull = c.peer("pull", zmq.PULL, certs, "client.pem", "client.key")
        pull.connect(push.endpoint)
        for i in range(100):
            push.sock.send(b"item-%d" % i)
        items = [zt.recv(pull.sock)[0].decode() for _ in range(100)]
        return {"items": items}


def test_push_pull(preloaded):
    r = preloaded(scenario_push_pull)
    assert r["items"] == ["item-%d" % i for i in range(100)]


def scenario_peer_identity(certs):
    """The ROUTER learns each peer's certificate by routing id, the client
    its server's by endpoint, through the zmtls package."""
    import zmtls
    with zt.Context() as c:
        srv = c.peer("router", zmq.ROUTER, certs, "server.pem", "server.key")
        srv.bind()
        cli = c.peer("dealer", zmq.DEALER, certs, "client.pem", "client.key")
        cli.sock.setsockopt(zmq.ROUTING_ID, b"alice")
        cli.connect(srv.endpoint)
        zt.expect([cli, srv], cli, "HANDSHAKE_SUCCEEDED")
        cli.sock.send(b"hi")
        rid = zt.recv(srv.sock)[0]
        out = {name: zmtls.peer_property(srv.sock, rid, name)
               for name in ("Subject", "Issuer", "SAN", "SAN-Count", "SPIFFE-ID")}
        out["sans"] = zmtls.peer_sans(srv.sock, rid)
        out["server_subject"] = zmtls.endpoint_peer_property(
            cli.sock, srv.endpoint, "Subject")
        try:
            zmtls.peer_property(srv.sock, b"nobody", "Subject")
            out["unknown"] = "found"
        except zmq.ZMQError as e:
            out["unknown"] = e.errno
        return out


def test_peer_identity(preloaded):
    import errno
    r = preloaded(scenario_peer_identity)
    assert r["Subject"] == "CN=client"
    assert r["Issuer"] == "CN=zmtls test CA"
    assert r["SAN"] == "DNS:client"
    assert r["SAN-Count"] == "1"
    assert r["sans"] == ["DNS:client"]
    assert r["SPIFFE-ID"] == ""
    assert r["server_subject"] == "CN=localhost"
    assert r["unknown"] == errno.ENOENT

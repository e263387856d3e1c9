"""A good client and server over tls:// with pyzmq: messages and events."""

import hashlib
import os
import re

import zmq

import zt


def scenario_reqrep(certs):
    with zt.Context() as c:
        srv = c.peer("server", zmq.REP, certs, "server.pem", "server.key")
        endpoint = srv.bind("tls://127.0.0.1:*")
        cli = c.peer("client", zmq.REQ, certs, "client.pem", "client.key")
        cli.connect(endpoint)
        peers = [cli, srv]
        zt.expect(peers, cli, "HANDSHAKE_SUCCEEDED")
        zt.expect(peers, srv, "HANDSHAKE_SUCCEEDED")

        single = zt.roundtrip(cli.sock, srv.sock, [b"hello"])
        multi_sent = [b"first", b"", b"x" * 300, b"last"]
        multi = zt.roundtrip(cli.sock, srv.sock, multi_sent)
        big = os.urandom(1 << 20)
        big_back = zt.roundtrip(cli.sock, srv.sock, [big])
        zt.wait(peers, timeout_ms=100)  # collect trailing events
        return {
            "endpoint": endpoint,
            "single": [p.decode() for p in single],
            "multi_ok": multi == multi_sent,
            "multi_lens": [len(p) for p in multi],
            "big_sent": hashlib.sha256(big).hexdigest(),
            "big_back": [hashlib.sha256(p).hexdigest() for p in big_back],
            "big_len": [len(p) for p in big_back],
            "client": cli.log(),
            "server": srv.log(),
        }


def names(log):
    return [e[1] for e in log]


def test_roundtrip_single_multipart_and_1mb(preloaded):
    r = preloaded(scenario_reqrep)
    assert re.fullmatch(r"tls://127\.0\.0\.1:\d+", r["endpoint"]), r["endpoint"]
    assert int(r["endpoint"].rsplit(":", 1)[1]) > 0
    assert r["single"] == ["hello"]
    assert r["multi_ok"], r["multi_lens"]
    assert r["multi_lens"] == [5, 0, 300, 4]
    assert r["big_len"] == [1 << 20]
    assert r["big_back"] == [r["big_sent"]]


def test_monitor_events_good_handshake(preloaded):
    r = preloaded(scenario_reqrep)
    cli, srv, ep = r["client"], r["server"], r["endpoint"]
    cn = names(cli)
    # Client: (CONNECT_DELAYED,) CONNECTED then HANDSHAKE_SUCCEEDED, once.
    assert cn.count("CONNECTED") == 1, cn
    assert cn.count("HANDSHAKE_SUCCEEDED") == 1, cn
    assert cn.index("CONNECTED") < cn.index("HANDSHAKE_SUCCEEDED"), cn
    if "CONNECT_DELAYED" in cn:
        assert cn.index("CONNECT_DELAYED") < cn.index("CONNECTED"), cn
    for bad in ("HANDSHAKE_FAILED_AUTH", "HANDSHAKE_FAILED_PROTOCOL",
                "HANDSHAKE_FAILED_NO_DETAIL", "DISCONNECTED", "CONNECT_RETRIED"):
        assert bad not in cn, cn
    connected = cli[cn.index("CONNECTED")]
    succeeded = cli[cn.index("HANDSHAKE_SUCCEEDED")]
    assert connected[2] > 0  # the fd
    assert succeeded[2] == 0
    assert connected[3] == ep and succeeded[3] == ep
    assert succeeded[4] is None  # alert is only decoded for failures
    # Server: LISTENING, ACCEPTED, HANDSHAKE_SUCCEEDED in that order.
    sn = names(srv)
    assert sn.count("LISTENING") == 1 and sn.count("ACCEPTED") == 1, sn
    assert sn.count("HANDSHAKE_SUCCEEDED") == 1, sn
    assert sn.index("LISTENING") < sn.index("ACCEPTED") < sn.index(
        "HANDSHAKE_SUCCEEDED"), sn
    assert srv[sn.index("LISTENING")][3] == ep
    assert srv[sn.index("HANDSHAKE_SUCCEEDED")][2] == 0
    assert not any(n.startswith("HANDSHAKE_FAILED") for n in sn), sn

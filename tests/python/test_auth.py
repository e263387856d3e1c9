"""Certificates refused by either side, seen from pyzmq.

A refusal is HANDSHAKE_FAILED_AUTH with the TLS alert as its value, never
CONNECTED or DISCONNECTED, and the server application never receives what
the refused client queued. The reconnect schedule after refusals is checked
on counts and on the intervals the library reports, never on timing.
"""

import pytest
import zmq

import zmtls
import zt

REFUSED_IVL = 250     # constant auth step (floor == cap) for the refusal tests
REFUSED_ATTEMPTS = 2


def scenario_refused(certs, cert, key, attempts=REFUSED_ATTEMPTS):
    """A DEALER with (cert, key) against a ROUTER server; runs until the
    client saw ``attempts`` refusals, watching the server socket."""
    with zt.Context() as c:
        srv = c.peer("server", zmq.ROUTER, certs, "server.pem", "server.key")
        srv.bind()
        cli = c.peer("client", zmq.DEALER, certs, cert, key,
                     auth_ivl=REFUSED_IVL, auth_ivl_max=REFUSED_IVL)
        cli.connect(srv.endpoint)
        try:
            cli.sock.send(b"must-not-arrive", zmq.DONTWAIT)
            queued = True
        except zmq.Again:
            queued = False
        peers = [cli, srv]
        ok, leaked = zt.wait(
            peers, lambda: cli.count("HANDSHAKE_FAILED_AUTH") >= attempts,
            zt.TIMEOUT_MS + attempts * REFUSED_IVL * 2, watch=[srv.sock])
        if leaked is None:
            # The server's event for the last attempt may trail the client's;
            # then watch a little longer for a late delivery.
            zt.wait(peers, lambda: srv.count("HANDSHAKE_FAILED_AUTH")
                    >= cli.count("HANDSHAKE_FAILED_AUTH"), 1000, watch=[srv.sock])
            _, leaked = zt.wait(peers, None, zt.QUIET_MS, watch=[srv.sock])
        return {"ok": ok, "queued": queued, "server_received": leaked is not None,
                "client": cli.log(), "server": srv.log()}


def names(log):
    return [e[1] for e in log]


def values(log, name):
    return [e[2] for e in log if e[1] == name]


@pytest.mark.parametrize("cert,key,alert", [
    ("rogue-client.pem", "rogue-client.key", 48),     # unknown_ca
    (None, None, 116),                                 # certificate_required
    ("expired-client.pem", "expired-client.key", 45),  # certificate_expired
], ids=["untrusted_ca", "no_client_cert", "expired_client"])
def test_client_refused(preloaded, cert, key, alert):
    r = preloaded(scenario_refused, cert=cert, key=key)
    cli, srv = r["client"], r["server"]
    assert r["ok"], names(cli)
    assert not r["server_received"], "the server application got a message"
    assert r["queued"]

    cn = names(cli)
    c_fail = values(cli, "HANDSHAKE_FAILED_AUTH")
    assert len(c_fail) >= REFUSED_ATTEMPTS
    assert set(c_fail) == {alert}, cli
    assert all(e[4] == zmtls.alert_name(alert) for e in cli
               if e[1] == "HANDSHAKE_FAILED_AUTH")
    assert zmtls.alert_is_auth(alert)
    for never in ("CONNECTED", "DISCONNECTED", "HANDSHAKE_SUCCEEDED",
                  "HANDSHAKE_FAILED_PROTOCOL", "HANDSHAKE_FAILED_NO_DETAIL"):
        assert never not in cn, cn
    # Each refusal is followed by one retry on the auth schedule.
    failures = retries_since = 0
    for e in cli:
        if e[1] == "HANDSHAKE_FAILED_AUTH":
            assert failures == 0 or retries_since == 1, cn
            failures, retries_since = failures + 1, 0
        elif e[1] == "CONNECT_RETRIED":
            assert failures > 0, cn
            assert REFUSED_IVL * 8 // 10 <= e[2] <= (REFUSED_IVL * 12 + 9) // 10, e
            retries_since += 1

    sn = names(srv)
    s_fail = values(srv, "HANDSHAKE_FAILED_AUTH")
    assert len(c_fail) - 1 <= len(s_fail) <= len(c_fail) + 1, (cn, sn)
    assert set(s_fail) == {alert}, srv
    assert sn.count("ACCEPTED") >= len(s_fail)
    assert "HANDSHAKE_SUCCEEDED" not in sn and "DISCONNECTED" not in sn, sn


def scenario_wrong_host(certs):
    """Server certificate for wrong.example only; the client connects to
    127.0.0.1. Then a control client naming wrong.example."""
    with zt.Context() as c:
        srv = c.peer("server", zmq.REP, certs, "wronghost-server.pem",
                     "wronghost-server.key")
        srv.bind()
        cli = c.peer("client", zmq.REQ, certs, "client.pem", "client.key",
                     auth_ivl=500)
        cli.connect(srv.endpoint)
        cli.sock.send(b"request")
        peers = [cli, srv]
        ok, leaked = zt.wait(
            peers, lambda: cli.count("HANDSHAKE_FAILED_AUTH") >= 1
            and srv.count("HANDSHAKE_FAILED_AUTH") >= 1, watch=[srv.sock])
        if leaked is None:
            _, leaked = zt.wait(peers, None, zt.QUIET_MS, watch=[srv.sock])
        cli.close()

        ctl = c.peer("control", zmq.REQ, certs, "client.pem", "client.key",
                     server_name="wrong.example")
        ctl.connect(srv.endpoint)
        zt.expect([ctl, srv], ctl, "HANDSHAKE_SUCCEEDED")
        reply = zt.roundtrip(ctl.sock, srv.sock, [b"hello"])
        return {"ok": ok, "server_received": leaked is not None,
                "client": cli.log(), "server": srv.log(), "control": ctl.log(),
                "reply": [p.decode() for p in reply]}


def test_wrong_server_name(preloaded):
    r = preloaded(scenario_wrong_host)
    cli, srv = r["client"], r["server"]
    assert r["ok"], (names(cli), names(srv))
    assert not r["server_received"]
    c_alert = values(cli, "HANDSHAKE_FAILED_AUTH")[0]
    assert zmtls.alert_is_auth(c_alert), c_alert
    for never in ("CONNECTED", "DISCONNECTED", "HANDSHAKE_SUCCEEDED"):
        assert never not in names(cli), names(cli)
    assert zmtls.alert_is_auth(values(srv, "HANDSHAKE_FAILED_AUTH")[0])
    # Control: the same server works when the client expects its name.
    assert "HANDSHAKE_FAILED_AUTH" not in names(r["control"])
    assert r["reply"] == ["hello"]


FLOOR, CAP, WINDOW_MS, TRANSIENT = 200, 1600, 2500, 100


def step_of(k):
    return min(FLOOR * 2 ** k, CAP)


def max_failures(window):
    """Failures possible within ``window`` ms of the first one with every
    interval at its minimum (0.8 * step): 5 for 200/1600/2500."""
    n, cum, k = 1, 0, 0
    while True:
        cum += step_of(k) * 8 // 10
        if cum > window:
            return n
        n, k = n + 1, k + 1


def scenario_backoff(certs):
    """A refused client on the 200..1600 ms auth schedule and, in the same
    window, a client retrying a closed port on ZMQ_RECONNECT_IVL 100."""
    port, holder = zt.closed_port()
    try:
        with zt.Context() as c:
            srv = c.peer("server", zmq.ROUTER, certs, "server.pem", "server.key")
            srv.bind()
            cli = c.peer("rogue", zmq.DEALER, certs, "rogue-client.pem",
                         "rogue-client.key", auth_ivl=FLOOR, auth_ivl_max=CAP)
            opts = [zmtls.getsockopt(cli.sock, "AUTH_IVL"),
                    zmtls.getsockopt(cli.sock, "AUTH_IVL_MAX")]
            tr = c.peer("transient", zmq.DEALER, certs, "client.pem", "client.key")
            tr.sock.setsockopt(zmq.RECONNECT_IVL, TRANSIENT)
            cli.connect(srv.endpoint)
            tr.connect("tls://127.0.0.1:%d" % port)
            peers = [cli, srv, tr]
            zt.expect(peers, cli, "HANDSHAKE_FAILED_AUTH")
            tr_before = len(tr.events)
            # The window opens at the first refusal and lasts WINDOW_MS.
            zt.wait(peers, None, WINDOW_MS)
            return {"opts": opts, "client": cli.log(), "server": srv.log(),
                    "transient": tr.log()[tr_before:]}
    finally:
        holder.close()


def test_auth_backoff_schedule(preloaded):
    r = preloaded(scenario_backoff)
    assert r["opts"] == [FLOOR, CAP]
    cli, srv, tr = r["client"], r["server"], r["transient"]
    c_fail = len(values(cli, "HANDSHAKE_FAILED_AUTH"))
    s_fail = len(values(srv, "HANDSHAKE_FAILED_AUTH"))
    bound = max_failures(WINDOW_MS)
    assert 2 <= c_fail <= bound, (c_fail, bound, names(cli))
    assert c_fail - 1 <= s_fail <= c_fail + 1, (c_fail, s_fail)
    for never in ("CONNECTED", "DISCONNECTED", "HANDSHAKE_SUCCEEDED"):
        assert never not in names(cli)
    assert "HANDSHAKE_SUCCEEDED" not in names(srv)
    # Retry k follows failure k and uses step_k with +/-20 % jitter.
    retried = values(cli, "CONNECT_RETRIED")
    assert len(retried) in (c_fail, c_fail - 1), names(cli)
    for k, v in enumerate(retried):
        step = step_of(k)
        assert step * 8 // 10 <= v <= (step * 12 + 9) // 10, (k, v, step)
    cn = names(cli)
    fail_at = [i for i, n in enumerate(cn) if n == "HANDSHAKE_FAILED_AUTH"]
    retry_at = [i for i, n in enumerate(cn) if n == "CONNECT_RETRIED"]
    assert all(f < r_ for f, r_ in zip(fail_at, retry_at)), cn
    # Transient retries in the same window: libzmq's interval, and many more.
    tr_retried = values(tr, "CONNECT_RETRIED")
    assert all(TRANSIENT <= v < 2 * TRANSIENT for v in tr_retried), tr_retried
    assert "HANDSHAKE_FAILED_AUTH" not in names(tr)
    assert len(tr_retried) > c_fail, (len(tr_retried), c_fail)


def scenario_auth_stop(certs, wait_ms):
    with zt.Context() as c:
        srv = c.peer("server", zmq.ROUTER, certs, "server.pem", "server.key")
        srv.bind()
        cli = c.peer("rogue", zmq.DEALER, certs, "rogue-client.pem",
                     "rogue-client.key", auth_ivl=100, auth_ivl_max=100,
                     auth_stop=1)
        cli.connect(srv.endpoint)
        peers = [cli, srv]
        zt.expect(peers, cli, "HANDSHAKE_FAILED_AUTH")
        zt.wait(peers, None, wait_ms)
        return {"client": cli.log(), "server": srv.log()}


def test_auth_stop(preloaded):
    # A 100 ms interval would retry ~10 times in the 1 s watched.
    r = preloaded(scenario_auth_stop, wait_ms=1000)
    cn, sn = names(r["client"]), names(r["server"])
    assert cn.count("HANDSHAKE_FAILED_AUTH") == 1, cn
    assert "CONNECT_RETRIED" not in cn[cn.index("HANDSHAKE_FAILED_AUTH"):], cn
    assert sn.count("ACCEPTED") == 1 and sn.count("HANDSHAKE_FAILED_AUTH") == 1, sn

"""zmtls socket options from pyzmq: set/get, errors, PEM text and the
ZMTLS_CERT/KEY/CA environment defaults."""

import errno

import pytest
import zmq

import zmtls
import zt


def scenario_options(certs):
    out = {}
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    try:
        out["defaults"] = {n: zmtls.getsockopt(s, n) for n in zmtls.OPTIONS
                           if n != "KEY_PEM"}
        strings = {"CERT_FILE": certs + "/client.pem", "KEY_FILE": certs + "/client.key",
                   "CA_FILE": certs + "/ca.pem", "SERVER_NAME": "server.example",
                   "CRL_FILE": certs + "/crl-empty.pem",
                   "CERT_PEM": open(certs + "/client.pem").read(),
                   "CA_PEM": open(certs + "/ca.pem").read()}
        for name, value in strings.items():
            zmtls.setsockopt(s, name, value)
        out["strings_ok"] = {n: zmtls.getsockopt(s, n) == v for n, v in strings.items()}
        # Other spellings and value types.
        zmtls.setsockopt(s, "zmtls_server_name", b"bytes.example")
        zmtls.setsockopt(s, zmtls.SERVER_NAME + 0, b"with-nul.example\0")
        out["nul_stripped"] = zmtls.getsockopt(s, "server_name")
        big = "x" * 100000  # longer than the first read buffer
        zmtls.setsockopt(s, zmtls.SERVER_NAME, big)
        out["big_ok"] = zmtls.getsockopt(s, zmtls.SERVER_NAME) == big
        zmtls.setsockopt(s, "SERVER_NAME", "")
        out["cleared"] = zmtls.getsockopt(s, "SERVER_NAME")
        zmtls.setsockopt(s, "KEY_PEM", open(certs + "/client.key", "rb").read())

        for name, value in (("AUTH_IVL", 250), ("AUTH_IVL_MAX", 4000), ("AUTH_STOP", 1)):
            zmtls.setsockopt(s, name, value)
        out["ints"] = [zmtls.getsockopt(s, n) for n in ("AUTH_IVL", "AUTH_IVL_MAX",
                                                        "AUTH_STOP")]
        # The 64-bit one keeps values past 32 bits.
        zmtls.setsockopt(s, "MULTIPART_MAX_BYTES", 5 << 32)
        out["int64"] = zmtls.getsockopt(s, "MULTIPART_MAX_BYTES")
        # pyzmq's own setsockopt/getsockopt handle the int options.
        s.setsockopt(zmtls.AUTH_IVL, 333)
        out["pyzmq_int"] = [s.getsockopt(zmtls.AUTH_IVL), zmtls.getsockopt(s, "AUTH_IVL")]
        # libzmq options pass through the helpers.
        zmtls.setsockopt(s, zmq.RECONNECT_IVL, 150)
        out["passthrough"] = zmtls.getsockopt(s, zmq.RECONNECT_IVL)

        errors = {}
        for label, call in (
                ("get_key_pem", lambda: zmtls.getsockopt(s, "KEY_PEM")),
                ("auth_ivl_0", lambda: zmtls.setsockopt(s, "AUTH_IVL", 0)),
                ("auth_stop_2", lambda: zmtls.setsockopt(s, "AUTH_STOP", 2)),
                ("embedded_nul", lambda: zmtls.setsockopt(s, "CA_FILE", b"a\0b"))):
            try:
                call()
                errors[label] = None
            except zmq.ZMQError as e:
                errors[label] = [e.errno, str(e)]
        out["errors"] = errors
        out["ints_after_errors"] = [zmtls.getsockopt(s, "AUTH_IVL"),
                                    zmtls.getsockopt(s, "AUTH_STOP")]
        try:
            zmtls.setsockopt(s, "NO_SUCH_OPTION", 1)
            out["unknown_name"] = None
        except ValueError:
            out["unknown_name"] = "ValueError"
    finally:
        s.close(0)
        ctx.term()
    return out


def test_option_set_get_roundtrip(preloaded):
    r = preloaded(scenario_options)
    assert r["defaults"] == {
        "CERT_FILE": "", "KEY_FILE": "", "CA_FILE": "", "CERT_PEM": "", "CA_PEM": "",
        "SERVER_NAME": "", "AUTH_IVL": zmtls.AUTH_IVL_DEFAULT,
        "AUTH_IVL_MAX": zmtls.AUTH_IVL_MAX_DEFAULT, "AUTH_STOP": 0,
        "RESUME": 1, "MULTIPART_MAX_PARTS": zmtls.MULTIPART_MAX_PARTS_DEFAULT,
        "MULTIPART_MAX_BYTES": zmtls.MULTIPART_MAX_BYTES_DEFAULT,
        "HANDSHAKES_MAX": zmtls.HANDSHAKES_MAX_DEFAULT,
        "HANDSHAKES_PER_ADDR": zmtls.HANDSHAKES_PER_ADDR_DEFAULT,
        "VERIFY_DEPTH": zmtls.VERIFY_DEPTH_DEFAULT,
        "TLS_UPDATES_MAX": zmtls.TLS_UPDATES_MAX_DEFAULT,
        "SESSION_LIFETIME": zmtls.SESSION_LIFETIME_DEFAULT, "CRL_FILE": "",
        "OFFENDER_FAILURES": zmtls.OFFENDER_FAILURES_DEFAULT,
        "OFFENDER_WINDOW": zmtls.OFFENDER_WINDOW_DEFAULT,
        "OFFENDER_BAN": zmtls.OFFENDER_BAN_DEFAULT, "ALLOW": "", "ZAP_CERT": 0}
    assert all(r["strings_ok"].values()), r["strings_ok"]
    assert r["nul_stripped"] == "with-nul.example"
    assert r["big_ok"]
    assert r["cleared"] == ""
    assert r["ints"] == [250, 4000, 1]
    assert r["int64"] == 5 << 32
    assert r["pyzmq_int"] == [333, 333]
    assert r["passthrough"] == 150
    assert r["unknown_name"] == "ValueError"


def test_option_errors(preloaded):
    r = preloaded(scenario_options)
    e = r["errors"]
    assert e["get_key_pem"][0] == errno.EINVAL  # write-only
    assert e["auth_ivl_0"][0] == errno.EINVAL
    assert e["auth_stop_2"][0] == errno.EINVAL
    assert e["embedded_nul"][0] == errno.EINVAL
    assert "zmtls" in e["auth_ivl_0"][1]  # zmtls_last_error() in the message
    assert r["ints_after_errors"] == [333, 1]  # refused values changed nothing


def scenario_bad_credentials(certs):
    out = {}
    ctx = zmq.Context()
    socks = []

    def attempt(label, kind, op, endpoint, **creds):
        s = ctx.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        socks.append(s)
        zmtls.configure(s, **creds)
        try:
            getattr(s, op)(endpoint)
            out[label] = None
        except zmq.ZMQError as e:
            out[label] = [e.errno, zmtls.last_error()]

    try:
        attempt("missing_cert_file", zmq.REQ, "connect", "tls://127.0.0.1:1",
                cert=certs + "/no-such-cert.pem", key=certs + "/client.key",
                ca=certs + "/ca.pem")
        attempt("missing_ca_file", zmq.REQ, "connect", "tls://127.0.0.1:1",
                ca="/nonexistent/ca.pem")
        attempt("bind_without_cert", zmq.REP, "bind", "tls://127.0.0.1:*",
                ca=certs + "/ca.pem")
        attempt("garbage_pem", zmq.REQ, "connect", "tls://127.0.0.1:1",
                ca_pem="not a certificate")
    finally:
        for s in socks:
            s.close(0)
        ctx.term()
    return out


def test_bad_credentials_raise(preloaded):
    r = preloaded(scenario_bad_credentials)
    err, msg = r["missing_cert_file"]
    assert err == errno.ENOENT, r
    assert "no-such-cert.pem" in msg, msg
    assert r["missing_ca_file"][0] == errno.ENOENT, r
    assert r["bind_without_cert"][0] == errno.EINVAL, r
    assert r["garbage_pem"][0] == errno.EINVAL, r
    assert all(v[1] for v in r.values()), r  # every failure explained


def scenario_pem_and_env(certs):
    """Server credentials from ZMTLS_CERT/KEY/CA (environment); client
    credentials as PEM text options, which win over the environment (whose
    certificate is a server one the server would refuse for a client)."""
    read = lambda f: open(certs + "/" + f).read()  # noqa: E731
    with zt.Context() as c:
        srv = c.peer("server", zmq.REP, certs, ca=None)
        endpoint = srv.bind()
        cli = c.peer("client", zmq.REQ, certs, ca=None, cert_pem=read("client.pem"),
                     key_pem=read("client.key"), ca_pem=read("ca.pem"))
        cli.connect(endpoint)
        zt.expect([cli, srv], cli, "HANDSHAKE_SUCCEEDED")
        reply = zt.roundtrip(cli.sock, srv.sock, [b"pem"])
        return {"reply": [p.decode() for p in reply], "client": cli.log(),
                "server_cert_option": zmtls.getsockopt(srv.sock, "CERT_FILE")}


def test_pem_options_and_env_defaults(preloaded, certs):
    r = preloaded(scenario_pem_and_env, env={
        "ZMTLS_CERT": certs + "/server.pem", "ZMTLS_KEY": certs + "/server.key",
        "ZMTLS_CA": certs + "/ca.pem"})
    assert r["reply"] == ["pem"]
    assert "HANDSHAKE_FAILED_AUTH" not in [e[1] for e in r["client"]]
    assert r["server_cert_option"] == ""  # the environment is not an option


BAD_ENDPOINTS = [("bind", e) for e in ("tls://127.0.0.1", "tls://127.0.0.1:notaport",
                                       "tls://127.0.0.1:70000", "tls://:5555")] + \
                [("connect", e) for e in ("tls://*:5555", "tls://127.0.0.1:*",
                                          "tls://[::1:5555")]


def scenario_bad_endpoints(certs):
    out = []
    ctx = zmq.Context()
    srv, cli = ctx.socket(zmq.REP), ctx.socket(zmq.REQ)
    try:
        zmtls.configure(srv, cert=certs + "/server.pem", key=certs + "/server.key",
                        ca=certs + "/ca.pem")
        zmtls.configure(cli, cert=certs + "/client.pem", key=certs + "/client.key",
                        ca=certs + "/ca.pem")
        for op, endpoint in BAD_ENDPOINTS:
            try:
                getattr(srv if op == "bind" else cli, op)(endpoint)
                out.append([op, endpoint, None, ""])
            except zmq.ZMQError as e:
                out.append([op, endpoint, e.errno, zmtls.last_error()])
    finally:
        srv.close(0)
        cli.close(0)
        ctx.term()
    return out


def test_malformed_endpoints_refused(preloaded):
    for op, endpoint, err, msg in preloaded(scenario_bad_endpoints):
        assert err is not None, (op, endpoint)
        assert msg, (op, endpoint)


def test_malformed_endpoint_errno_is_einval(preloaded):
    # As libzmq answers for a malformed tcp:// endpoint.
    errs = {(op, ep): err for op, ep, err, _ in preloaded(scenario_bad_endpoints)}
    assert set(errs.values()) == {errno.EINVAL}, errs

"""The zmtls package itself: constants against include/zmtls.h and the
library, monitor decoding, library discovery, load() and
reexec_with_preload()."""

import os
import re
import struct
import subprocess

import pytest
import zmq

import zmtls
from conftest import PYTHON, REPO, child_env

HEADER = os.path.join(REPO, "include", "zmtls.h")


def header_defines():
    with open(HEADER) as f:
        text = f.read()
    return dict(re.findall(r"#define\s+(ZMTLS_\w+)\s+(\S+)", text)), text


def test_option_ids_match_header():
    defs, text = header_defines()
    assert int(defs["ZMTLS_OPTION_BASE"], 0) == zmtls.OPTION_BASE
    found = re.findall(r"#define\s+ZMTLS_(\w+)\s+\(ZMTLS_OPTION_BASE \+ (\d+)\)", text)
    assert found, "no option ids in the header"
    assert {n: zmtls.OPTION_BASE + int(k) for n, k in found} == dict(zmtls.OPTIONS)
    assert int(defs["ZMTLS_AUTH_IVL_DEFAULT"]) == zmtls.AUTH_IVL_DEFAULT
    assert int(defs["ZMTLS_AUTH_IVL_MAX_DEFAULT"]) == zmtls.AUTH_IVL_MAX_DEFAULT
    assert int(defs["ZMTLS_VERIFY_DEPTH_DEFAULT"]) == zmtls.VERIFY_DEPTH_DEFAULT
    assert int(defs["ZMTLS_VERIFY_DEPTH_MAX"]) == zmtls.VERIFY_DEPTH_MAX
    assert int(defs["ZMTLS_SESSION_LIFETIME_DEFAULT"]) == zmtls.SESSION_LIFETIME_DEFAULT
    assert int(defs["ZMTLS_SESSION_LIFETIME_MAX"]) == zmtls.SESSION_LIFETIME_MAX
    assert int(defs["ZMTLS_TLS_UPDATES_MAX_DEFAULT"]) == zmtls.TLS_UPDATES_MAX_DEFAULT
    assert zmtls.STRING_OPTIONS | zmtls.INT_OPTIONS == set(zmtls.OPTIONS.values())
    assert all(0 < v < 2 ** 31 for v in zmtls.OPTIONS.values())  # C int


def test_option_id_spellings():
    for spelling in ("cert_file", "CERT_FILE", "ZMTLS_CERT_FILE", "zmtls_cert_file"):
        assert zmtls.option_id(spelling) == zmtls.CERT_FILE
    assert zmtls.option_id(zmq.LINGER) == zmq.LINGER
    with pytest.raises(ValueError):
        zmtls.option_id("linger")


def test_event_codes_match_pyzmq():
    for code, name in zmtls.EVENTS.items():
        assert getattr(zmq, "EVENT_" + name) == code, name
        assert getattr(zmtls, "EVENT_" + name) == code
        assert zmtls.event_name(code) == name
    assert zmtls.EVENT_HANDSHAKE_FAILED_AUTH == 0x4000
    assert zmtls.event_name(0x8000) == "UNKNOWN"


def test_alert_names():
    assert zmtls.alert_name(48) == "unknown_ca"
    assert zmtls.alert_name(116) == "certificate_required"
    assert zmtls.alert_name(45) == "certificate_expired"
    assert zmtls.alert_name(42) == "bad_certificate"
    assert zmtls.alert_name(999) == "unknown"
    assert all(zmtls.alert_is_auth(n) for n in (42, 45, 48, 116))
    assert not zmtls.alert_is_auth(40) and not zmtls.alert_is_auth(0)


def test_parse_monitor_message():
    ep = b"tls://127.0.0.1:5555"
    ev = zmtls.parse_monitor_message([struct.pack("=HI", 0x4000, 48), ep])
    assert ev == zmtls.Event(0x4000, "HANDSHAKE_FAILED_AUTH", 48, ep.decode(),
                             "unknown_ca")
    assert ev.alert == "unknown_ca" and ev.value == 48
    ev = zmtls.parse_monitor_message([struct.pack("=HI", 1, 17), ep])
    assert (ev.name, ev.value, ev.alert) == ("CONNECTED", 17, None)
    # A ZAP refusal's status code is no alert.
    assert zmtls.parse_monitor_message(
        [struct.pack("=HI", 0x4000, 400), ep]).alert is None
    # HANDSHAKE_FAILED_PROTOCOL: alert only when the value is a TLS alert.
    assert zmtls.parse_monitor_message(
        [struct.pack("=HI", 0x2000, 22), ep]).alert == "record_overflow"
    assert zmtls.parse_monitor_message(
        [struct.pack("=HI", 0x2000, 0x10000000), ep]).alert is None
    # Values use all 32 bits.
    assert zmtls.parse_monitor_message(
        [struct.pack("=HI", 4, 0xFFFFFFFF), ep]).value == 0xFFFFFFFF
    frame = zmq.Frame(struct.pack("=HI", 0x1000, 0))
    assert zmtls.parse_monitor_message([frame, zmq.Frame(ep)]).name == \
        "HANDSHAKE_SUCCEEDED"
    for bad in ([b"12345", ep], [struct.pack("=HI", 1, 1)],
                [struct.pack("=HI", 1, 1), ep, b""]):
        with pytest.raises(ValueError):
            zmtls.parse_monitor_message(bad)


def test_library_path_from_env(monkeypatch, library):
    monkeypatch.setenv("ZMTLS_LIBRARY", "/some/where/libzmtls.so")
    assert zmtls.library_path() == "/some/where/libzmtls.so"
    monkeypatch.delenv("ZMTLS_LIBRARY")
    found = zmtls.library_path()  # a build tree's, or an installed soname
    assert found is None or os.path.isfile(found) or found.startswith("libzmtls")
    if found and os.path.isfile(found):
        assert not zmtls._sanitized(found)


def test_sanitizer_builds_are_skipped(tmp_path):
    asan = tmp_path / "asan.so"
    asan.write_bytes(b"\x7fELF...libasan.so.8\0...")
    plain = tmp_path / "plain.so"
    plain.write_bytes(b"\x7fELF...libzmq.so.5\0...")
    assert zmtls._sanitized(str(asan)) and not zmtls._sanitized(str(plain))


def test_helpers_need_the_library():
    if zmtls.is_active():
        pytest.skip("pytest itself runs with libzmtls preloaded")
    ctx = zmq.Context()
    s = ctx.socket(zmq.REQ)
    try:
        with pytest.raises(RuntimeError, match="LD_PRELOAD"):
            zmtls.setsockopt(s, "CA_FILE", "/tmp/ca.pem")
        with pytest.raises(RuntimeError):
            zmtls.getsockopt(s, "AUTH_IVL")
        # libzmq's own options still pass through.
        zmtls.setsockopt(s, zmq.LINGER, 0)
        assert zmtls.getsockopt(s, zmq.LINGER) == 0
    finally:
        s.close(0)
        ctx.term()


def scenario_library_names(certs):
    import ctypes
    lib = ctypes.CDLL(None)
    lib.zmtls_event_name.restype = ctypes.c_char_p
    lib.zmtls_alert_name.restype = ctypes.c_char_p
    events = {}
    for bit in range(17):
        code = 1 << bit
        events[code] = lib.zmtls_event_name(code).decode()
    alerts = {n: [lib.zmtls_alert_name(n).decode(), bool(lib.zmtls_alert_is_auth(n))]
              for n in range(256)}
    # pyzmq's own monitor decoder reads zmtls events unchanged.
    from zmq.utils.monitor import recv_monitor_message
    ctx = zmq.Context()
    s = ctx.socket(zmq.REP)
    s.setsockopt(zmq.LINGER, 0)
    zmtls.configure(s, cert=certs + "/server.pem", key=certs + "/server.key",
                    ca=certs + "/ca.pem")
    mon = s.get_monitor_socket()
    s.bind("tls://127.0.0.1:*")
    assert mon.poll(10000)
    pyzmq_event = recv_monitor_message(mon)
    zmtls.reload()  # the server's files are valid: no exception
    reload_error = zmtls.last_error()
    s.disable_monitor()
    mon.close(0)
    s.close(0)
    ctx.term()
    return {"version": list(zmtls.version()), "events": events, "alerts": alerts,
            "pyzmq_event": [pyzmq_event["event"], pyzmq_event["endpoint"].decode()],
            "endpoint_prefix": "tls://127.0.0.1:", "reload_error": reload_error}


def test_names_and_version_match_library(preloaded):
    r = preloaded(scenario_library_names)
    assert r["reload_error"] == ""
    # The version is set once, in project() of CMakeLists.txt.
    with open(os.path.join(REPO, "CMakeLists.txt")) as f:
        m = re.search(r"project\(zmtls VERSION (\d+)\.(\d+)\.(\d+)", f.read())
    assert m, "no version in CMakeLists.txt"
    assert r["version"] == [int(x) for x in m.groups()]
    for code, name in r["events"].items():
        assert zmtls.event_name(int(code)) == name, code
    for n, (name, is_auth) in r["alerts"].items():
        assert zmtls.alert_name(int(n)) == name, n
        assert zmtls.alert_is_auth(int(n)) == is_auth, n
    assert r["pyzmq_event"][0] == zmq.EVENT_LISTENING
    assert r["pyzmq_event"][1].startswith(r["endpoint_prefix"])


# A tls:// round trip for the re-exec and load() tests, run with -c.
ROUNDTRIP = r"""
import sys, zmq, zmtls
certs = sys.argv[1]
ctx = zmq.Context()
srv, cli = ctx.socket(zmq.REP), ctx.socket(zmq.REQ)
for s in (srv, cli):
    s.setsockopt(zmq.LINGER, 0)
zmtls.configure(srv, cert=certs + "/server.pem", key=certs + "/server.key",
                ca=certs + "/ca.pem")
zmtls.configure(cli, cert=certs + "/client.pem", key=certs + "/client.key",
                ca=certs + "/ca.pem")
srv.bind("tls://127.0.0.1:*")
cli.connect(srv.getsockopt_string(zmq.LAST_ENDPOINT))
cli.send(b"ping")
assert srv.poll(10000), "no request"
srv.send(srv.recv() + b"-pong")
assert cli.poll(10000), "no reply"
print("reply", cli.recv().decode(), "active", zmtls.is_active(), "argv", sys.argv[1:])
srv.close(); cli.close(); ctx.term()
"""


def plain_env(library, **extra):
    """A child environment without LD_PRELOAD."""
    env = child_env(library, extra)
    del env["LD_PRELOAD"]
    return env


def test_reexec_with_preload(library, certs):
    code = "import zmtls; zmtls.reexec_with_preload()\n" + ROUNDTRIP
    p = subprocess.run([PYTHON, "-c", code, certs, "extra-arg"], capture_output=True,
                       text=True, env=plain_env(library), timeout=60)
    assert p.returncode == 0, p.stderr
    # The -c code and its arguments survived the restart.
    assert "reply ping-pong active True argv ['%s', 'extra-arg']" % certs in p.stdout


def test_reexec_cannot_loop(library, tmp_path):
    # A library the loader cannot preload: one restart, then a clear error.
    bogus = tmp_path / "libzmtls.so"
    bogus.write_bytes(b"not an ELF file")
    code = "import zmtls; zmtls.reexec_with_preload(); print('unreachable')"
    p = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True,
                       env=plain_env(library, ZMTLS_LIBRARY=str(bogus)), timeout=60)
    assert p.returncode != 0
    assert "unreachable" not in p.stdout
    assert "not active after re-executing" in p.stderr


def test_load_before_pyzmq(library, certs):
    code = "import zmtls; zmtls.load()\n" + ROUNDTRIP
    p = subprocess.run([PYTHON, "-c", code, certs], capture_output=True, text=True,
                       env=plain_env(library), timeout=60)
    assert p.returncode == 0, p.stderr
    assert "reply ping-pong active True" in p.stdout


def test_load_after_pyzmq_refuses(library):
    code = ("import zmq, zmtls\n"
            "try:\n    zmtls.load()\nexcept RuntimeError as e:\n    print('refused', e)\n"
            "print('active', zmtls.is_active())")
    p = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True,
                       env=plain_env(library), timeout=60)
    assert p.returncode == 0, p.stderr
    assert "refused" in p.stdout and "active False" in p.stdout


def test_example_python_reqrep(library, certs):
    example = os.path.join(REPO, "examples", "python_reqrep.py")
    p = subprocess.run([PYTHON, example, certs], capture_output=True, text=True,
                       env=plain_env(library), timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout
    assert "HANDSHAKE_SUCCEEDED" in out and "CONNECTED" in out, out
    assert "reply" in out.lower(), out
    assert "HANDSHAKE_FAILED_AUTH" in out and "unknown_ca" in out, out

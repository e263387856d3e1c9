"""zmtls for pyzmq: tls:// endpoints, zmtls socket options and event names.

libzmtls.so gives every libzmq 4.3 program a ``tls://host:port`` transport
(ZMTP 3.1 inside TLS 1.3, mutual certificate authentication) by interposing
the ``zmq_*`` entry points. Debian's pyzmq links the system libzmq, so it gets
tls:// with no code change once libzmtls is interposed in the process::

    LD_PRELOAD=/path/to/libzmtls.so python3 app.py

The dynamic loader reads LD_PRELOAD only when a process starts, so setting
``os.environ["LD_PRELOAD"]`` inside a running interpreter does nothing. A
script can instead call :func:`reexec_with_preload` first thing (it restarts
the interpreter with LD_PRELOAD set), or :func:`load` *before pyzmq is
imported* (it loads libzmtls into the global symbol scope, where pyzmq's
extension modules then find it ahead of libzmq).

Everything else is plain pyzmq: ``sock.bind("tls://127.0.0.1:*")``,
``sock.connect("tls://host:5555")``, ``sock.get_monitor_socket()``. This
package adds:

- the zmtls option ids (:data:`CERT_FILE` ... :data:`AUTH_STOP`) and
  :func:`setsockopt` / :func:`getsockopt` / :func:`configure`, which also
  handle the string options that pyzmq's own ``Socket.setsockopt`` does not
  know (it treats every unknown option id as an int);
- :data:`EVENTS` / :func:`event_name`, :data:`ALERTS` / :func:`alert_name` /
  :func:`alert_is_auth`, and :func:`parse_monitor_message` /
  :func:`recv_event` decoding libzmq 4.3's two-frame monitor messages, with
  the TLS alert named for HANDSHAKE_FAILED_AUTH (not for a ZAP handler's
  status code, 300/400/500);
- :func:`library_path`, :func:`is_active`, :func:`version`,
  :func:`last_error`.

Importing this package does not import pyzmq (so :func:`load` and
:func:`reexec_with_preload` can run before it) and needs nothing beyond the
standard library; the socket helpers import ``zmq`` when called.
"""

import collections
import ctypes
import ctypes.util
import errno as _errno
import glob
import os
import struct
import sys

__all__ = [
    "OPTION_BASE", "CERT_FILE", "KEY_FILE", "CA_FILE", "CERT_PEM", "KEY_PEM",
    "CA_PEM", "SERVER_NAME", "AUTH_IVL", "AUTH_IVL_MAX", "AUTH_STOP",
    "RESUME", "MULTIPART_MAX_PARTS", "MULTIPART_MAX_BYTES", "HANDSHAKES_MAX",
    "HANDSHAKES_PER_ADDR", "VERIFY_DEPTH", "TLS_UPDATES_MAX", "SESSION_LIFETIME",
    "CRL_FILE", "ALLOW", "ZAP_CERT",
    "AUTH_IVL_DEFAULT", "AUTH_IVL_MAX_DEFAULT", "MULTIPART_MAX_PARTS_DEFAULT",
    "MULTIPART_MAX_BYTES_DEFAULT", "HANDSHAKES_MAX_DEFAULT",
    "HANDSHAKES_PER_ADDR_DEFAULT", "VERIFY_DEPTH_DEFAULT", "VERIFY_DEPTH_MAX",
    "SESSION_LIFETIME_DEFAULT", "SESSION_LIFETIME_MAX", "TLS_UPDATES_MAX_DEFAULT",
    "OFFENDER_FAILURES", "OFFENDER_WINDOW", "OFFENDER_BAN",
    "OFFENDER_FAILURES_DEFAULT", "OFFENDER_WINDOW_DEFAULT", "OFFENDER_BAN_DEFAULT",
    "OPTIONS", "STRING_OPTIONS", "INT_OPTIONS", "INT64_OPTIONS", "option_id",
    "library_path", "is_active", "load",
    "reexec_with_preload", "version", "last_error", "reload", "setsockopt",
    "getsockopt",
    "configure", "EVENTS", "event_name", "ALERTS", "alert_name",
    "alert_is_auth", "Event", "parse_monitor_message", "recv_event",
    "PEER_PROPERTIES", "peer_property", "peer_sans", "endpoint_peer_property",
]

# ---- option ids (include/zmtls.h) -----------------------------------------

OPTION_BASE = 0x7A540000
#: PEM certificate chain path (string, both sides).
CERT_FILE = OPTION_BASE + 1
#: PEM private key path (string, both sides).
KEY_FILE = OPTION_BASE + 2
#: PEM trusted CA(s) path (string, both sides).
CA_FILE = OPTION_BASE + 3
#: PEM certificate chain text (string); wins over CERT_FILE.
CERT_PEM = OPTION_BASE + 4
#: PEM private key text (string); write-only, wins over KEY_FILE.
KEY_PEM = OPTION_BASE + 5
#: PEM trusted CA(s) text (string); wins over CA_FILE.
CA_PEM = OPTION_BASE + 6
#: Connect side: name the server certificate must carry, and the SNI sent.
SERVER_NAME = OPTION_BASE + 7
#: Connect side: first reconnect interval after an auth failure, ms (int).
AUTH_IVL = OPTION_BASE + 8
#: Connect side: cap of the auth reconnect interval, ms (int).
AUTH_IVL_MAX = OPTION_BASE + 9
#: Connect side: 1 stops retrying after an auth failure (int, 0 or 1).
AUTH_STOP = OPTION_BASE + 10
#: Connect side: 1 (default) resumes the previous TLS session on reconnect,
#: 0 makes every connection a full handshake (int).
RESUME = OPTION_BASE + 11
#: Both sides: parts of one message, its last included (int, >= 1 or -1).
MULTIPART_MAX_PARTS = OPTION_BASE + 12
#: Both sides: bytes in the parts before a message's last (int64, -1: none).
MULTIPART_MAX_BYTES = OPTION_BASE + 13
#: Bind side: handshakes in progress on the listener (int, >= 1).
HANDSHAKES_MAX = OPTION_BASE + 14
#: Bind side: handshakes in progress from one source address (int, >= 1).
HANDSHAKES_PER_ADDR = OPTION_BASE + 15
#: Both sides: intermediate CAs allowed in the peer's chain (int,
#: 0..VERIFY_DEPTH_MAX).
VERIFY_DEPTH = OPTION_BASE + 16
#: Both sides: TLS handshake messages (KeyUpdate...) the peer may send after
#: the handshake, per minute (int, >= 0).
TLS_UPDATES_MAX = OPTION_BASE + 17
#: Bind side: seconds one full handshake may be resumed (int,
#: 1..SESSION_LIFETIME_MAX).
SESSION_LIFETIME = OPTION_BASE + 18
#: Both sides: PEM file of CRLs, one for every CA of the peer's chain
#: (string; environment default ZMTLS_CRL).
CRL_FILE = OPTION_BASE + 19
#: Bind side: authentication failures from one address that earn a ban
#: (int, >= 0; 0: off).
OFFENDER_FAILURES = OPTION_BASE + 20
#: Bind side: the window those failures are counted in, ms (int, >= 1).
OFFENDER_WINDOW = OPTION_BASE + 21
#: Bind side: the first ban, ms; later ones double (int, >= 1).
OFFENDER_BAN = OPTION_BASE + 22
#: Both sides: which verified peers may connect: "dns:...,uri:...,cn:...,
#: email:...,ip:..." (string; environment default ZMTLS_ALLOW).
ALLOW = OPTION_BASE + 23
#: 1: each ZAP request carries the client's certificate (PEM) as a last
#: frame (int 0/1, bind side, default 0).
ZAP_CERT = OPTION_BASE + 24

AUTH_IVL_DEFAULT = 1000
AUTH_IVL_MAX_DEFAULT = 60000
MULTIPART_MAX_PARTS_DEFAULT = 65536
MULTIPART_MAX_BYTES_DEFAULT = 256 * 1024 * 1024
HANDSHAKES_MAX_DEFAULT = 256
HANDSHAKES_PER_ADDR_DEFAULT = 32
VERIFY_DEPTH_DEFAULT = 4
VERIFY_DEPTH_MAX = 100
SESSION_LIFETIME_DEFAULT = 3600
SESSION_LIFETIME_MAX = 604800
TLS_UPDATES_MAX_DEFAULT = 60
OFFENDER_FAILURES_DEFAULT = 20
OFFENDER_WINDOW_DEFAULT = 60000
OFFENDER_BAN_DEFAULT = 10000

#: name -> id for every zmtls option.
OPTIONS = collections.OrderedDict(
    (name, globals()[name])
    for name in ("CERT_FILE", "KEY_FILE", "CA_FILE", "CERT_PEM", "KEY_PEM",
                 "CA_PEM", "SERVER_NAME", "AUTH_IVL", "AUTH_IVL_MAX",
                 "AUTH_STOP", "RESUME", "MULTIPART_MAX_PARTS",
                 "MULTIPART_MAX_BYTES", "HANDSHAKES_MAX", "HANDSHAKES_PER_ADDR",
                 "VERIFY_DEPTH", "TLS_UPDATES_MAX", "SESSION_LIFETIME",
                 "CRL_FILE", "OFFENDER_FAILURES", "OFFENDER_WINDOW",
                 "OFFENDER_BAN", "ALLOW", "ZAP_CERT"))
STRING_OPTIONS = frozenset(OPTIONS[n] for n in (
    "CERT_FILE", "KEY_FILE", "CA_FILE", "CERT_PEM", "KEY_PEM", "CA_PEM",
    "SERVER_NAME", "CRL_FILE", "ALLOW"))
INT_OPTIONS = frozenset((AUTH_IVL, AUTH_IVL_MAX, AUTH_STOP, RESUME,
                         MULTIPART_MAX_PARTS, MULTIPART_MAX_BYTES,
                         HANDSHAKES_MAX, HANDSHAKES_PER_ADDR, VERIFY_DEPTH,
                         TLS_UPDATES_MAX, SESSION_LIFETIME, OFFENDER_FAILURES,
                         OFFENDER_WINDOW, OFFENDER_BAN, ZAP_CERT))
#: Integer options that are 64-bit (int64_t) rather than int.
INT64_OPTIONS = frozenset((MULTIPART_MAX_BYTES,))


def option_id(name_or_id):
    """The option id for a zmtls option name or any int option id.

    Names are case-insensitive, with or without the ``ZMTLS_`` prefix:
    ``"cert_file"``, ``"CERT_FILE"``, ``"ZMTLS_CERT_FILE"``. Ints are
    returned unchanged (so libzmq ids pass through too).
    """
    if isinstance(name_or_id, int):
        return name_or_id
    name = str(name_or_id).upper()
    if name.startswith("ZMTLS_"):
        name = name[len("ZMTLS_"):]
    try:
        return OPTIONS[name]
    except KeyError:
        raise ValueError("unknown zmtls option %r" % (name_or_id,)) from None


# ---- finding and detecting the library ------------------------------------

_LIBNAME = "libzmtls.so"


def library_path():
    """Path (or loader name) of libzmtls.so, or None when it is not found.

    Looked up in order: the ``ZMTLS_LIBRARY`` environment variable; a
    libzmtls.so next to this package (copied into it, or in
    ``bindings/python``); in the source tree this package sits in,
    ``build/libzmtls.so`` and then the newest other ``build*/libzmtls.so``
    (skipping sanitizer builds); ``ctypes.util.find_library("zmtls")`` (a
    soname such as ``libzmtls.so.0``, which the dynamic loader resolves).
    """
    env = os.environ.get("ZMTLS_LIBRARY")
    if env:
        return env
    pkg = os.path.dirname(os.path.abspath(__file__))
    for cand in (os.path.join(pkg, _LIBNAME),
                 os.path.join(os.path.dirname(pkg), _LIBNAME)):
        if os.path.isfile(cand):
            return cand
    # bindings/python/zmtls -> the source tree root; build/ first, then the
    # newest other build*/ (sanitizer builds cannot be preloaded into an
    # uninstrumented interpreter and are skipped).
    root = os.path.dirname(os.path.dirname(os.path.dirname(pkg)))
    builds = sorted((p for p in glob.glob(os.path.join(root, "build*", _LIBNAME))
                     if os.path.isfile(p)),
                    key=lambda p: (os.path.basename(os.path.dirname(p)) == "build",
                                   os.path.getmtime(p)), reverse=True)
    for cand in builds:
        if not _sanitized(cand):
            return cand
    return ctypes.util.find_library("zmtls")


def _sanitized(path):
    """True when the library needs a sanitizer runtime (it then only loads
    into a process that starts with that runtime)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return True
    return any(rt in data for rt in (b"libasan.so", b"libtsan.so", b"libubsan.so"))


def _global():
    """The process's global symbol scope (the main program, LD_PRELOAD
    objects, their dependencies and anything loaded RTLD_GLOBAL)."""
    return ctypes.CDLL(None, use_errno=True)


def is_active():
    """True when libzmtls is interposed in this process.

    That is the case under ``LD_PRELOAD=libzmtls.so`` (or after
    :func:`load`): its symbols are in the global scope, ahead of libzmq's.
    A libzmtls loaded with a plain ``ctypes.CDLL(path)`` is not interposed
    and does not count.
    """
    try:
        _global().zmtls_version
    except AttributeError:
        return False
    return True


def _libzmq_loaded():
    try:
        ctypes.CDLL("libzmq.so.5", mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
    except OSError:
        return False
    return True


def load(path=None):
    """Interpose libzmtls without restarting: load it RTLD_GLOBAL.

    Must run before pyzmq (or anything else) loads libzmq, because symbols
    are bound when a library is loaded: afterwards pyzmq would keep calling
    the real libzmq. Raises RuntimeError in that case, and OSError when the
    library cannot be loaded. Does nothing when libzmtls is already active.
    :func:`reexec_with_preload` is the more robust choice for scripts.
    """
    if is_active():
        return
    if _libzmq_loaded():
        raise RuntimeError(
            "zmtls.load(): libzmq is already loaded in this process (was zmq "
            "imported first?); use LD_PRELOAD or zmtls.reexec_with_preload()")
    path = path or library_path()
    if not path:
        raise OSError(_errno.ENOENT, "libzmtls.so not found (set ZMTLS_LIBRARY)")
    ctypes.CDLL(path, mode=os.RTLD_GLOBAL | os.RTLD_NOW)


_REEXEC_MARK = "ZMTLS_REEXECED"


def reexec_with_preload(path=None, argv=None):
    """Restart this interpreter with libzmtls in LD_PRELOAD, if not active.

    Returns at once when libzmtls is already interposed. Otherwise replaces
    the process (``os.execve``) with the same interpreter and command line
    (``sys.orig_argv``, so ``-m``/``-c`` forms survive; or ``argv``, the
    arguments after the interpreter) with ``path`` (default
    :func:`library_path`) prepended to LD_PRELOAD. Call it first thing in a
    script: LD_PRELOAD must be in effect before pyzmq loads libzmq, and the
    dynamic loader only reads it at process start. Whatever the script did
    before the call is done again after the restart.

    Raises OSError when the library is not found and RuntimeError when a
    restart already happened and libzmtls is still not active (the loader
    could not use it: it prints why on stderr), so it can never loop.
    """
    if is_active():
        return
    if os.environ.get(_REEXEC_MARK):
        raise RuntimeError(
            "libzmtls is not active after re-executing with LD_PRELOAD=%r"
            % os.environ.get("LD_PRELOAD", ""))
    path = path or library_path()
    if not path:
        raise OSError(_errno.ENOENT, "libzmtls.so not found (set ZMTLS_LIBRARY)")
    if os.sep in path:
        path = os.path.abspath(path)
    env = dict(os.environ)
    old = env.get("LD_PRELOAD", "")
    env["LD_PRELOAD"] = path + (" " + old if old else "")
    env[_REEXEC_MARK] = "1"
    if argv is None:
        orig = getattr(sys, "orig_argv", None)
        argv = list(orig[1:]) if orig else list(sys.argv)
    exe = sys.executable
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except Exception:
            pass
    os.execve(exe, [exe] + list(argv), env)


_LIB = None


def _lib():
    """The interposed library's entry points; RuntimeError when inactive."""
    global _LIB
    if _LIB is not None:
        return _LIB
    if not is_active():
        raise RuntimeError(
            "libzmtls is not interposed in this process: run with "
            "LD_PRELOAD=%s (or call zmtls.reexec_with_preload())"
            % (library_path() or "libzmtls.so"))
    lib = _global()
    lib.zmq_setsockopt.argtypes = [ctypes.c_void_p, ctypes.c_int,
                                   ctypes.c_void_p, ctypes.c_size_t]
    lib.zmq_setsockopt.restype = ctypes.c_int
    lib.zmq_getsockopt.argtypes = [ctypes.c_void_p, ctypes.c_int,
                                   ctypes.c_void_p,
                                   ctypes.POINTER(ctypes.c_size_t)]
    lib.zmq_getsockopt.restype = ctypes.c_int
    lib.zmtls_last_error.argtypes = []
    lib.zmtls_last_error.restype = ctypes.c_char_p
    lib.zmtls_event_name.argtypes = [ctypes.c_int]
    lib.zmtls_event_name.restype = ctypes.c_char_p
    lib.zmtls_alert_name.argtypes = [ctypes.c_int]
    lib.zmtls_alert_name.restype = ctypes.c_char_p
    lib.zmtls_alert_is_auth.argtypes = [ctypes.c_int]
    lib.zmtls_alert_is_auth.restype = ctypes.c_int
    lib.zmtls_peer_property.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                        ctypes.c_size_t, ctypes.c_char_p,
                                        ctypes.c_char_p, ctypes.c_size_t]
    lib.zmtls_peer_property.restype = ctypes.c_int
    lib.zmtls_endpoint_peer_property.argtypes = [
        ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
        ctypes.c_size_t]
    lib.zmtls_endpoint_peer_property.restype = ctypes.c_int
    lib.zmtls_reload.argtypes = []
    lib.zmtls_reload.restype = ctypes.c_int
    _LIB = lib
    return lib


def version():
    """(major, minor, patch) of the interposed libzmtls."""
    lib = _lib()
    v = [ctypes.c_int() for _ in range(3)]
    lib.zmtls_version(*[ctypes.byref(x) for x in v])
    return tuple(x.value for x in v)


def last_error():
    """zmtls's explanation of this thread's last failed zmq_connect,
    zmq_bind, zmq_setsockopt or reload ("" when none). Read it right after the
    failure, in the same thread."""
    msg = _lib().zmtls_last_error()
    return msg.decode("utf-8", "replace") if msg else ""


def reload():
    """Reads every tls:// socket's credential files again now (zmtls_reload).
    Established connections carry on; a socket side whose new files cannot
    be used keeps its previous credentials, and zmq.ZMQError is raised with
    the files and reasons in its message."""
    lib = _lib()
    if lib.zmtls_reload() != 0:
        raise _fail(ctypes.get_errno() or _errno.EINVAL)


# ---- socket options --------------------------------------------------------

def _handle(sock):
    if getattr(sock, "closed", False):
        raise _zmq_error(_errno.ENOTSOCK)
    h = getattr(sock, "underlying", sock)
    if not isinstance(h, int) or h == 0:
        raise TypeError("expected a pyzmq Socket or a raw socket address")
    return h


def _zmq_error(err, msg=None):
    import zmq
    return zmq.ZMQError(err, msg)


def _fail(err):
    msg = last_error()
    import zmq
    text = zmq.strerror(err)
    return _zmq_error(err, "%s: %s" % (text, msg) if msg else text)


def _encode(value):
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, os.PathLike):
        return os.fsencode(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if value is None:
        return b""
    raise TypeError("string option needs str, bytes or a path, got %r"
                    % type(value).__name__)


def setsockopt(sock, name_or_id, value):
    """Set a zmtls option on a pyzmq socket.

    ``name_or_id`` is a zmtls option name (see :func:`option_id`) or id.
    String options take str (UTF-8), bytes or an os.PathLike; an empty
    value (or None) clears the option, so the environment default applies
    again. Integer options take an int. Other (libzmq) option ids are passed
    to ``sock.setsockopt``. Raises zmq.ZMQError (EINVAL for a bad value,
    with zmtls's reason in the message) and RuntimeError when libzmtls is
    not interposed.
    """
    opt = option_id(name_or_id)
    if opt not in STRING_OPTIONS and opt not in INT_OPTIONS:
        return sock.setsockopt(opt, value)
    lib = _lib()
    if opt in STRING_OPTIONS:
        data = _encode(value)
        buf = ctypes.create_string_buffer(data, len(data))
        rc = lib.zmq_setsockopt(_handle(sock), opt, buf, len(data))
    else:
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, int):
            raise TypeError("option %#x needs an int" % opt)
        v = (ctypes.c_int64 if opt in INT64_OPTIONS else ctypes.c_int)(value)
        rc = lib.zmq_setsockopt(_handle(sock), opt, ctypes.byref(v),
                                ctypes.sizeof(v))
    if rc != 0:
        raise _fail(ctypes.get_errno())


def getsockopt(sock, name_or_id):
    """Read a zmtls option from a pyzmq socket.

    String options come back as str ("" when unset; the environment
    defaults are not reflected), integer options as int. KEY_PEM is
    write-only (zmq.ZMQError EINVAL). Other ids go to ``sock.getsockopt``.
    """
    opt = option_id(name_or_id)
    if opt not in STRING_OPTIONS and opt not in INT_OPTIONS:
        return sock.getsockopt(opt)
    lib = _lib()
    h = _handle(sock)
    if opt in INT_OPTIONS:
        v = (ctypes.c_int64 if opt in INT64_OPTIONS else ctypes.c_int)()
        n = ctypes.c_size_t(ctypes.sizeof(v))
        if lib.zmq_getsockopt(h, opt, ctypes.byref(v), ctypes.byref(n)) != 0:
            raise _fail(ctypes.get_errno())
        return v.value
    if opt == KEY_PEM:
        raise _zmq_error(_errno.EINVAL, "ZMTLS_KEY_PEM is write-only")
    # The library answers EINVAL when the buffer is too small: grow it.
    size = 4096
    while True:
        buf = ctypes.create_string_buffer(size)
        n = ctypes.c_size_t(size)
        if lib.zmq_getsockopt(h, opt, buf, ctypes.byref(n)) == 0:
            return buf.value.decode("utf-8", "surrogateescape")
        err = ctypes.get_errno()
        if err != _errno.EINVAL or size >= (1 << 24):
            raise _fail(err)
        size *= 16


def configure(sock, cert=None, key=None, ca=None, cert_pem=None, key_pem=None,
              ca_pem=None, server_name=None, auth_ivl=None, auth_ivl_max=None,
              auth_stop=None, resume=None, verify_depth=None,
              tls_updates_max=None, session_lifetime=None, crl=None):
    """Set several zmtls options at once; arguments left None are not set.

    ``cert``/``key``/``ca`` are PEM file paths (CERT_FILE, KEY_FILE,
    CA_FILE) and ``crl`` a PEM file of CRLs (CRL_FILE); ``*_pem`` are PEM
    texts (str or bytes), which win over the files. Call before
    ``connect``/``bind``. Returns ``sock``.
    """
    for opt, value in ((CERT_FILE, cert), (KEY_FILE, key), (CA_FILE, ca),
                       (CERT_PEM, cert_pem), (KEY_PEM, key_pem),
                       (CA_PEM, ca_pem), (SERVER_NAME, server_name),
                       (AUTH_IVL, auth_ivl), (AUTH_IVL_MAX, auth_ivl_max),
                       (AUTH_STOP, auth_stop), (RESUME, resume),
                       (VERIFY_DEPTH, verify_depth),
                       (TLS_UPDATES_MAX, tls_updates_max),
                       (SESSION_LIFETIME, session_lifetime),
                       (CRL_FILE, crl)):
        if value is not None:
            setsockopt(sock, opt, value)
    return sock


# ---- peer identity -----------------------------------------------------------

#: Properties of an authenticated peer (include/zmtls.h); each SAN entry is
#: also "SAN.0", "SAN.1", ... up to "SAN-Count" (see peer_sans).
PEER_PROPERTIES = ("Subject", "Issuer", "SAN", "SAN-Count", "SPIFFE-ID",
                   "Serial", "Peer-Address", "Resumed", "User-Id")


def _peer_call(fn, *args):
    size = 256
    while True:
        buf = ctypes.create_string_buffer(size)
        n = fn(*args, buf, size)
        if n < 0:
            raise _zmq_error(ctypes.get_errno())
        if n < size:
            return buf.value.decode("utf-8", "replace")
        size = n + 1


def peer_property(sock, routing_id, name):
    """A property of the tls:// peer behind ``routing_id`` (the first frame a
    ROUTER receives), e.g. ``peer_property(router, rid, "Subject")``.
    Raises zmq.ZMQError ENOENT when no authenticated peer has that routing
    id now, EINVAL for an unknown property."""
    rid = bytes(routing_id)
    return _peer_call(_lib().zmtls_peer_property, _handle(sock), rid, len(rid),
                      name.encode())


def peer_sans(sock, routing_id):
    """Every subjectAltName entry of the tls:// peer behind ``routing_id``,
    each whole and on its own ("DNS:x", "IP:1.2.3.4", "URI:spiffe://...",
    "email:x"), in certificate order: what an allow-list should match,
    rather than splitting the joined "SAN" property on commas."""
    n = int(peer_property(sock, routing_id, "SAN-Count"))
    return [peer_property(sock, routing_id, "SAN.%d" % i) for i in range(n)]


def endpoint_peer_property(sock, endpoint, name):
    """A property of the peer on a tls:// endpoint: the server of a connect
    endpoint, or the newest client of a bind endpoint; e.g.
    ``endpoint_peer_property(req, "tls://127.0.0.1:5555", "Subject")``."""
    if isinstance(endpoint, bytes):
        endpoint = endpoint.decode()
    return _peer_call(_lib().zmtls_endpoint_peer_property, _handle(sock),
                      endpoint.encode(), name.encode())


# ---- monitor events ----------------------------------------------------------

#: libzmq 4.3 ZMQ_EVENT_* code -> name.
EVENTS = {
    0x0001: "CONNECTED",
    0x0002: "CONNECT_DELAYED",
    0x0004: "CONNECT_RETRIED",
    0x0008: "LISTENING",
    0x0010: "BIND_FAILED",
    0x0020: "ACCEPTED",
    0x0040: "ACCEPT_FAILED",
    0x0080: "CLOSED",
    0x0100: "CLOSE_FAILED",
    0x0200: "DISCONNECTED",
    0x0400: "MONITOR_STOPPED",
    0x0800: "HANDSHAKE_FAILED_NO_DETAIL",
    0x1000: "HANDSHAKE_SUCCEEDED",
    0x2000: "HANDSHAKE_FAILED_PROTOCOL",
    0x4000: "HANDSHAKE_FAILED_AUTH",
}
# Module-level codes too: zmtls.EVENT_CONNECTED etc. (same as zmq's).
for _code, _name in EVENTS.items():
    globals()["EVENT_" + _name] = _code
del _code, _name


def event_name(code):
    """Name of a ZMQ_EVENT_* code ("CONNECTED", ...); "UNKNOWN" otherwise."""
    return EVENTS.get(code, "UNKNOWN")


#: RFC 8446 section 6 TLS alert number -> name.
ALERTS = {
    0: "close_notify",
    10: "unexpected_message",
    20: "bad_record_mac",
    22: "record_overflow",
    40: "handshake_failure",
    42: "bad_certificate",
    43: "unsupported_certificate",
    44: "certificate_revoked",
    45: "certificate_expired",
    46: "certificate_unknown",
    47: "illegal_parameter",
    48: "unknown_ca",
    49: "access_denied",
    50: "decode_error",
    51: "decrypt_error",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    90: "user_canceled",
    109: "missing_extension",
    110: "unsupported_extension",
    112: "unrecognized_name",
    113: "bad_certificate_status_response",
    115: "unknown_psk_identity",
    116: "certificate_required",
    120: "no_application_protocol",
}

# Alerts meaning "a certificate was refused": the ones that feed the auth
# reconnect schedule (handshake_failure, 40, is not one: it also covers
# cipher or group mismatches).
_AUTH_ALERTS = frozenset((42, 43, 44, 45, 46, 48, 49, 116))


def alert_name(n):
    """RFC 8446 name of TLS alert ``n`` ("unknown_ca"); "unknown" otherwise."""
    return ALERTS.get(n, "unknown")


def alert_is_auth(n):
    """True when alert ``n`` means a certificate was refused (by the peer or
    by us): 42, 43, 44, 45, 46, 48, 49, 116."""
    return n in _AUTH_ALERTS


#: A decoded monitor event. ``alert`` is the TLS alert name for
#: HANDSHAKE_FAILED_AUTH and HANDSHAKE_FAILED_PROTOCOL when the value is a
#: TLS alert (< 256; a ZAP refusal's status code is not), else None.
Event = collections.namedtuple("Event", "event name value endpoint alert")

_EVENT_HDR = struct.Struct("=HI")


def parse_monitor_message(frames):
    """Decode libzmq 4.3's two-frame monitor message into an :class:`Event`.

    Frame 1 is 6 bytes, a native-endian uint16 event code and uint32 value;
    frame 2 the endpoint. Frames may be bytes or zmq.Frame. Raises
    ValueError for anything else.
    """
    frames = [getattr(f, "bytes", f) for f in frames]
    if len(frames) != 2 or len(frames[0]) != _EVENT_HDR.size:
        raise ValueError("not a libzmq 4.3 monitor message: %r" % (frames,))
    code, value = _EVENT_HDR.unpack(bytes(frames[0]))
    endpoint = bytes(frames[1]).decode("utf-8", "replace")
    alert = None
    # HANDSHAKE_FAILED_AUTH carries a TLS alert (< 256) or, from a ZAP
    # handler's refusal, its status code (300, 400, 500).
    if code in (0x4000, 0x2000) and value < 256:
        alert = alert_name(value)
    return Event(code, event_name(code), value, endpoint, alert)


def recv_event(monitor_socket, timeout_ms=None):
    """Receive and decode one event from a monitor socket (the PAIR from
    ``sock.get_monitor_socket()``). Waits at most ``timeout_ms`` (None:
    forever) and returns None when nothing arrived in time."""
    import zmq
    if timeout_ms is not None and not monitor_socket.poll(timeout_ms, zmq.POLLIN):
        return None
    return parse_monitor_message(monitor_socket.recv_multipart(copy=False))

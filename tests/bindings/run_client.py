"""Drives one binding's client against the tls:// server of server.c.

    run_client.py SERVER ZMTLS_RUN CERTS -- CLIENT-COMMAND...

The client runs under zmtls-run, so the binding gets tls:// however it
loads libzmq; it takes ENDPOINT MODE DEADLINE_MS after its own command.
Two runs:
  1. with client.pem: the round trip must succeed and the server must
     report serving it;
  2. with rogue-client.pem (signed by a CA the server does not trust): the
     client must get no reply within its deadline and the server's monitor
     must report HANDSHAKE_FAILED_AUTH with alert 48 (unknown_ca).
Every wait has a deadline; nothing sleeps to synchronise.
"""
import os
import queue
import subprocess
import sys
import threading
import time

WAIT_S = 20           # things that must happen
CLIENT_TIMEOUT_S = 60  # a whole client run, interpreter start included
REFUSAL_DEADLINE_MS = 2000  # how long the refused client waits for a reply
UNKNOWN_CA = 48


SERVERS = []  # started server processes, killed when the test fails


def fail(msg):
    print("FAIL: " + msg, flush=True)
    for proc in SERVERS:
        if proc.poll() is None:
            proc.kill()
    sys.exit(1)


class Server:
    """server.c as a child; its stdout lines arrive on a queue."""

    def __init__(self, exe, certs):
        env = dict(os.environ, ZMTLS_TEST_CERTS=certs)
        self.proc = subprocess.Popen([exe], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env=env, text=True)
        SERVERS.append(self.proc)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.split(None, 1))
        self.lines.put(None)

    def expect(self, word):
        """The argument of the next line starting with `word`; earlier lines
        of another kind fail the test (nothing unexpected may happen)."""
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                item = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                fail("server: no '%s' line within %d s" % (word, WAIT_S))
            if item is None:
                fail("server exited (status %s) while waiting for '%s'"
                     % (self.proc.wait(), word))
            print("server: " + " ".join(item).strip(), flush=True)
            if item[0] == word:
                return item[1].strip() if len(item) > 1 else ""
            fail("server: '%s' while waiting for '%s'" % (item[0], word))

    def stop(self):
        self.proc.stdin.close()
        try:
            rc = self.proc.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail("server did not stop when its stdin closed")
        if rc != 0:
            fail("server exited with status %d" % rc)
        rest = []
        while True:
            item = self.lines.get(timeout=WAIT_S)
            if item is None:
                break
            rest.append(" ".join(item).strip())
        # The refused client may retry (its backoff starts at about 1 s)
        # before its deadline: more refusals are fine, a reply is not.
        served = [line for line in rest if not line.startswith("refused ")]
        if served:
            fail("server reported more than refusals after the first: %s" % rest)


def run_client(zmtls_run, command, certs, who, endpoint, mode, deadline_ms):
    env = dict(os.environ,
               ZMTLS_CERT=os.path.join(certs, who + ".pem"),
               ZMTLS_KEY=os.path.join(certs, who + ".key"),
               ZMTLS_CA=os.path.join(certs, "ca.pem"))
    argv = [zmtls_run] + command + [endpoint, mode, str(deadline_ms)]
    try:
        r = subprocess.run(argv, env=env, capture_output=True, text=True,
                           timeout=CLIENT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        fail("%s client (%s) did not finish within %d s" % (who, mode, CLIENT_TIMEOUT_S))
    out = (r.stdout + r.stderr).strip()
    print("%s client (%s): status %d: %s" % (who, mode, r.returncode, out), flush=True)
    if r.returncode != 0:
        fail("%s client (%s) exited with status %d" % (who, mode, r.returncode))


def main():
    if len(sys.argv) < 6 or sys.argv[4] != "--":
        fail("usage: run_client.py SERVER ZMTLS_RUN CERTS -- CLIENT-COMMAND...")
    exe, zmtls_run, certs, command = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[5:]
    server = Server(exe, certs)
    endpoint = server.expect("endpoint")

    run_client(zmtls_run, command, certs, "client", endpoint, "reply", WAIT_S * 1000)
    server.expect("served")

    run_client(zmtls_run, command, certs, "rogue-client", endpoint, "refused",
               REFUSAL_DEADLINE_MS)
    alert = server.expect("refused")
    if alert != str(UNKNOWN_CA):
        fail("refusal with alert %s, expected %d (unknown_ca)" % (alert, UNKNOWN_CA))
    server.stop()
    print("PASS", flush=True)


if __name__ == "__main__":
    main()

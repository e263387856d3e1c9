"""pyzmq client for run_client.py: ENDPOINT MODE DEADLINE_MS, MODE "reply"
(a round trip must succeed) or "refused" (no reply may come within the
deadline). Credentials come from ZMTLS_CERT / ZMTLS_KEY / ZMTLS_CA.
Exit: 0 as expected, 1 wrong outcome, 2 connect/send failed."""
import sys

import zmq

endpoint, mode, deadline_ms = sys.argv[1], sys.argv[2], int(sys.argv[3])
ctx = zmq.Context()
req = ctx.socket(zmq.REQ)
req.setsockopt(zmq.LINGER, 0)
req.setsockopt(zmq.RCVTIMEO, deadline_ms)
try:
    req.connect(endpoint)
    req.send(b"python")
except zmq.ZMQError as e:
    print("python: %s" % e, file=sys.stderr)
    sys.exit(2)
try:
    reply = req.recv()
except zmq.Again:
    print("no reply")
    sys.exit(0 if mode == "refused" else 1)
print("reply %s" % reply.decode())
sys.exit(0 if mode == "reply" and reply == b"echo:python" else 1)

<?php
// php-zmq client for run_client.py: ENDPOINT MODE, MODE "reply" (a round
// trip must succeed) or "refused" (no reply may come within the deadline).
// Credentials come from ZMTLS_CERT / ZMTLS_KEY / ZMTLS_CA.
// Exit: 0 as expected, 1 wrong outcome, 2 connect/send failed.
[$endpoint, $mode, $deadline_ms] = [$argv[1], $argv[2], (int)$argv[3]];
$ctx = new ZMQContext();
$req = $ctx->getSocket(ZMQ::SOCKET_REQ);
$req->setSockOpt(ZMQ::SOCKOPT_LINGER, 0);
$req->setSockOpt(ZMQ::SOCKOPT_RCVTIMEO, $deadline_ms);
try {
    $req->connect($endpoint);
    $req->send("php");
} catch (ZMQSocketException $e) {
    fwrite(STDERR, "php: " . $e->getMessage() . "\n");
    exit(2);
}
$reply = $req->recv();
if ($reply === false) {
    echo "no reply\n";
    exit($mode === "refused" ? 0 : 1);
}
echo "reply $reply\n";
exit($mode === "reply" && $reply === "echo:php" ? 0 : 1);

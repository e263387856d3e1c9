# ZMQ::FFI client for run_client.py: ENDPOINT MODE DEADLINE_MS, MODE "reply"
# (a round trip must succeed) or "refused" (no reply may come within the
# deadline). Credentials come from ZMTLS_CERT / ZMTLS_KEY / ZMTLS_CA.
# Exit: 0 as expected, 1 wrong outcome, 2 connect/send failed.
use strict;
use warnings;
use ZMQ::FFI;
use ZMQ::FFI::Constants qw(ZMQ_REQ ZMQ_RCVTIMEO);

my ($endpoint, $mode, $deadline_ms) = @ARGV;
my $ctx = ZMQ::FFI->new();
my $req = $ctx->socket(ZMQ_REQ);
$req->set_linger(0);
$req->set(ZMQ_RCVTIMEO, 'int', $deadline_ms);
eval { $req->connect($endpoint); $req->send('perl'); 1 } or do {
    print STDERR "perl: $@";
    exit 2;
};
my $reply = eval { $req->recv() };
if (!defined $reply) {
    print "no reply\n";
    exit($mode eq 'refused' ? 0 : 1);
}
print "reply $reply\n";
exit($mode eq 'reply' && $reply eq 'echo:perl' ? 0 : 1);

# ffi-rzmq client for run_client.py: ENDPOINT MODE DEADLINE_MS, MODE "reply"
# (a round trip must succeed) or "refused" (no reply may come within the
# deadline). Credentials come from ZMTLS_CERT / ZMTLS_KEY / ZMTLS_CA.
# Exit: 0 as expected, 1 wrong outcome, 2 connect/send failed.
require 'ffi-rzmq'

endpoint, mode, deadline_ms = ARGV[0], ARGV[1], ARGV[2].to_i
ctx = ZMQ::Context.new
req = ctx.socket(ZMQ::REQ)
req.setsockopt(ZMQ::LINGER, 0)
req.setsockopt(ZMQ::RCVTIMEO, deadline_ms)
if req.connect(endpoint) < 0 || req.send_string('ruby') < 0
  warn "ruby: #{ZMQ::Util.error_string}"
  exit 2
end
reply = +''
if req.recv_string(reply) < 0
  puts 'no reply'
  exit(mode == 'refused' ? 0 : 1)
end
puts "reply #{reply}"
exit(mode == 'reply' && reply == 'echo:ruby' ? 0 : 1)

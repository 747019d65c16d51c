-- A dead drain's claims, taken over by its re-run (push/bulk.ts): those still claimed get a new lease, the
-- others leave the job's set. KEYS: claimed, byJob. ARGV: leaseMs, ids…. Returns the ids taken over.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = now + tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], expiry, ARGV[i])
    out[#out + 1] = ARGV[i]
  else
    redis.call('SREM', KEYS[2], ARGV[i])
  end
end
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return out

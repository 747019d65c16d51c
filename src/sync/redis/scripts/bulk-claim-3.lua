-- Claims up to n pending customers for a bulk drain (push/bulk.ts). Expired claims go back to pending first;
-- a customer another drain still holds is left in pending (one customer is never pushed by two drains at once).
-- KEYS: pending, claimed, byJob. ARGV: n, leaseMs. Returns the claimed ids.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[1], 'NX', 0, id)
end
local n = tonumber(ARGV[1])
local expiry = now + tonumber(ARGV[2])
local out = {}
local offset = 0
while #out < n do
  local batch = redis.call('ZRANGE', KEYS[1], offset, offset + n - 1)
  if #batch == 0 then break end
  for _, id in ipairs(batch) do
    if #out >= n then break end
    if redis.call('ZSCORE', KEYS[2], id) then
      offset = offset + 1
    else
      redis.call('ZREM', KEYS[1], id)
      redis.call('ZADD', KEYS[2], expiry, id)
      redis.call('SADD', KEYS[3], id)
      out[#out + 1] = id
    end
  end
end
redis.call('PEXPIRE', KEYS[3], ARGV[2])
return out

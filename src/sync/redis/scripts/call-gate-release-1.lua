-- Releases a call-gate slot (call-gate.ts): its window starts now (Redis's clock). A slot already gone stays gone.
-- KEYS[1] the gate's sorted set. ARGV: slotId.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1])

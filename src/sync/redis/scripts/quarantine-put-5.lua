-- Stores a quarantine entry (quarantine.ts), then evicts the oldest others while over a limit; returns the
-- evicted ids. The new entry itself is never evicted (one body over maxBytes is kept alone). Putting an id
-- again replaces it (the legacy move may run twice).
-- KEYS: ids, meta, bodies, bytes, evicted. ARGV: id, score, meta JSON, body, maxEntries, maxBytes.
redis.call('DECRBY', KEYS[4], redis.call('HSTRLEN', KEYS[3], ARGV[1]))
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[4])
local bytes = redis.call('INCRBY', KEYS[4], string.len(ARGV[4]))
local count = redis.call('ZCARD', KEYS[1])
local evicted = {}
while count > tonumber(ARGV[5]) or bytes > tonumber(ARGV[6]) do
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 1)
  local victim = oldest[1]
  if victim == ARGV[1] then victim = oldest[2] end
  if not victim then break end
  bytes = redis.call('DECRBY', KEYS[4], redis.call('HSTRLEN', KEYS[3], victim))
  redis.call('ZREM', KEYS[1], victim)
  redis.call('HDEL', KEYS[2], victim)
  redis.call('HDEL', KEYS[3], victim)
  count = count - 1
  evicted[#evicted + 1] = victim
end
if #evicted > 0 then redis.call('INCRBY', KEYS[5], #evicted) end
return evicted

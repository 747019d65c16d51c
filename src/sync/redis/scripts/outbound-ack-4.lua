-- Takes the head off an outbound lane once it was delivered (or found expired) (outbound/store.ts): only if it
-- still is the head, so two runners can never skip an event. A delivery ends the subscription's failure streak.
-- KEYS: the lane (sub, customer), the subscription's state, its fails hash, its lanes set.
-- ARGV: customer, eventId, nowMs, delivered ('1' | '0'). Returns 1 when taken off, else 0.
local lane, state, fails, lanes = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local customer = ARGV[1]
if ARGV[4] == '1' then
  redis.call('HDEL', state, 'failingSince')
  redis.call('HSET', state, 'lastSuccessAt', ARGV[3])
  redis.call('HDEL', fails, customer)
end
if redis.call('LINDEX', lane, 0) ~= ARGV[2] then return 0 end
redis.call('LPOP', lane)
if tonumber(redis.call('HINCRBY', state, 'pending', -1)) < 0 then redis.call('HSET', state, 'pending', 0) end
if redis.call('LLEN', lane) == 0 then redis.call('SREM', lanes, customer) end
return 1

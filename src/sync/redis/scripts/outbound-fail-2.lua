-- Counts a failed outbound delivery (outbound/store.ts): starts the subscription's failure streak if none runs,
-- and pauses the subscription once the streak is older than pauseAfterMs.
-- KEYS: the subscription's state, its fails hash. ARGV: customer, nowMs, pauseAfterMs, error.
-- Returns {lane failures in a row, 0 | 1 paused before | 2 paused now}.
local state, failsKey = KEYS[1], KEYS[2]
local customer, now = ARGV[1], tonumber(ARGV[2])
redis.call('HSETNX', state, 'failingSince', ARGV[2])
redis.call('HSET', state, 'lastFailureAt', ARGV[2], 'lastError', ARGV[4])
local fails = redis.call('HINCRBY', failsKey, customer, 1)
if redis.call('HGET', state, 'paused') == '1' then return {fails, 1} end
local since = tonumber(redis.call('HGET', state, 'failingSince'))
if now - since >= tonumber(ARGV[3]) then
  redis.call('HSET', state, 'paused', '1', 'pausedAt', ARGV[2], 'pausedReason', ARGV[4])
  return {fails, 2}
end
return {fails, 0}

-- Records a batch of events for one customer and queues each for the subscriptions that take it
-- (outbound/store.ts); a paused subscription's lanes fill too (in order, delivered on resume), but it is not
-- returned as one to kick. With mode `cas`, first checks that subscribers' view of the customer is still the one
-- the events were derived from, and moves it on; returns {'conflict'} otherwise. An event id already recorded is
-- neither recorded nor queued again. Returns {'ok', <events new>, <subscriptions queued to>…}.
-- KEYS: the customer's view, the sequence, the log by time, the log by sequence, then in the order ARGV names
--   them: each dropped view; the record store's note of untold identity changes (when hasTold); per event its
--   body key, then per subscription its lane for the customer, its lanes set and its state.
-- ARGV: customer, mode, expectedHash, newHash, newVersion, viewJson, retentionMs, nowMs, nDrop, hasTold ('1'|'0'),
--   nTold, <its members these events tell>…, nEvents, then per event: id, body, timeMs, nSubs, <subs>….
local viewKey, seqKey, logTime, logSeq = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local customer = ARGV[1]
if ARGV[2] == 'cas' then
  local current = redis.call('HGET', viewKey, 'hash') or ''
  if current ~= ARGV[3] then return {'conflict'} end
  redis.call('HSET', viewKey, 'hash', ARGV[4], 'version', ARGV[5], 'view', ARGV[6])
end
local retention = tonumber(ARGV[7])
local now = tonumber(ARGV[8])
local k = 5
for d = 1, tonumber(ARGV[9]) do
  redis.call('DEL', KEYS[k]); k = k + 1
end
local i = 10
local hasTold = ARGV[i] == '1'; i = i + 1
local toldKey = false
if hasTold then toldKey = KEYS[k]; k = k + 1 end
local nTold = tonumber(ARGV[i]); i = i + 1
for t = 1, nTold do
  redis.call('SREM', toldKey, ARGV[i]); i = i + 1
end
local nEvents = tonumber(ARGV[i]); i = i + 1
local queued = {}
local fresh_count = 0
local seen = {}
for e = 1, nEvents do
  local id, body, at, nSubs = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  i = i + 4
  local fresh = redis.call('SET', KEYS[k], body, 'NX', 'PX', retention); k = k + 1
  if fresh then
    fresh_count = fresh_count + 1
    local seq = redis.call('INCR', seqKey)
    redis.call('ZADD', logTime, at, id)
    redis.call('ZADD', logSeq, seq, id)
  end
  for s = 1, nSubs do
    local sub = ARGV[i]; i = i + 1
    local lane, lanes, state = KEYS[k], KEYS[k + 1], KEYS[k + 2]; k = k + 3
    if fresh then
      redis.call('RPUSH', lane, id)
      redis.call('SADD', lanes, customer)
      redis.call('HINCRBY', state, 'pending', 1)
      if not seen[sub] and redis.call('HGET', state, 'paused') ~= '1' then seen[sub] = true; table.insert(queued, sub) end
    end
  end
end
local old = redis.call('ZRANGEBYSCORE', logTime, '-inf', now - retention, 'LIMIT', 0, 200)
if #old > 0 then
  redis.call('ZREM', logTime, unpack(old))
  redis.call('ZREM', logSeq, unpack(old))
end
local out = {'ok', fresh_count}
for _, sub in ipairs(queued) do table.insert(out, sub) end
return out

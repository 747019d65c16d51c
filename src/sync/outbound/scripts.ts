/**
 * The Lua scripts of outbound webhooks: each a step that must not be seen
 * half done (an event recorded but not queued, a head acknowledged twice, a
 * failure streak not yet pausing). Keys are built inside the scripts from the
 * `<prefix>:outbound` base, as BullMQ's own scripts do; portal-sync runs on
 * one Redis (no cluster), like its queues.
 */

/**
 * Records a batch of events for one customer and queues each for the subscriptions that take it;
 * a paused subscription's lanes fill too (in order, delivered on resume), but it is not returned
 * as one to kick. With mode `cas`, first checks that subscribers' view of the customer is still
 * the one the events were derived from, and moves it on; returns {'conflict'} otherwise. An event
 * id already recorded is neither recorded nor queued again. Returns {'ok', <events new>, <subscriptions queued to>…}.
 *
 * ARGV: base, customer, mode, expectedHash, newHash, newVersion, viewJson, retentionMs, nowMs,
 *   nDrop, <customer ids whose view to drop>…, the record store's note of untold identity changes
 *   ('' for none), nTold, <its members these events tell>…, nEvents, then per event: id, body, timeMs, nSubs, <subs>…
 */
export const EMIT = `
local base = ARGV[1]
local customer = ARGV[2]
if ARGV[3] == 'cas' then
  local viewKey = base .. ':view:' .. customer
  local current = redis.call('HGET', viewKey, 'hash') or ''
  if current ~= ARGV[4] then return {'conflict'} end
  redis.call('HSET', viewKey, 'hash', ARGV[5], 'version', ARGV[6], 'view', ARGV[7])
end
local retention = tonumber(ARGV[8])
local now = tonumber(ARGV[9])
local i = 10
local nDrop = tonumber(ARGV[i]); i = i + 1
for d = 1, nDrop do
  redis.call('DEL', base .. ':view:' .. ARGV[i]); i = i + 1
end
local toldKey = ARGV[i]; i = i + 1
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
  local fresh = redis.call('SET', base .. ':evt:' .. id, body, 'NX', 'PX', retention)
  if fresh then
    fresh_count = fresh_count + 1
    local seq = redis.call('INCR', base .. ':seq')
    redis.call('ZADD', base .. ':log:time', at, id)
    redis.call('ZADD', base .. ':log:seq', seq, id)
  end
  for s = 1, nSubs do
    local sub = ARGV[i]; i = i + 1
    local state = base .. ':sub:' .. sub
    if fresh then
      redis.call('RPUSH', base .. ':lane:' .. sub .. ':' .. customer, id)
      redis.call('SADD', base .. ':lanes:' .. sub, customer)
      redis.call('HINCRBY', state, 'pending', 1)
      if not seen[sub] and redis.call('HGET', state, 'paused') ~= '1' then seen[sub] = true; table.insert(queued, sub) end
    end
  end
end
local old = redis.call('ZRANGEBYSCORE', base .. ':log:time', '-inf', now - retention, 'LIMIT', 0, 200)
if #old > 0 then
  redis.call('ZREM', base .. ':log:time', unpack(old))
  redis.call('ZREM', base .. ':log:seq', unpack(old))
end
local out = {'ok', fresh_count}
for _, sub in ipairs(queued) do table.insert(out, sub) end
return out
`;

/**
 * Takes the head off a lane once it was delivered (or found expired): only if it still is the head,
 * so two runners can never skip an event. A delivery ends the subscription's failure streak.
 * ARGV: base, sub, customer, eventId, nowMs, delivered ('1' | '0'). Returns 1 when taken off, else 0.
 */
export const ACK = `
local base, sub, customer = ARGV[1], ARGV[2], ARGV[3]
local lane = base .. ':lane:' .. sub .. ':' .. customer
local state = base .. ':sub:' .. sub
if ARGV[6] == '1' then
  redis.call('HDEL', state, 'failingSince')
  redis.call('HSET', state, 'lastSuccessAt', ARGV[5])
  redis.call('HDEL', base .. ':fails:' .. sub, customer)
end
if redis.call('LINDEX', lane, 0) ~= ARGV[4] then return 0 end
redis.call('LPOP', lane)
if tonumber(redis.call('HINCRBY', state, 'pending', -1)) < 0 then redis.call('HSET', state, 'pending', 0) end
if redis.call('LLEN', lane) == 0 then redis.call('SREM', base .. ':lanes:' .. sub, customer) end
return 1
`;

/**
 * Counts a failed delivery: starts the subscription's failure streak if none runs, and pauses the
 * subscription once the streak is older than pauseAfterMs.
 * ARGV: base, sub, customer, nowMs, pauseAfterMs, error. Returns {lane failures in a row, 0 | 1 paused before | 2 paused now}.
 */
export const FAIL = `
local base, sub, customer, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local state = base .. ':sub:' .. sub
redis.call('HSETNX', state, 'failingSince', ARGV[4])
redis.call('HSET', state, 'lastFailureAt', ARGV[4], 'lastError', ARGV[6])
local fails = redis.call('HINCRBY', base .. ':fails:' .. sub, customer, 1)
if redis.call('HGET', state, 'paused') == '1' then return {fails, 1} end
local since = tonumber(redis.call('HGET', state, 'failingSince'))
if now - since >= tonumber(ARGV[5]) then
  redis.call('HSET', state, 'paused', '1', 'pausedAt', ARGV[4], 'pausedReason', ARGV[6])
  return {fails, 2}
end
return {fails, 0}
`;

/**
 * Puts replayed events into a lane beside what it still holds, without duplicates, in emission
 * order (the global sequence); ids the log no longer knows keep their place at the front.
 * ARGV: base, sub, customer, <event ids>…. Returns how many were added.
 */
export const MERGE_LANE = `
local base, sub, customer = ARGV[1], ARGV[2], ARGV[3]
local lane = base .. ':lane:' .. sub .. ':' .. customer
local logSeq = base .. ':log:seq'
local items, seen = {}, {}
local existing = redis.call('LRANGE', lane, 0, -1)
for n, id in ipairs(existing) do
  seen[id] = true
  table.insert(items, {id, tonumber(redis.call('ZSCORE', logSeq, id)) or -1, n})
end
local added = 0
for a = 4, #ARGV do
  local id = ARGV[a]
  if not seen[id] then
    seen[id] = true
    added = added + 1
    table.insert(items, {id, tonumber(redis.call('ZSCORE', logSeq, id)) or -1, #existing + a})
  end
end
if added == 0 then return 0 end
table.sort(items, function(x, y) if x[2] ~= y[2] then return x[2] < y[2] end return x[3] < y[3] end)
redis.call('DEL', lane)
local chunk = {}
for _, item in ipairs(items) do
  table.insert(chunk, item[1])
  if #chunk == 500 then redis.call('RPUSH', lane, unpack(chunk)); chunk = {} end
end
if #chunk > 0 then redis.call('RPUSH', lane, unpack(chunk)) end
redis.call('SADD', base .. ':lanes:' .. sub, customer)
redis.call('HINCRBY', base .. ':sub:' .. sub, 'pending', added)
return added
`;

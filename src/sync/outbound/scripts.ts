/**
 * The outbound emit script: recording events and queueing them must not be seen half done. Its keys
 * are still built inside the script from the `<prefix>:outbound` base (a variable set of views, events,
 * lanes and subscription states); the other outbound scripts (ack, fail, merge-lane) are files in
 * src/sync/redis/scripts with declared KEYS. portal-sync runs on one Redis (docs/architecture.md).
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

-- Puts replayed events into an outbound lane beside what it still holds (outbound/store.ts), without
-- duplicates, in emission order (the global sequence); ids the log no longer knows keep their place at the front.
-- KEYS: the lane (sub, customer), the log by sequence, the subscription's lanes set, its state.
-- ARGV: customer, <event ids>…. Returns how many were added.
local lane, logSeq, lanes, state = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local customer = ARGV[1]
local items, seen = {}, {}
local existing = redis.call('LRANGE', lane, 0, -1)
for n, id in ipairs(existing) do
  seen[id] = true
  table.insert(items, {id, tonumber(redis.call('ZSCORE', logSeq, id)) or -1, n})
end
local added = 0
for a = 2, #ARGV do
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
redis.call('SADD', lanes, customer)
redis.call('HINCRBY', state, 'pending', added)
return added

-- The customer view's read (view/read.ts): counts the request against the viewer's budget, reads the viewer's
-- identity index keys in order, says whether any identity conflict is stored, and — when the record the index
-- names first is the guessed one — reads that record and the viewer's entries kept beside it. A spent budget
-- reads nothing.
-- KEYS: rate counter, conflicts hash, the guessed record, the guessed record's people kept beside it, then the
-- viewer's index keys in order. ARGV: counter ttl (ms), budget, guessed record id, then the viewer's person keys
-- (the people hash's fields: resolve.ts's personKeys; an `email:` field is a pointer, followed to the entry it names).
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1], 'NX')
if n > tonumber(ARGV[2]) then return { n } end
local out = { n, redis.call('HLEN', KEYS[2]), false, false }
local first = false
for i = 5, #KEYS do
  local id = redis.call('GET', KEYS[i])
  out[#out + 1] = id
  if id and not first then first = id end
end
if first and first == ARGV[3] then
  out[3] = redis.call('GET', KEYS[3])
  if #ARGV > 3 then
    local got = redis.call('HMGET', KEYS[4], unpack(ARGV, 4))
    for i = 1, #got do
      if got[i] and string.sub(ARGV[3 + i], 1, 6) == 'email:' then got[i] = redis.call('HGET', KEYS[4], got[i]) end
    end
    out[4] = got
  end
end
return out

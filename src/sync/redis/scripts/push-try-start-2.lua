-- Starts one try of a push (push/progress.ts): reads the writer token of the customer and target and the push
-- progress, and only then makes this try the writer, in one step, so that no other writer can start between the
-- read and the set. A progress entry (place -> '<token>:<sha1 of the accepted state>:<hash of what was sent>')
-- is returned only when it was recorded under the token read: no other push try or bulk drain has started to
-- write the customer's data since, so the place still holds what the entry says. Every other entry is deleted
-- (another writer may have written the place since; the try then writes it again, which an upsert makes harmless).
-- A token still set means a writer (push try or drain) started and did not reach its accept, which clears it:
-- it may have written part of a change, so this try writes the whole projection, not the difference from the
-- accepted state (a part written and then undone in the record would otherwise stay on the target).
-- KEYS[1] the push progress (hash), KEYS[2] the writer token.
-- ARGV[1] this try's token (fresh, random), ARGV[2] how long the token is kept (ms).
-- Returns 1 when a writer left its token set (0 otherwise), then the trusted entries, flat: place, value, ...
local previous = redis.call('GET', KEYS[2])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
local unfinished = previous and 1 or 0
local entries = redis.call('HGETALL', KEYS[1])
if #entries == 0 then return { unfinished } end
local trusted, stale = { unfinished }, {}
local mark = previous and (previous .. ':') or nil
for i = 1, #entries, 2 do
  local value = entries[i + 1]
  if mark and string.sub(value, 1, #mark) == mark then
    trusted[#trusted + 1] = entries[i]
    trusted[#trusted + 1] = value
  else
    stale[#stale + 1] = entries[i]
  end
end
if #trusted == 1 then
  redis.call('DEL', KEYS[1])
  return trusted
end
-- In slices: unpack is bounded by Lua's stack.
for i = 1, #stale, 500 do
  redis.call('HDEL', KEYS[1], unpack(stale, i, math.min(i + 499, #stale)))
end
return trusted

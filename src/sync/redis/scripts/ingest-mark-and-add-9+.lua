-- Ingest (enqueue-script.ts): per event, checks its dedupe mark, adds its job with BullMQ's own addStandardJob
-- and marks it `done`, in one atomic step. Not run by runScript: enqueue-script.ts puts the installed BullMQ's
-- addStandardJob source in front of this file as `local function addStandardJob(KEYS, ARGV)`.
-- KEYS: BullMQ's 9 addStandardJob keys, then one dedupe mark per event.
-- ARGV: now (ms), enqueue deadline (ms), dedupe TTL (s), renew the duplicates' marks (1/0), then per event
-- BullMQ's 3 arguments (packed args, data, packed opts).
-- Returns per event 0 accepted, 1 duplicate, 2 in flight, or BullMQ's negative error code (nothing kept).
local queueKeys = { KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9] }
local now = tonumber(ARGV[1])
local deadline = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local renew = ARGV[4] == '1'
local out = {}
for i = 10, #KEYS do
  local e = i - 9
  local mark = KEYS[i]
  local previous = redis.call('GET', mark)
  local add = previous == false
  if not add then
    if string.sub(previous, 1, 7) == 'pending' then
      -- 'pending' alone: a claim written before claims carried their time; it expires on its own.
      local claimedAt = tonumber(string.sub(previous, 9)) or now
      if now - claimedAt > deadline then add = true else out[e] = 2 end
    else
      if renew then redis.call('EXPIRE', mark, ttl) end
      out[e] = 1
    end
  end
  if add then
    local a = 5 + (e - 1) * 3
    local result = addStandardJob(queueKeys, { ARGV[a], ARGV[a + 1], ARGV[a + 2] })
    if type(result) == 'number' and result < 0 then
      out[e] = result
    else
      redis.call('SET', mark, 'done', 'EX', ttl)
      out[e] = 0
    end
  end
end
return out

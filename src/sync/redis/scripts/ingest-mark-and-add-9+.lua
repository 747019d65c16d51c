-- Ingest (enqueue-script.ts): per event, checks its dedupe mark; adds each job with BullMQ's own addStandardJob
-- holding the new events of its group, and marks those `done`, in one atomic step. Not run by runScript:
-- enqueue-script.ts puts the installed BullMQ's addStandardJob source in front of this file as
-- `local function addStandardJob(KEYS, ARGV)`.
-- KEYS: BullMQ's 9 addStandardJob keys, then one dedupe mark per event (in the order of the jobs' events).
-- ARGV: now (ms), enqueue deadline (ms), dedupe TTL (s), renew the duplicates' marks (1/0), then per job:
-- BullMQ's packed args, BullMQ's packed opts, the number of events n, batch (1/0), then the n events' JSON.
-- A single job's data is its event's JSON; a batch's is {"v":1,"events":[...]} of its new events alone, and a
-- batch none of whose events is new is not added (batch-job.ts).
-- Returns per event 0 accepted, 1 duplicate, 2 in flight, or BullMQ's negative error code (nothing kept).
local queueKeys = { KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9] }
local now = tonumber(ARGV[1])
local deadline = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local renew = ARGV[4] == '1'
local out = {}
-- Marks taken by an earlier event of this call: the same event twice in one flush is added once (a failed add
-- fails the whole call in enqueue-script.ts, so the second is never acknowledged without the first).
local taken = {}

-- Whether the event's mark lets it be added; otherwise out[e] says why not.
local function isNew(e)
  local mark = KEYS[9 + e]
  if taken[mark] then
    out[e] = 1
    return false
  end
  local previous = redis.call('GET', mark)
  if previous == false then return true end
  if string.sub(previous, 1, 7) == 'pending' then
    -- 'pending' alone: a claim written before claims carried their time; it expires on its own.
    local claimedAt = tonumber(string.sub(previous, 9)) or now
    if now - claimedAt > deadline then return true end
    out[e] = 2
  else
    if renew then redis.call('EXPIRE', mark, ttl) end
    out[e] = 1
  end
  return false
end

local a = 5
local e = 0
while a <= #ARGV do
  local args, opts, n, batch = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2]), ARGV[a + 3] == '1'
  local fresh, json = {}, {}
  for i = 1, n do
    if isNew(e + i) then
      taken[KEYS[9 + e + i]] = true
      fresh[#fresh + 1] = e + i
      json[#json + 1] = ARGV[a + 3 + i]
    end
  end
  if #fresh > 0 then
    local data = batch and ('{"v":1,"events":[' .. table.concat(json, ',') .. ']}') or json[1]
    local result = addStandardJob(queueKeys, { args, data, opts })
    for _, f in ipairs(fresh) do
      if type(result) == 'number' and result < 0 then
        out[f] = result
      else
        local mark = KEYS[9 + f]
        redis.call('SET', mark, 'done', 'EX', ttl)
        out[f] = 0
      end
    end
  end
  e = e + n
  a = a + 4 + n
end
return out

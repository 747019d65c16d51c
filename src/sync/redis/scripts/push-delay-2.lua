-- The delay of a real-time push of a customer to a target (push/planner.ts): a push pending or running gives
-- the debounce (absorbed if pending; the follow-up of a running one waits that long after it); a push written
-- within the window gives the rest of the window; otherwise the lead.
-- KEYS[1] BullMQ's deduplication key of the customer's push job, KEYS[2] the recent-push key. ARGV: debounceMs, leadMs.
if redis.call('EXISTS', KEYS[1]) == 1 then return tonumber(ARGV[1]) end
local left = redis.call('PTTL', KEYS[2])
if left > 0 then return left end
return tonumber(ARGV[2])

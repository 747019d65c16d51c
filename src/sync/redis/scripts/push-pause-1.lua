-- Pauses a push queue for a rate limit (push/worker.ts) without opening a new window of BullMQ's job limiter
-- inside the current one. The limiter key counts the jobs started in the window and expires with it; BullMQ
-- starts no job while the count is at least its max, so a pause is the count set to ARGV[3] (huge) for a
-- while — which drops the window's count: a pause ending before the window would let `max` more jobs start
-- in it. So:
--   the window ends within the wait (or none is open): the queue pauses for the whole wait; returns the wait;
--   it outlasts the wait and the caller may wait in place (ARGV[2] = '1'): nothing changes; returns 0;
--   it outlasts the wait otherwise: the window is marked full until it ends; returns what is left of it.
-- KEYS[1] the queue's limiter key. ARGV: waitMs (>= 1), '1' when the caller may wait in place, the pause count.
local wait = tonumber(ARGV[1])
local left = redis.call('PTTL', KEYS[1])
if left <= wait then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', wait)
  return wait
end
if ARGV[2] == '1' then return 0 end
redis.call('SET', KEYS[1], ARGV[3], 'PX', left)
return left

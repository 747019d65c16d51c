-- Stores a push's accepted state (push/worker.ts) only over the one its push was prepared against (sha1 of
-- it; '' when there was none). Otherwise another push of the customer accepted in between and the platform
-- may hold either write: the state is dropped, so that the next push writes everything, and 0 says so.
-- Either way the calls kept for the customer's next try (push/progress.ts) are done with: deleted.
-- KEYS[1] the customer's accepted state for the target, KEYS[2] its push progress.
-- ARGV: sha1 of the state prepared against, the new state.
redis.call('DEL', KEYS[2])
local cur = redis.call('GET', KEYS[1])
if (cur and redis.sha1hex(cur) or '') == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
redis.call('DEL', KEYS[1])
return 0

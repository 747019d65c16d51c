-- Stores a push's accepted state (push/worker.ts) only over the one its push was prepared against (sha1 of
-- it; '' when there was none). Otherwise another push of the customer accepted in between and the platform
-- may hold either write: the state is dropped, so that the next push writes everything, and 0 says so.
-- Either way the calls kept for the customer's next try (push/progress.ts) are done with: deleted. The
-- customer's writer token is cleared when it is still this writer's own: the customer's data on the target is
-- then all accounted for (a token left set tells the next push that a writer stopped before this point).
-- KEYS[1] the customer's accepted state for the target, KEYS[2] its push progress, KEYS[3] its writer token.
-- ARGV: sha1 of the state prepared against, the new state, this writer's token.
redis.call('DEL', KEYS[2])
if redis.call('GET', KEYS[3]) == ARGV[3] then redis.call('DEL', KEYS[3]) end
local cur = redis.call('GET', KEYS[1])
if (cur and redis.sha1hex(cur) or '') == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
redis.call('DEL', KEYS[1])
return 0

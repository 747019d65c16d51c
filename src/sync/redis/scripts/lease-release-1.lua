-- Releases a lease (resync/runs.ts) only if its holder still holds it: a lapsed lease another took stays theirs.
-- KEYS[1] the lease. ARGV: holder.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end

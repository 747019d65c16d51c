-- Renews a lease (resync/runs.ts) only while its holder still holds it: 1 when renewed, 0 when lapsed or taken.
-- KEYS[1] the lease. ARGV: holder, leaseMs.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end

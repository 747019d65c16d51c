-- Removes a quarantine entry (quarantine.ts). Returns 1 when the entry was there.
-- KEYS: ids, meta, bodies, bytes. ARGV: id.
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('DECRBY', KEYS[4], redis.call('HSTRLEN', KEYS[3], ARGV[1]))
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1

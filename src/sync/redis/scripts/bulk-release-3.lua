-- Releases a drain's claims (push/bulk.ts), back to pending when asked (a push that must be retried).
-- KEYS: pending, claimed, byJob. ARGV: back (1: return to pending), ids….
for i = 2, #ARGV do
  if redis.call('ZREM', KEYS[2], ARGV[i]) == 1 and ARGV[1] == '1' then redis.call('ZADD', KEYS[1], 'NX', 0, ARGV[i]) end
  redis.call('SREM', KEYS[3], ARGV[i])
end
return 0

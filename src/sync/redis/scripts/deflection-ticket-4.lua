-- Records a ticket for deflection (deflection/tracker.ts), once per ticket id: 1 when recorded now, 0 when its
-- marker says it already was. Counts it in its hour's bucket and keeps it among the customer's recent tickets.
-- KEYS: the ticket's marker, the tickets log, the hour's counts, the customer's recent tickets.
-- ARGV: createdAt (ms), markerTtlMs, log entry JSON, the category's count field, recent entry JSON,
--   the exclusive score below which recent tickets are forgotten ('(<ms>'), ticketMemoryMs.
local marker, tickets, bucket, recent = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
if redis.call('EXISTS', marker) == 1 then return 0 end
redis.call('SET', marker, ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', tickets, ARGV[1], ARGV[3])
redis.call('HINCRBY', bucket, 'tickets', 1)
redis.call('HINCRBY', bucket, ARGV[4], 1)
redis.call('ZADD', recent, ARGV[1], ARGV[5])
redis.call('ZREMRANGEBYSCORE', recent, '-inf', ARGV[6])
redis.call('PEXPIRE', recent, ARGV[7])
return 1

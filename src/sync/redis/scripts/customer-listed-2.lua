-- Lists a stored record in the customers set (events/store.ts, on a job's retry): an earlier attempt's EXEC may
-- have stored the record and failed the SADD that lists it (MULTI has no rollback). Only while the record exists:
-- one merged away since is not listed again.
-- KEYS[1] the record, KEYS[2] the customers set. ARGV: the record's id.
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('SADD', KEYS[2], ARGV[1]) end
return 0

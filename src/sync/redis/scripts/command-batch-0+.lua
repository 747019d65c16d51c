-- Runs a batch of commands in one call, each reply in its place (watch-group.ts: the reads of the record store's
-- applies that share one WATCH connection, or their writes inside its MULTI/EXEC, sent as one command where each
-- was one). KEYS: every command's keys, in order. ARGV[1]: 'read' or 'write', the commands allowed; then per
-- command its name, how many of KEYS it takes and how many further arguments follow, then those arguments. A
-- command that fails has its error as its reply, as in a pipeline or MULTI/EXEC; the others still run. The
-- caller reads strings (GET) and writes records (SET of bytes) natively beside this script (MGET, MSET): Lua
-- would copy each value on its way in and out. For a GET sent natively, a read batch holds the key's TYPE.
local allowed = ({
  read = { TYPE = true, GET = true, MGET = true, HGET = true, HGETALL = true, SCARD = true, SMISMEMBER = true, SMEMBERS = true },
  write = { SET = true, SADD = true, SREM = true, HSET = true, HDEL = true, DEL = true, EXPIRE = true, SUNIONSTORE = true },
})[ARGV[1]]
if not allowed then return redis.error_reply(string.format('ERR command-batch: unknown kind %s', tostring(ARGV[1]))) end
local replies = {}
local k, i = 1, 2
while i <= #ARGV do
  local command, keys, args = string.upper(ARGV[i]), tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  i = i + 3
  local call = {}
  for _ = 1, keys do call[#call + 1] = KEYS[k]; k = k + 1 end
  for _ = 1, args do call[#call + 1] = ARGV[i]; i = i + 1 end
  if allowed[command] then
    replies[#replies + 1] = redis.pcall(command, unpack(call))
  else
    replies[#replies + 1] = redis.error_reply(string.format('ERR command-batch: %s runs no %s', ARGV[1], command))
  end
end
return replies

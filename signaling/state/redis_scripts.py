"""The Lua scripts of the Redis state: each one indivisible step that must not interleave between nodes.

:mod:`signaling.state.redis_state` registers them; each says which keys and
arguments it takes and what it returns.
"""

from __future__ import annotations

from signaling.core.matrix import MAX_KIOSKS

from .codec import AGENT_FIELDS

#: KEYS: queue, identity, node, availability, tiles, last. ARGV: session, agent, now.
#: 0: the session is no longer waiting; -1: the agent cannot take it; n: the tile taken.
ASSIGN = """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local identity = redis.call('HGET', KEYS[2], ARGV[2])
if not identity then return -1 end
if not redis.call('HGET', KEYS[3], ARGV[2]) then return -1 end
if redis.call('HGET', KEYS[4], ARGV[2]) ~= 'available' then return -1 end
local capacity = math.min(tonumber(cjson.decode(identity)['capacity']) or 0, %d)
local used, free = 0, nil
for n = 1, %d do
  if redis.call('HEXISTS', KEYS[5], ARGV[2] .. '#' .. n) == 1 then used = used + 1
  elseif not free then free = n end
end
if used >= capacity or not free then return -1 end
redis.call('HSET', KEYS[5], ARGV[2] .. '#' .. free, ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[6], ARGV[2], ARGV[3])
return free
""" % (MAX_KIOSKS, MAX_KIOSKS)

#: The writes of an agent's record. KEYS: one per agent field (AGENT_FIELDS), then tiles. ARGV: agent id,
#: number of field writes, then (key index, value) per field ('' deletes), then (tile field, seen, new)
#: per tile, written only if it still holds what was seen; ``conflicts``: the tiles not written.
_WRITE_AGENT = """
local id, i = ARGV[1], 3
for _ = 1, tonumber(ARGV[2]) do
  local key, value = KEYS[tonumber(ARGV[i])], ARGV[i + 1]
  if value == '' then redis.call('HDEL', key, id) else redis.call('HSET', key, id, value) end
  i = i + 2
end
local conflicts = 0
while i <= #ARGV do
  local field, seen, new = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if (redis.call('HGET', KEYS[%(tiles)d], field) or '') == seen then
    if new == '' then redis.call('HDEL', KEYS[%(tiles)d], field) else redis.call('HSET', KEYS[%(tiles)d], field, new) end
  else conflicts = conflicts + 1 end
  i = i + 3
end
""" % {"tiles": len(AGENT_FIELDS) + 1}

#: KEYS and ARGV: :data:`_WRITE_AGENT`'s. Returns the tiles not written.
PUT_AGENT = _WRITE_AGENT + "return conflicts\n"

#: KEYS: :data:`_WRITE_AGENT`'s, then the routing numbers (a hash: agent id -> n). ARGV: its too.
#: Writes, numbers this read of the room (one more than the last, for this agent) and reads the record
#: back, all in one step: {n, conflicts, each field ('' unset), each tile ('' free)}.
COMMIT_ROOM = _WRITE_AGENT + """
local out = {redis.call('HINCRBY', KEYS[%(seq)d], id, 1), conflicts}
for k = 1, %(fields)d do out[#out + 1] = redis.call('HGET', KEYS[k], id) or '' end
for n = 1, %(kiosks)d do out[#out + 1] = redis.call('HGET', KEYS[%(tiles)d], id .. '#' .. n) or '' end
return out
""" % {"seq": len(AGENT_FIELDS) + 2, "fields": len(AGENT_FIELDS), "kiosks": MAX_KIOSKS, "tiles": len(AGENT_FIELDS) + 1}

#: KEYS: sessions, open. ARGV: id, JSON (its version first), booth, ended ('1'/'0'), version read.
#: Writes only if the stored version is still the one read (compare-and-set); otherwise returns the
#: stored JSON and writes nothing.
PUT_SESSION = """
local stored = redis.call('HGET', KEYS[1], ARGV[1])
local version = 0
if stored then version = tonumber(string.match(stored, '^{"v":(%d+)')) or 0 end
if version ~= tonumber(ARGV[5]) then return stored end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[4] == '1' then
  if redis.call('HGET', KEYS[2], ARGV[3]) == ARGV[1] then redis.call('HDEL', KEYS[2], ARGV[3]) end
else redis.call('HSET', KEYS[2], ARGV[3], ARGV[1]) end
return false
"""


#: KEYS: sessions, restored. ARGV: node. 1: this node restores (the state held no session and nobody
#: claimed it); 0: the live state stands.
CLAIM_RESTORE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('SET', KEYS[2], ARGV[1], 'NX') then return 1 end
return 0
"""


#: KEYS: grace, grace-node. ARGV: key, deadline, node ('' : none). 1: set; 0: a deadline stood already.
SET_GRACE = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[2], ARGV[1], ARGV[3]) end
return 1
"""

#: KEYS: queue, sessions. The waiting sessions' records, oldest first, in one round trip (a record
#: gone meanwhile is left out).
QUEUED = """
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local text = redis.call('HGET', KEYS[2], id)
  if text then out[#out + 1] = text end
end
return out
"""

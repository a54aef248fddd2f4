/* store_redis_scripts.h: the Lua scripts of the Redis backend (private to
 * store_redis.c). Redis runs a script atomically, so each counter operation
 * is atomic across all paychand instances sharing one Redis.
 *
 * The offer script applies the rule of pc_counter_window_offer
 * (counter_window.c) with the same verdicts (tests compare both on random
 * sequences), but keeps the seen counts in a ring of 2 * PC_COUNTER_WINDOW
 * bits indexed by count mod ring size, so that the usual step (a new
 * highest one above the old) is one SETBIT instead of shifting the whole
 * window in Lua (which cost ~60 us of Redis's only thread per call).
 * Invariant: for every count c in [h - W, h - 1], bit c mod R is 1 iff c was
 * seen; a new highest clears the bits of the counts it skips. Lua numbers
 * are doubles, hence PC_STORE_COUNT_MAX. Verdicts are the PC_WINDOW_* values. */
#ifndef PAYCHAN_SERVER_STORE_REDIS_SCRIPTS_H
#define PAYCHAN_SERVER_STORE_REDIS_SCRIPTS_H

/* KEYS[1] provider counter hash (h = highest as decimal text, s = its
 * 65-byte signature), KEYS[2] the ring (a string used as a bitmap), KEYS[3]
 * the Mediator's token-id set; ARGV[1] count (decimal), ARGV[2] signature,
 * ARGV[3] token id (hex). Returns {verdict, highest}. */
static const char pc_redis_offer_lua[] =
    "local W = 1024\n"
    "local R = 2 * W\n"
    "local count = tonumber(ARGV[1])\n"
    "local h = tonumber(redis.call('HGET', KEYS[1], 'h') or '0')\n"
    "local function clear(p, e)\n" /* ring bits p .. e-1, within one turn */
    "  while p < e and p % 8 ~= 0 do redis.call('SETBIT', KEYS[2], p, 0); p = p + 1 end\n"
    "  local bytes = math.floor((e - p) / 8)\n"
    "  if bytes > 0 then\n"
    "    redis.call('SETRANGE', KEYS[2], p / 8, string.rep('\\0', bytes))\n"
    "    p = p + 8 * bytes\n"
    "  end\n"
    "  while p < e do redis.call('SETBIT', KEYS[2], p, 0); p = p + 1 end\n"
    "end\n"
    "if count == 0 then return {0, h} end\n"
    "if count > h then\n"
    "  local skipped = count - h - 1\n" /* the counts h+1 .. count-1 */
    "  if skipped >= R then\n"
    "    redis.call('DEL', KEYS[2])\n"
    "  elseif skipped > 0 then\n"
    "    local p = (h + 1) % R\n"
    "    local first = math.min(skipped, R - p)\n"
    "    clear(p, p + first)\n"
    "    if first < skipped then clear(0, skipped - first) end\n"
    "  end\n"
    "  if h > 0 and count - h <= W then redis.call('SETBIT', KEYS[2], h % R, 1) end\n"
    "  redis.call('HSET', KEYS[1], 'h', ARGV[1], 's', ARGV[2])\n"
    "  redis.call('SADD', KEYS[3], ARGV[3])\n"
    "  return {1, count}\n"
    "end\n"
    "if count < h and h - count <= W then\n"
    "  if redis.call('SETBIT', KEYS[2], count % R, 1) == 0 then return {2, h} end\n"
    "end\n"
    "return {0, h}\n";

/* KEYS[1] consumer counter, KEYS[2] the Mediator's token-id set; ARGV[1]
 * token id (hex). Returns the new count (1 for a new token id). */
static const char pc_redis_next_count_lua[] =
    "local c = redis.call('INCR', KEYS[1])\n"
    "redis.call('SADD', KEYS[2], ARGV[1])\n"
    "return c\n";

/* KEYS[1] consumer counter; ARGV[1] the count to give back, decimal as
 * INCR writes it (so the comparison is exact, no doubles). Returns 1 when
 * it was the last issued, now one less; else 0, nothing changed. */
static const char pc_redis_return_count_lua[] =
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end\n"
    "redis.call('DECR', KEYS[1])\n"
    "return 1\n";

/* Forgets the counters one role keeps for a Mediator: KEYS[1] that role's
 * token-id set; ARGV[2..] the key prefixes of its counters (consumer: the
 * issued counts; provider: the validated counts and their rings). With
 * KEYS[2] (the role's record) and KEYS[3] (the set of records) it also
 * deletes the record, ARGV[1] being its member. The counter keys are
 * derived here, from the set (fine for one Redis; not for Redis Cluster). */
static const char pc_redis_forget_lua[] =
    "local ids = redis.call('SMEMBERS', KEYS[1])\n"
    "for _, id in ipairs(ids) do\n"
    "  for i = 2, #ARGV do redis.call('DEL', ARGV[i] .. id) end\n"
    "end\n"
    "redis.call('DEL', KEYS[1])\n"
    "if #KEYS == 3 then\n"
    "  redis.call('DEL', KEYS[2])\n"
    "  redis.call('SREM', KEYS[3], ARGV[1])\n"
    "end\n"
    "return #ids\n";

/* KEYS[1] the record hash, KEYS[2] the set of records; ARGV[1] the
 * record's member ("<mediator hex>:<role>"), ARGV[2..] field, value, ...
 * Replaces the record. */
static const char pc_redis_put_mediator_lua[] =
    "redis.call('DEL', KEYS[1])\n"
    "redis.call('HSET', KEYS[1], unpack(ARGV, 2))\n"
    "redis.call('SADD', KEYS[2], ARGV[1])\n"
    "return 1\n";

/* Brings the key layout of ARGV[1] (the prefix) from version 1 or 2 to 3, once
 * (KEYS[1] holds the version). Version 3 adds the money keys, which start
 * empty (store_redis_money.h). Version 1 had one record per Mediator
 * (med:<m>, member <m>) and one token-id set (ids:<m>) for both roles;
 * version 2 has one record per role (med:<m>:<role>, member <m>:<role>),
 * and ids:<m> lists the provider's token ids while cids:<m> lists the
 * consumer's. Returns the number of records moved from version 1. */
static const char pc_redis_migrate_lua[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if v == '3' then return 0 end\n"
    "local p = ARGV[1]\n"
    "local moved = 0\n"
    "if v ~= '2' then\n"
    "for _, m in ipairs(redis.call('SMEMBERS', p .. 'mediators')) do\n"
    "  if not string.find(m, ':', 1, true) then\n"
    "    local role = redis.call('HGET', p .. 'med:' .. m, 'role')\n"
    "    redis.call('SREM', p .. 'mediators', m)\n"
    "    if role then\n"
    "      redis.call('RENAME', p .. 'med:' .. m, p .. 'med:' .. m .. ':' .. role)\n"
    "      redis.call('SADD', p .. 'mediators', m .. ':' .. role)\n"
    "      moved = moved + 1\n"
    "    end\n"
    "    for _, id in ipairs(redis.call('SMEMBERS', p .. 'ids:' .. m)) do\n"
    "      if redis.call('EXISTS', p .. 'cc:' .. m .. ':' .. id) == 1 then\n"
    "        redis.call('SADD', p .. 'cids:' .. m, id)\n"
    "      end\n"
    "      if redis.call('EXISTS', p .. 'pc:' .. m .. ':' .. id) == 0 then\n"
    "        redis.call('SREM', p .. 'ids:' .. m, id)\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "end\n" /* 2 -> 3: the money keys (store_redis_money.h) start empty */
    "redis.call('SET', KEYS[1], '3')\n"
    "return moved\n";

#endif

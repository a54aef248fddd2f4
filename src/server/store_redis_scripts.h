/* store_redis_scripts.h: the Lua scripts of the Redis backend (private to
 * store_redis.c). Redis runs a script atomically, so each counter operation
 * is atomic across all paychand instances sharing one Redis.
 *
 * The offer script is pc_counter_window_offer (counter_window.c) in Lua,
 * step for step, on the same stored form: field h = highest (decimal text),
 * w = the PC_COUNTER_WINDOW / 8 bytes of `seen` (bit i = byte i/8, bit i%8 =
 * count h - 1 - i seen), s = the 65-byte signature of count h. Lua numbers
 * are doubles, hence PC_STORE_COUNT_MAX. Verdicts are the PC_WINDOW_* values. */
#ifndef PAYCHAN_SERVER_STORE_REDIS_SCRIPTS_H
#define PAYCHAN_SERVER_STORE_REDIS_SCRIPTS_H

/* KEYS[1] provider counter hash, KEYS[2] the Mediator's token-id set;
 * ARGV[1] count (decimal), ARGV[2] signature, ARGV[3] token id (hex).
 * Returns {verdict, highest}. */
static const char pc_redis_offer_lua[] =
    "local W = 1024\n"
    "local NB = W / 8\n"
    "local count = tonumber(ARGV[1])\n"
    "local h = tonumber(redis.call('HGET', KEYS[1], 'h') or '0')\n"
    "local w = redis.call('HGET', KEYS[1], 'w')\n"
    "if not w or #w ~= NB then w = string.rep('\\0', NB) end\n"
    "if count == 0 then return {0, h} end\n"
    "if count > h then\n"
    "  local k = count - h\n"
    "  local out = {}\n"
    "  if k >= W then\n"
    "    for j = 1, NB do out[j] = 0 end\n"
    "  else\n"
    "    local B = math.floor(k / 8)\n"
    "    local b = k % 8\n"
    "    for j = 0, NB - 1 do\n"
    "      local src = j - B\n"
    "      local v = 0\n"
    "      if src >= 0 then\n"
    "        v = bit.band(bit.lshift(string.byte(w, src + 1), b), 255)\n"
    "        if b > 0 and src >= 1 then\n"
    "          v = bit.bor(v, bit.rshift(string.byte(w, src), 8 - b))\n"
    "        end\n"
    "      end\n"
    "      out[j + 1] = v\n"
    "    end\n"
    "  end\n"
    "  if h > 0 and k - 1 < W then\n"
    "    local i = k - 1\n"
    "    local j = math.floor(i / 8) + 1\n"
    "    out[j] = bit.bor(out[j], bit.lshift(1, i % 8))\n"
    "  end\n"
    "  redis.call('HSET', KEYS[1], 'h', ARGV[1], 'w', string.char(unpack(out)), 's', ARGV[2])\n"
    "  redis.call('SADD', KEYS[2], ARGV[3])\n"
    "  return {1, count}\n"
    "end\n"
    "if count < h and h - count <= W then\n"
    "  local i = h - 1 - count\n"
    "  local j = math.floor(i / 8) + 1\n"
    "  local byte = string.byte(w, j)\n"
    "  local mask = bit.lshift(1, i % 8)\n"
    "  if bit.band(byte, mask) == 0 then\n"
    "    local nw = string.sub(w, 1, j - 1) .. string.char(bit.bor(byte, mask)) .. string.sub(w, j + 1)\n"
    "    redis.call('HSET', KEYS[1], 'w', nw)\n"
    "    return {2, h}\n"
    "  end\n"
    "end\n"
    "return {0, h}\n";

/* KEYS[1] consumer counter, KEYS[2] the Mediator's token-id set; ARGV[1]
 * token id (hex). Returns the new count (1 for a new token id). */
static const char pc_redis_next_count_lua[] =
    "local c = redis.call('INCR', KEYS[1])\n"
    "redis.call('SADD', KEYS[2], ARGV[1])\n"
    "return c\n";

/* Forgets a Mediator's counters: KEYS[1] its token-id set; ARGV[1], ARGV[2]
 * the consumer and provider key prefixes of the Mediator. With KEYS[2] (its
 * record) and KEYS[3] (the set of Mediators) and ARGV[3] (its hex) it also
 * deletes the record. The counter keys are derived here, from the set. */
static const char pc_redis_forget_lua[] =
    "local ids = redis.call('SMEMBERS', KEYS[1])\n"
    "for _, id in ipairs(ids) do redis.call('DEL', ARGV[1] .. id, ARGV[2] .. id) end\n"
    "redis.call('DEL', KEYS[1])\n"
    "if #KEYS == 3 then\n"
    "  redis.call('DEL', KEYS[2])\n"
    "  redis.call('SREM', KEYS[3], ARGV[3])\n"
    "end\n"
    "return #ids\n";

/* KEYS[1] the record hash, KEYS[2] the set of Mediators; ARGV[1] the
 * Mediator (hex), ARGV[2..] field, value, ... Replaces the record. */
static const char pc_redis_put_mediator_lua[] =
    "redis.call('DEL', KEYS[1])\n"
    "redis.call('HSET', KEYS[1], unpack(ARGV, 2))\n"
    "redis.call('SADD', KEYS[2], ARGV[1])\n"
    "return 1\n";

#endif

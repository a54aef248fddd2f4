/* api_admin.c: the admin API (docs/protocol.md, "Admin API"): the
 * Mediators this server works for with their off-chain state, totals per
 * account and the newest transactions, for operators (the paychan CLI, the
 * Visualizer's operations view). Any account this server serves may read
 * all of it: one team owns one paychand. Chain state comes from the cache
 * only (never a node read per listed channel), so a page of a thousand
 * channels costs a thousand small store reads and no node call. */
#include "server/api/api_internal.h"

#include <stdlib.h>
#include <string.h>

#include "server/money/gas_ledger.h"
#include "server/store/store.h"

#define CHANNELS_LIMIT_DEFAULT "100"
#define CHANNELS_LIMIT_MAX 1000
#define TRANSACTIONS_LIMIT_DEFAULT "50"

static const char *role_name(pc_mediator_role role)
{
    return role == PC_ROLE_CONSUMER ? "consumer" : "provider";
}

/* What one record's channel holds off-chain, with its cached chain view. */
typedef struct channel {
    const pc_mediator_record *rec;
    int cached;
    pc_mediator_view v;
    pc_u256 token_id; /* the active token id (cache, else the provider record's) */
    int have_token;
    uint64_t count;   /* highest issued (consumer) or validated (provider) */
    pc_u256 unredeemed;
    int redeemed;     /* last is set */
    pc_redemption last;
} channel;

/* The highest count of (mediator, token id) in role: issued or validated. */
static int highest_count(pc_server *s, pc_mediator_role role, const pc_address *m,
                         const pc_u256 *id, uint64_t *count, pc_error *err)
{
    pc_signature sig;
    int found = 0;
    *count = 0;
    return role == PC_ROLE_CONSUMER ? pc_store_issued_count(s->store, m, id, count, &found, err)
                                    : pc_store_best_token(s->store, m, id, count, &sig, &found, err);
}

/* count x cost into *out (0 when the cost is not known). */
static void value_of(const channel *ch, uint64_t count, pc_u256 *out)
{
    pc_u256 n = pc_u256_from_u64(count);
    *out = (pc_u256){0};
    if (ch->cached)
        pc_u256_mul(out, &n, &ch->v.terms.cost_per_request);
}

/* Fills ch for rec: the cached view, the active token and its count, and
 * the value not yet redeemed (the provider's pending redemption included). */
static int load_channel(pc_server *s, const pc_mediator_record *rec, channel *ch, pc_error *err)
{
    memset(ch, 0, sizeof *ch);
    ch->rec = rec;
    ch->cached = s->cache && pc_chain_cache_peek(s->cache, &rec->mediator, &ch->v);
    ch->token_id = ch->cached ? ch->v.state.active_token_id : rec->token_id;
    ch->have_token = !pc_u256_is_zero(&ch->token_id);
    if (ch->have_token &&
        highest_count(s, rec->role, &rec->mediator, &ch->token_id, &ch->count, err) != 0)
        return -1;
    value_of(ch, ch->count, &ch->unredeemed);
    if (pc_store_last_redemption(s->store, &rec->mediator, &ch->last, &ch->redeemed, err) != 0)
        return -1;
    if (rec->role == PC_ROLE_PROVIDER && ch->cached &&
        !pc_u256_is_zero(&ch->v.state.soon_expiring_token_id)) {
        uint64_t pending;
        pc_u256 more;
        if (highest_count(s, rec->role, &rec->mediator, &ch->v.state.soon_expiring_token_id,
                          &pending, err) != 0)
            return -1;
        value_of(ch, pending, &more);
        pc_u256_add(&ch->unredeemed, &ch->unredeemed, &more);
    }
    return 0;
}

static const char *state_name(const channel *ch)
{
    if (!ch->cached)
        return "unknown";
    if (ch->v.state.terminated)
        return "terminated";
    return ch->v.state.termination_started_at ? "terminating" : "open";
}

/* The earliest deadline running: the pending redemption's or the termination's. */
static json_t *deadline_json(const channel *ch)
{
    const pc_mediator_state *st = &ch->v.state;
    uint64_t end = st->termination_started_at + ch->v.terms.termination_timeout;
    if (!ch->cached || st->terminated)
        return json_null();
    if (st->soon_expiring_timeout && (!st->termination_started_at || st->soon_expiring_timeout < end))
        return json_pack("{s:s, s:I}", "what", "tokenRedemption", "at",
                         (json_int_t)st->soon_expiring_timeout);
    if (st->termination_started_at)
        return json_pack("{s:s, s:I}", "what", "termination", "at", (json_int_t)end);
    return json_null();
}

static json_t *cached_u256(const channel *ch, const pc_u256 *v)
{
    return ch->cached ? api_u256_json(v) : json_null();
}

static json_t *redemption_json(const channel *ch)
{
    if (!ch->redeemed)
        return json_null();
    return json_pack("{s:o, s:I, s:I}", "tokenId", api_u256_json(&ch->last.token_id), "count",
                     (json_int_t)ch->last.count, "at", (json_int_t)ch->last.at);
}

static json_t *channel_json(const channel *ch)
{
    const pc_mediator_record *r = ch->rec;
    int consumer = r->role == PC_ROLE_CONSUMER;
    json_t *issued = consumer && ch->have_token ? json_integer((json_int_t)ch->count) : json_null();
    json_t *validated = !consumer && ch->have_token ? json_integer((json_int_t)ch->count)
                                                    : json_null();
    return json_pack(
        "{s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s}", "mediator",
        api_address_json(&r->mediator), "role", role_name(r->role), "account",
        api_address_json(&r->account), "counterparty", api_address_json(&r->counterparty),
        "costPerRequest", cached_u256(ch, &ch->v.terms.cost_per_request), "consumerFunds",
        cached_u256(ch, &ch->v.state.consumer_funds), "providerFunds",
        cached_u256(ch, &ch->v.state.provider_funds), "activeTokenId",
        ch->have_token ? api_u256_json(&ch->token_id) : json_null(), "highestIssued",
        issued, "highestValidated", validated, "unredeemedWei",
        api_u256_json(&ch->unredeemed), "lastRedemption", redemption_json(ch), "nextDeadline", deadline_json(ch),
        "state", state_name(ch));
}

/* The channels of recs[0 .. n-1] as a JSON array, or NULL with *err. */
static json_t *channels_json(pc_server *s, const pc_mediator_record *recs, size_t n,
                             pc_error *err)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        channel ch;
        if (load_channel(s, &recs[i], &ch, err) != 0) {
            json_decref(list);
            return NULL;
        }
        json_array_append_new(list, channel_json(&ch));
    }
    return list;
}

/* GET /admin/channels?offset&limit&role&account */
void api_admin_channels(call *c)
{
    uint64_t offset, limit;
    pc_address account;
    pc_mediator_filter f = {0};
    const char *role = pc_http_param(c->req, "role");
    if (api_param_u64(c, "offset", "0", &offset) != 0 ||
        api_param_u64(c, "limit", CHANNELS_LIMIT_DEFAULT, &limit) != 0)
        return;
    if (limit < 1 || limit > CHANNELS_LIMIT_MAX) {
        api_fail_code(c, PC_ERR_INVALID_ARGUMENT, "parameter limit: 1 to 1000");
        return;
    }
    if (offset > PC_STORE_COUNT_MAX) { /* beyond any store, and beyond SQLite's int64 */
        api_fail_code(c, PC_ERR_INVALID_ARGUMENT, "parameter offset: too large");
        return;
    }
    if (role && strcmp(role, "consumer") != 0 && strcmp(role, "provider") != 0) {
        api_fail_code(c, PC_ERR_INVALID_ARGUMENT, "parameter role: consumer or provider");
        return;
    }
    f.role = !role ? 0 : role[0] == 'c' ? PC_ROLE_CONSUMER : PC_ROLE_PROVIDER;
    if (pc_http_param(c->req, "account")) {
        if (api_param_address(c, "account", &account) != 0)
            return;
        f.account = &account;
    }
    pc_mediator_record *recs;
    size_t n, total;
    pc_error err;
    json_t *list = NULL;
    if (pc_store_page_mediators(c->s->store, &f, (size_t)offset, (size_t)limit, &recs, &n, &total,
                                &err) == 0)
        list = channels_json(c->s, recs, n, &err);
    free(recs);
    if (!list) {
        api_fail(c, &err, NULL);
        return;
    }
    api_ok(c, json_pack("{s:I, s:I, s:o}", "total", (json_int_t)total, "offset",
                        (json_int_t)offset, "channels", list));
}

/* {"role", "tokenId", "highestCount", "unredeemedWei"} of one token id of ch. */
static json_t *token_json(pc_server *s, const channel *ch, const pc_u256 *id, pc_error *err)
{
    uint64_t count;
    pc_u256 value;
    if (highest_count(s, ch->rec->role, &ch->rec->mediator, id, &count, err) != 0)
        return NULL;
    value_of(ch, count, &value);
    return json_pack("{s:s, s:o, s:I, s:o}", "role", role_name(ch->rec->role), "tokenId",
                     api_u256_json(id), "highestCount", (json_int_t)count, "unredeemedWei",
                     api_u256_json(&value));
}

/* The channel of one role of c->mediator into roles and tokens: 1 if this
 * server holds that role, 0 if not, -1 with *err. */
static int add_role(call *c, pc_mediator_role role, json_t *roles, json_t *tokens, pc_error *err)
{
    pc_mediator_record rec;
    channel ch;
    int found = 0;
    if (pc_store_get_mediator(c->s->store, &c->mediator, role, &rec, &found, err) != 0)
        return -1;
    if (!found)
        return 0;
    if (load_channel(c->s, &rec, &ch, err) != 0)
        return -1;
    json_array_append_new(roles, channel_json(&ch));
    const pc_u256 *ids[] = {&ch.token_id, ch.cached ? &ch.v.state.soon_expiring_token_id : NULL};
    for (size_t i = 0; i < 2; i++) {
        if (!ids[i] || pc_u256_is_zero(ids[i]))
            continue;
        json_t *t = token_json(c->s, &ch, ids[i], err);
        if (!t)
            return -1;
        json_array_append_new(tokens, t);
    }
    return 1;
}

/* GET /admin/channels/{mediator} */
void api_admin_channel(call *c)
{
    pc_error err;
    pc_mediator_view v;
    json_t *roles = json_array(), *tokens = json_array();
    /* one Mediator: worth reading it from the node if it is not cached */
    if (c->s->cache)
        (void)pc_chain_cache_get(c->s->cache, &c->mediator, &v, &err);
    int a = add_role(c, PC_ROLE_CONSUMER, roles, tokens, &err);
    int b = a < 0 ? -1 : add_role(c, PC_ROLE_PROVIDER, roles, tokens, &err);
    if (a < 0 || b < 0 || (!a && !b)) {
        json_decref(roles);
        json_decref(tokens);
        if (a < 0 || b < 0)
            api_fail(c, &err, NULL);
        else
            api_fail_code(c, PC_ERR_NOT_FOUND, "this server does not work for that Mediator");
        return;
    }
    api_ok(c, json_pack("{s:o, s:o, s:o}", "mediator", api_address_json(&c->mediator), "roles",
                        roles, "tokens", tokens));
}

/* ---- accounts and transactions ------------------------------------------------------------ */

/* The entry of account a in accounts: created with its zero totals if missing. */
static json_t *account_entry(json_t *accounts, const pc_address *a)
{
    char text[PC_ADDRESS_TEXT_LEN];
    pc_address_format(a, text);
    json_t *e = json_object_get(accounts, text);
    if (e)
        return e;
    e = json_pack("{s:{s:i, s:i}, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i}",
                  "roleCounts", "consumer", 0, "provider", 0, "unredeemedWei", "0", "earnedWei",
                  "0", "redeemedWei", "0", "paidOutWei", "0", "spentWei", "0", "paidWei", "0",
                  "refundedWei", "0", "gasFeeWei", "0", "gasUsed", 0, "transactions", 0);
    json_object_set_new(accounts, text, e);
    return e;
}

/* Adds one record (its role count, its unredeemed value) to its account. */
static int add_record(pc_server *s, json_t *accounts, const pc_mediator_record *rec,
                      pc_error *err)
{
    channel ch;
    if (load_channel(s, rec, &ch, err) != 0)
        return -1;
    json_t *e = account_entry(accounts, &rec->account);
    json_t *roles = json_object_get(e, "roleCounts"), *n = json_object_get(roles, role_name(rec->role));
    json_integer_set(n, json_integer_value(n) + 1);
    if (rec->role == PC_ROLE_PROVIDER) {
        pc_u256 sum;
        pc_u256_parse(json_string_value(json_object_get(e, "unredeemedWei")), &sum);
        pc_u256_add(&sum, &sum, &ch.unredeemed);
        json_object_set_new(e, "unredeemedWei", api_u256_json(&sum));
    }
    return 0;
}

/* The members of the money fields (store.h), in pc_money_field order. */
static const char *const money_names[PC_MONEY_FIELDS] = {"redeemedWei", "paidOutWei", "spentWei",
                                                         "paidWei", "refundedWei"};

static void add_money(json_t *accounts, const pc_money_total *t)
{
    json_t *e = account_entry(accounts, &t->account);
    for (int f = 0; f < PC_MONEY_FIELDS; f++)
        json_object_set_new(e, money_names[f], api_u256_json(&t->amount[f]));
}

/* earnedWei = redeemedWei + unredeemedWei: the value validated here that
 * the channels paid (redeemed) or still owe (validated, redeemable). */
static void add_earned(json_t *accounts)
{
    const char *key;
    json_t *e;
    json_object_foreach(accounts, key, e) {
        pc_u256 redeemed, unredeemed;
        pc_u256_parse(json_string_value(json_object_get(e, "redeemedWei")), &redeemed);
        pc_u256_parse(json_string_value(json_object_get(e, "unredeemedWei")), &unredeemed);
        pc_u256_add(&redeemed, &redeemed, &unredeemed);
        json_object_set_new(e, "earnedWei", api_u256_json(&redeemed));
    }
}

static void add_gas(json_t *accounts, const pc_gas_total *t)
{
    json_t *e = account_entry(accounts, &t->key);
    json_object_set_new(e, "gasFeeWei", api_u256_json(&t->fee));
    json_object_set_new(e, "gasUsed", json_integer((json_int_t)t->gas_used));
    json_object_set_new(e, "transactions", json_integer((json_int_t)t->txs));
}

/* GET /admin/accounts: every served account, and any other account with
 * records or gas (a key removed from the configuration). */
void api_admin_accounts(call *c)
{
    pc_mediator_record *recs = NULL;
    pc_gas_total *gas = NULL;
    pc_money_total *money = NULL;
    size_t n_recs = 0, n_gas = 0, n_money = 0;
    pc_error err;
    json_t *accounts = json_object();
    int rc = 0;
    for (size_t i = 0; i < pc_accounts_count(c->s->accounts); i++)
        account_entry(accounts, pc_accounts_address(c->s->accounts, i));
    if (pc_store_list_mediators(c->s->store, &recs, &n_recs, &err) != 0 ||
        pc_store_gas_totals(c->s->store, PC_GAS_BY_ACCOUNT, &gas, &n_gas, &err) != 0 ||
        pc_store_money_totals(c->s->store, &money, &n_money, &err) != 0)
        rc = -1;
    for (size_t i = 0; rc == 0 && i < n_recs; i++)
        rc = add_record(c->s, accounts, &recs[i], &err);
    for (size_t i = 0; rc == 0 && i < n_gas; i++)
        add_gas(accounts, &gas[i]);
    for (size_t i = 0; rc == 0 && i < n_money; i++)
        add_money(accounts, &money[i]);
    if (rc == 0)
        add_earned(accounts);
    free(recs);
    free(gas);
    free(money);
    if (rc != 0) {
        json_decref(accounts);
        api_fail(c, &err, NULL);
        return;
    }
    api_ok(c, json_pack("{s:o}", "accounts", accounts));
}

static json_t *transaction_json(const pc_gas_tx *tx)
{
    static const uint8_t none[4];
    char hash[2 + 64 + 1];
    pc_hex_encode(tx->hash, 32, hash);
    int creation = memcmp(tx->selector, none, 4) == 0;
    return json_pack("{s:s, s:o, s:o, s:s, s:I, s:o, s:s, s:I}", "hash", hash, "account",
                     api_address_json(&tx->account), "mediator",
                     pc_address_is_zero(&tx->mediator) ? json_null()
                                                       : api_address_json(&tx->mediator),
                     "action", pc_gas_ledger_action(tx->selector, 4, creation), "gasUsed",
                     (json_int_t)tx->gas_used, "feeWei", api_u256_json(&tx->fee), "status",
                     tx->status == 1 ? "success" : "reverted", "at", (json_int_t)tx->at);
}

/* GET /admin/transactions?limit */
void api_admin_transactions(call *c)
{
    uint64_t limit;
    pc_gas_tx *txs = NULL;
    size_t n = 0;
    pc_error err;
    if (api_param_u64(c, "limit", TRANSACTIONS_LIMIT_DEFAULT, &limit) != 0)
        return;
    if (limit < 1 || limit > PC_STORE_RECENT_TXS) {
        api_fail_code(c, PC_ERR_INVALID_ARGUMENT, "parameter limit: 1 to 100");
        return;
    }
    if (pc_store_recent_gas(c->s->store, &txs, &n, &err) != 0) {
        api_fail(c, &err, NULL);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n && i < limit; i++)
        json_array_append_new(list, transaction_json(&txs[i]));
    free(txs);
    api_ok(c, json_pack("{s:o}", "transactions", list));
}

/* mediator_events.c: decoding the Mediator's event logs; see mediator.h. */
#include "mediator/mediator.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Indexed by pc_mediator_event_kind. */
static pc_abi_event_def event_defs[] = {
    {"MediatorCreated", "MediatorCreated(address,address,uint256,uint256,uint256,uint256)", {0}},
    {"Deposited", "Deposited(address,uint256,uint256)", {0}},
    {"TokenRedemptionStarted", "TokenRedemptionStarted(uint256,uint256,uint256)", {0}},
    {"TokenRedeemed", "TokenRedeemed(uint256,uint256,uint256)", {0}},
    {"PaidOut", "PaidOut(address,uint256)", {0}},
    {"TerminationStarted", "TerminationStarted(uint256,uint256)", {0}},
    {"Terminated", "Terminated(address,uint256,uint256)", {0}},
};
#define N_EVENTS (sizeof(event_defs) / sizeof(event_defs[0]))

static pthread_once_t defs_once = PTHREAD_ONCE_INIT;
static uint8_t all_topics[N_EVENTS][32]; /* topic0 of each, for log filters */

static void init_defs(void)
{
    pc_abi_event_defs_init(event_defs, N_EVENTS);
    for (size_t i = 0; i < N_EVENTS; i++)
        memcpy(all_topics[i], event_defs[i].topic0, 32);
}

const char *pc_mediator_event_name(pc_mediator_event_kind kind)
{
    return (size_t)kind < N_EVENTS ? event_defs[kind].name : "unknown";
}

/* Reads data word `index` as a u64 timestamp or timeout (saturating). */
static int word_time(const pc_log *log, size_t index, uint64_t *out)
{
    pc_u256 v;
    if (pc_abi_word_u256(log->data.data, log->data.len, index, &v) != 0)
        return -1;
    if (pc_u256_to_u64(&v, out) != 0)
        *out = UINT64_MAX;
    return 0;
}

static int word_u256(const pc_log *log, size_t index, pc_u256 *out)
{
    return pc_abi_word_u256(log->data.data, log->data.len, index, out);
}

static int decode_fields(const pc_log *log, pc_mediator_event *e)
{
    const uint8_t (*t)[32] = (const uint8_t (*)[32])log->topics;
    size_t nt = log->n_topics;
    switch (e->kind) {
    case PC_MEDIATOR_CREATED:
        return pc_abi_topic_address(t, nt, 1, &e->party_a) || pc_abi_topic_address(t, nt, 2, &e->party_b) ||
               word_u256(log, 0, &e->id_a) || word_u256(log, 1, &e->amount_a) ||
               word_time(log, 2, &e->time_a) || word_time(log, 3, &e->time_b);
    case PC_MEDIATOR_DEPOSITED:
        return pc_abi_topic_address(t, nt, 1, &e->party_a) || word_u256(log, 0, &e->amount_a) ||
               word_u256(log, 1, &e->amount_b);
    case PC_MEDIATOR_REDEMPTION_STARTED:
        return pc_abi_topic_u256(t, nt, 1, &e->id_a) || pc_abi_topic_u256(t, nt, 2, &e->id_b) ||
               word_time(log, 0, &e->time_a);
    case PC_MEDIATOR_TOKEN_REDEEMED:
        return pc_abi_topic_u256(t, nt, 1, &e->id_a) || word_u256(log, 0, &e->amount_a) ||
               word_u256(log, 1, &e->amount_b);
    case PC_MEDIATOR_PAID_OUT:
        return pc_abi_topic_address(t, nt, 1, &e->party_a) || word_u256(log, 0, &e->amount_a);
    case PC_MEDIATOR_TERMINATION_STARTED:
        return word_time(log, 0, &e->time_a) || word_time(log, 1, &e->time_b);
    case PC_MEDIATOR_TERMINATED:
        return pc_abi_topic_address(t, nt, 1, &e->party_a) || word_u256(log, 0, &e->amount_a) ||
               word_u256(log, 1, &e->amount_b);
    }
    return -1;
}

int pc_mediator_decode_event(const pc_log *log, pc_mediator_event *out)
{
    pthread_once(&defs_once, init_defs);
    int index = pc_abi_event_match((const uint8_t (*)[32])log->topics, log->n_topics, event_defs,
                                   N_EVENTS);
    if (index < 0)
        return -1;
    memset(out, 0, sizeof(*out));
    out->kind = (pc_mediator_event_kind)index;
    out->mediator = log->address;
    out->block_number = log->block_number;
    out->log_index = log->log_index;
    memcpy(out->tx_hash, log->tx_hash, 32);
    return decode_fields(log, out) ? -1 : 0;
}

int pc_mediator_get_events(pc_rpc *rpc, const pc_address *mediator, uint64_t from_block,
                           uint64_t to_block, pc_mediator_event **events, size_t *n,
                           pc_error *err)
{
    pc_log_filter filter = {.address = mediator, .from_block = from_block, .to_block = to_block};
    pc_log *logs = NULL;
    size_t n_logs = 0;
    *events = NULL;
    *n = 0;
    if (pc_rpc_get_logs(rpc, &filter, &logs, &n_logs, err) != 0)
        return -1;
    if (n_logs > 0 && !(*events = calloc(n_logs, sizeof(**events)))) {
        pc_logs_free(logs, n_logs);
        return pc_error_set(err, PC_ERR_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < n_logs; i++)
        if (pc_mediator_decode_event(&logs[i], &(*events)[*n]) == 0)
            (*n)++;
    pc_logs_free(logs, n_logs);
    return 0;
}

/* Takes `amount` out of *funds and of the ether held; -1 if either is short. */
static int take(pc_u256 *funds, pc_u256 *balance, const pc_u256 *amount)
{
    return pc_u256_sub(funds, funds, amount) || pc_u256_sub(balance, balance, amount) ? -1 : 0;
}

int pc_mediator_apply_event(pc_mediator_state *st, const pc_mediator_event *e)
{
    static const pc_u256 zero = {{0}};
    pc_u256 paid;
    int bad = 0;
    switch (e->kind) {
    case PC_MEDIATOR_CREATED:
        return -1; /* a state of this Mediator cannot come before its creation */
    case PC_MEDIATOR_DEPOSITED:
        st->consumer_funds = e->amount_b;
        bad = pc_u256_add(&st->balance, &st->balance, &e->amount_a);
        break;
    case PC_MEDIATOR_REDEMPTION_STARTED:
        st->soon_expiring_token_id = e->id_a;
        st->active_token_id = e->id_b;
        st->soon_expiring_timeout = e->time_a;
        break;
    case PC_MEDIATOR_TOKEN_REDEEMED:
        bad = pc_u256_sub(&st->consumer_funds, &st->consumer_funds, &e->amount_b) ||
              pc_u256_add(&st->provider_funds, &st->provider_funds, &e->amount_b);
        st->soon_expiring_token_id = zero;
        st->soon_expiring_timeout = 0;
        break;
    case PC_MEDIATOR_PAID_OUT:
        bad = take(&st->provider_funds, &st->balance, &e->amount_a);
        break;
    case PC_MEDIATOR_TERMINATION_STARTED:
        st->termination_started_at = e->time_a;
        break;
    case PC_MEDIATOR_TERMINATED:
        bad = pc_u256_add(&paid, &e->amount_a, &e->amount_b) ||
              pc_u256_sub(&st->balance, &st->balance, &paid);
        st->consumer_funds = st->provider_funds = zero;
        st->terminated = 1;
        break;
    }
    st->block = e->block_number;
    return bad ? -1 : 0;
}

void pc_mediator_event_topics(const uint8_t (**topics)[32], size_t *n)
{
    pthread_once(&defs_once, init_defs);
    *topics = (const uint8_t (*)[32])all_topics;
    *n = N_EVENTS;
}

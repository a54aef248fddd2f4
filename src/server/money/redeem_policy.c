/* redeem_policy.c: see redeem_policy.h. */
#include "server/money/redeem_policy.h"

#include <stdio.h>

int pc_redeem_fee_ok(const pc_redeem_policy *p, const pc_u256 *fee_per_gas)
{
    return pc_u256_is_zero(&p->max_fee_per_gas) ||
           pc_u256_cmp(fee_per_gas, &p->max_fee_per_gas) <= 0;
}

pc_redeem_verdict pc_redeem_decide(const pc_redeem_policy *p, const pc_redeem_case *c, char *why,
                                   size_t why_len)
{
    static const pc_u256 max = {{UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX}};
    pc_u256 gas = pc_u256_from_u64(p->cycle_gas), cost, multiple = pc_u256_from_u64(p->gas_multiple),
            threshold;
    char v[PC_U256_DEC_LEN], g[PC_U256_DEC_LEN], f[PC_U256_DEC_LEN];
    if (pc_u256_mul(&cost, &gas, &c->fee_per_gas))
        cost = max;
    if (pc_u256_mul(&threshold, &cost, &multiple))
        threshold = max;
    pc_u256_to_dec(&c->value, v);
    pc_u256_to_dec(&cost, g);
    pc_u256_to_dec(&c->fee_per_gas, f);
    if (p->gas_multiple == 0) {
        snprintf(why, why_len, "%s", c->deadline ? c->deadline : "no deadline");
        return c->deadline ? PC_REDEEM_NOW : PC_REDEEM_WAIT;
    }
    if (c->deadline) {
        int pays = pc_u256_cmp(&c->value, &cost) > 0;
        snprintf(why, why_len, "%s; value %s wei %s the gas of a redemption, ~%s wei at %s wei/gas%s",
                 c->deadline, v, pays ? "exceeds" : "does not exceed", g, f,
                 pays ? "" : ": redeeming would cost more than it brings in, not redeemed");
        return pays ? PC_REDEEM_NOW : PC_REDEEM_LOSS;
    }
    if (pc_u256_cmp(&c->value, &threshold) < 0) {
        snprintf(why, why_len, "value %s wei below %llu x the gas of a redemption (~%s wei at %s "
                 "wei/gas)", v, (unsigned long long)p->gas_multiple, g, f);
        return PC_REDEEM_WAIT;
    }
    if (!pc_redeem_fee_ok(p, &c->fee_per_gas)) {
        pc_u256_to_dec(&p->max_fee_per_gas, g);
        snprintf(why, why_len, "value %s wei would pay, but the fee %s wei/gas is above the cap "
                 "(--max-fee-per-gas %s)", v, f, g);
        return PC_REDEEM_WAIT;
    }
    snprintf(why, why_len, "value %s wei reached %llu x the gas of a redemption (~%s wei at %s "
             "wei/gas)", v, (unsigned long long)p->gas_multiple, g, f);
    return PC_REDEEM_NOW;
}

/* store_check.h (test support): values and a concurrent load for the
 * Payment Server store tests (tests/server) and the store benchmark. */
#ifndef PAYCHAN_TESTS_SUPPORT_STORE_CHECK_H
#define PAYCHAN_TESTS_SUPPORT_STORE_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "server/store/store.h"

/* A made-up but well-formed signature that encodes `count` (so a stored
 * signature shows which count it came with). */
void pc_test_count_sig(uint64_t count, pc_signature *sig);

/* 1 if sig is pc_test_count_sig(count). */
int pc_test_sig_is_for(const pc_signature *sig, uint64_t count);

/* pc_store_next_count of (mediator, token id): the count taken; fails the
 * running cmocka test on an error. */
uint64_t pc_test_next_count(pc_store *s, const pc_address *mediator, const pc_u256 *token_id);

/* A distinct address / token id for each n. */
void pc_test_store_address(unsigned n, pc_address *addr);

/* pc_store_offer_count of count (with pc_test_count_sig(count)): the
 * verdict, and the highest count after in *highest (may be NULL); fails
 * the running cmocka test on an error. */
pc_count_verdict pc_test_offer(pc_store *s, const pc_address *m, const pc_u256 *id, uint64_t count,
                               uint64_t *highest);

/* Fails the running cmocka test unless the best token of (m, id) is the
 * count `want` with its signature (want 0: none was ever accepted). */
void pc_test_expect_best(pc_store *s, const pc_address *m, const pc_u256 *id, uint64_t want);

/* Removes an SQLite database file with its -wal and -shm companions. */
void pc_test_remove_sqlite(const char *path);
pc_u256 pc_test_store_token_id(unsigned n);

/* Offers the counts 1..n_counts of one (mediator, token id) from `threads`
 * threads at once, each in its own random order; thread t uses
 * stores[t % n_stores]. accepted[c] (n_counts + 1 entries, zeroed by the
 * caller) counts how often count c was accepted. Returns the number of
 * failed calls (0 expected). */
int pc_test_offer_storm(pc_store **stores, int n_stores, int threads, const pc_address *mediator,
                        const pc_u256 *token_id, uint64_t n_counts, unsigned *accepted);

/* Takes `per_thread` counts of one (mediator, token id) from each of
 * `threads` threads (thread t uses stores[t % n_stores]); taken[c] counts how
 * often c was returned (n = threads * per_thread + 1 entries, zeroed).
 * Returns the number of failed calls or counts out of range. */
int pc_test_next_count_storm(pc_store **stores, int n_stores, int threads,
                             const pc_address *mediator, const pc_u256 *token_id, int per_thread,
                             unsigned *taken);

/* Offers one list through pc_store_offer_counts_async (blocking 0) or
 * pc_store_offer_counts (blocking 1) for the Mediator
 * pc_test_store_address(n) and the token ids n and n + 1 (all unused so
 * far): a replay of a count offered before, a count twice, a skipped count
 * and a count too large among accepted ones, and checks each outcome (once
 * each, its verdict and highest count; the blocking form returns -1 for
 * the one too large) and the best tokens after. Two commits: the offer
 * before, then the list. Returns the number of wrong outcomes (printed), 0
 * when all are right. */
int pc_test_offer_list(pc_store *s, unsigned n, int blocking);

#endif

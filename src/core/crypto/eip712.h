/* eip712.h: EIP-712 hashing, signing and signer recovery of the protocol's
 * payment token (docs/protocol.md §2):
 *
 *   domain  EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)
 *           with name "Mediator", version "1", the chain id and the Mediator address
 *   struct  PaymentToken(address serviceConsumer,uint256 tokenId,uint256 requestCount)
 *   digest  keccak256(0x19 0x01 || domainSeparator || hashStruct(token))
 *
 * These are the bytes the Mediator contract verifies in redeemToken and that
 * any standard Ethereum library (ethers' signTypedData, ...) produces.
 * All functions are thread-safe; the constant type hashes are computed once. */
#ifndef PAYCHAN_CORE_EIP712_H
#define PAYCHAN_CORE_EIP712_H

#include <stdint.h>

#include "core/crypto/ecdsa.h"
#include "core/encoding/hex.h"
#include "core/encoding/u256.h"

#define PC_EIP712_DOMAIN_NAME "Mediator"
#define PC_EIP712_DOMAIN_VERSION "1"

/* out = hashStruct(EIP712Domain{"Mediator", "1", chain_id, *mediator}). */
void pc_eip712_domain_separator(uint64_t chain_id, const pc_address *mediator, uint8_t out[32]);

/* out = hashStruct(PaymentToken{*consumer, *token_id, *request_count}). */
void pc_eip712_payment_token_hash(const pc_address *consumer, const pc_u256 *token_id,
                                  const pc_u256 *request_count, uint8_t out[32]);

/* digest = keccak256(0x19 0x01 || domain_separator || hashStruct(token)).
 * domain_separator comes from pc_eip712_domain_separator (callers that check
 * many tokens of one Mediator may compute it once). */
void pc_eip712_payment_token_digest(const uint8_t domain_separator[32], const pc_address *consumer,
                                    const pc_u256 *token_id, const pc_u256 *request_count,
                                    uint8_t digest[32]);

/* Signs the token's digest with seckey (RFC 6979, low s), as the consumer
 * does for every request. ctx from pc_secp_create. Returns 0, or -1 if the
 * key is invalid. */
int pc_payment_token_sign(const pc_secp *ctx, const uint8_t seckey[32], uint64_t chain_id,
                          const pc_address *mediator, const pc_address *consumer,
                          const pc_u256 *token_id, const pc_u256 *request_count,
                          pc_signature *out);

/* Recovers the address that signed the token. Returns 0 with *signer set, or
 * -1 if the signature is malformed, high-s, or recovers to no key. The caller
 * must still compare *signer with the expected consumer: a signature over
 * other token fields (another chain, Mediator, id or count) recovers to some
 * unrelated address, not to an error. */
int pc_payment_token_recover(const pc_secp *ctx, uint64_t chain_id, const pc_address *mediator,
                             const pc_address *consumer, const pc_u256 *token_id,
                             const pc_u256 *request_count, const pc_signature *sig,
                             pc_address *signer);

#endif

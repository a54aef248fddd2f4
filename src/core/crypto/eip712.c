/* eip712.c: see eip712.h. */
#include "core/crypto/eip712.h"

#include <pthread.h>
#include <string.h>

#include "core/crypto/hash.h"

#define WORD 32

/* keccak256 of the type strings and of the fixed domain strings: constants,
 * computed once from their text so they cannot drift from it. */
static struct {
    uint8_t domain_type[WORD];
    uint8_t token_type[WORD];
    uint8_t name[WORD];
    uint8_t version[WORD];
} constants;
static pthread_once_t constants_once = PTHREAD_ONCE_INIT;

static void hash_text(const char *text, uint8_t out[WORD])
{
    pc_keccak256((const uint8_t *)text, strlen(text), out);
}

static void init_constants(void)
{
    hash_text("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)",
              constants.domain_type);
    hash_text("PaymentToken(address serviceConsumer,uint256 tokenId,uint256 requestCount)",
              constants.token_type);
    hash_text(PC_EIP712_DOMAIN_NAME, constants.name);
    hash_text(PC_EIP712_DOMAIN_VERSION, constants.version);
}

static void ensure_constants(void)
{
    pthread_once(&constants_once, init_constants);
}

/* ABI word encodings of the two field types (EIP-712 encodeData). */
static void word_address(uint8_t out[WORD], const pc_address *a)
{
    memset(out, 0, WORD - sizeof a->bytes);
    memcpy(out + WORD - sizeof a->bytes, a->bytes, sizeof a->bytes);
}

void pc_eip712_domain_separator(uint64_t chain_id, const pc_address *mediator, uint8_t out[32])
{
    ensure_constants();
    uint8_t enc[5 * WORD];
    pc_u256 chain = pc_u256_from_u64(chain_id);
    memcpy(enc, constants.domain_type, WORD);
    memcpy(enc + WORD, constants.name, WORD);
    memcpy(enc + 2 * WORD, constants.version, WORD);
    pc_u256_to_be(&chain, enc + 3 * WORD);
    word_address(enc + 4 * WORD, mediator);
    pc_keccak256(enc, sizeof enc, out);
}

void pc_eip712_payment_token_hash(const pc_address *consumer, const pc_u256 *token_id,
                                  const pc_u256 *request_count, uint8_t out[32])
{
    ensure_constants();
    uint8_t enc[4 * WORD];
    memcpy(enc, constants.token_type, WORD);
    word_address(enc + WORD, consumer);
    pc_u256_to_be(token_id, enc + 2 * WORD);
    pc_u256_to_be(request_count, enc + 3 * WORD);
    pc_keccak256(enc, sizeof enc, out);
}

void pc_eip712_payment_token_digest(const uint8_t domain_separator[32], const pc_address *consumer,
                                    const pc_u256 *token_id, const pc_u256 *request_count,
                                    uint8_t digest[32])
{
    uint8_t enc[2 + 2 * WORD] = {0x19, 0x01};
    memcpy(enc + 2, domain_separator, WORD);
    pc_eip712_payment_token_hash(consumer, token_id, request_count, enc + 2 + WORD);
    pc_keccak256(enc, sizeof enc, digest);
}

/* The digest of a token given its chain and Mediator. */
static void full_digest(uint64_t chain_id, const pc_address *mediator, const pc_address *consumer,
                        const pc_u256 *token_id, const pc_u256 *request_count, uint8_t digest[32])
{
    uint8_t domain[WORD];
    pc_eip712_domain_separator(chain_id, mediator, domain);
    pc_eip712_payment_token_digest(domain, consumer, token_id, request_count, digest);
}

int pc_payment_token_sign(const pc_secp *ctx, const uint8_t seckey[32], uint64_t chain_id,
                          const pc_address *mediator, const pc_address *consumer,
                          const pc_u256 *token_id, const pc_u256 *request_count,
                          pc_signature *out)
{
    uint8_t digest[WORD];
    full_digest(chain_id, mediator, consumer, token_id, request_count, digest);
    return pc_ecdsa_sign(ctx, seckey, digest, out);
}

int pc_payment_token_recover(const pc_secp *ctx, uint64_t chain_id, const pc_address *mediator,
                             const pc_address *consumer, const pc_u256 *token_id,
                             const pc_u256 *request_count, const pc_signature *sig,
                             pc_address *signer)
{
    uint8_t digest[WORD];
    full_digest(chain_id, mediator, consumer, token_id, request_count, digest);
    return pc_ecdsa_recover(ctx, digest, sig, signer);
}

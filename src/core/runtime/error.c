/* error.c: see error.h. */
#include "core/runtime/error.h"

#include <stdarg.h>
#include <stdio.h>

int pc_error_set(pc_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return -1;
}

void pc_error_clear(pc_error *err)
{
    if (err) {
        err->code = PC_OK;
        err->message[0] = '\0';
    }
}

const char *pc_error_code_meaning(int code)
{
    switch (code) {
    case PC_OK: return "ok";
    case PC_ERR_TERMINATED: return "Mediator already terminated (or its last token was redeemed)";
    case PC_ERR_ONLY_PROVIDER: return "only the provider may do this";
    case PC_ERR_ONLY_CONSUMER: return "only the consumer may do this";
    case PC_ERR_TOKEN_SIGNATURE: return "token signature invalid";
    case PC_ERR_REDEMPTION_TIMEOUT: return "redemption timeout has not passed yet";
    case PC_ERR_TOKEN_ID_ACTIVE: return "the new token id is the active one";
    case PC_ERR_REDEMPTION_RUNNING: return "another redemption is in progress";
    case PC_ERR_TOKEN_ID_USED: return "the new token id was used before";
    case PC_ERR_INSUFFICIENT_FUNDS: return "consumer funds in the Mediator do not cover the token";
    case PC_ERR_UNKNOWN_TOKEN_ID: return "token id is neither active nor within its grace period";
    case PC_ERR_COUNT_USED: return "request count already used or too low";
    case PC_ERR_TERMS_MISMATCH: return "Mediator terms do not match the provider's requirements";
    case PC_ERR_NO_REDEMPTION: return "no redemption in progress";
    case PC_ERR_TERMINATION_NOT_STARTED: return "termination not started";
    case PC_ERR_TERMINATION_TIMEOUT: return "termination timeout has not passed yet";
    case PC_ERR_TERMINATION_STARTED: return "termination already started";
    case PC_ERR_DEPLOYMENT: return "Mediator deployment failed";
    case PC_ERR_DEPOSIT: return "deposit failed";
    case PC_ERR_TRANSACTION: return "transaction failed or could not be confirmed";
    case PC_ERR_NODE: return "Ethereum node unreachable or answered with an error";
    case PC_ERR_TRANSFER: return "ether transfer out of the Mediator failed";
    case PC_ERR_STORAGE_NOT_DURABLE: return "storage not durable: nothing acknowledged";
    case PC_ERR_REQUEST_SIGNATURE: return "request signature invalid";
    case PC_ERR_REQUEST_SIGNATURE_MISSING: return "request signature missing";
    case PC_ERR_SENDER_MISSING: return "sender header missing";
    case PC_ERR_UNKNOWN_ACCOUNT: return "the sender is not an account served here";
    case PC_ERR_STALE_REQUEST: return "request timestamp outside the allowed window";
    case PC_ERR_REPLAYED_REQUEST: return "request replayed";
    case PC_ERR_TIMESTAMP_MISSING: return "request timestamp missing";
    case PC_ERR_NOT_A_PARTY: return "the sender is not a party of this Mediator";
    case PC_ERR_NOT_FOUND: return "no such endpoint";
    case PC_ERR_INVALID_ARGUMENT: return "malformed parameter";
    case PC_ERR_KEYSTORE: return "keystore cannot be unlocked";
    case PC_ERR_INTERNAL: return "internal error";
    default: return "unknown error";
    }
}

const char *pc_error_code_name(int code)
{
    switch (code) {
    case PC_ERR_TERMINATED: return "MediatorTerminated";
    case PC_ERR_ONLY_PROVIDER: return "OnlyServiceProvider";
    case PC_ERR_ONLY_CONSUMER: return "OnlyServiceConsumer";
    case PC_ERR_TOKEN_SIGNATURE: return "TokenSignatureInvalid";
    case PC_ERR_REDEMPTION_TIMEOUT: return "RedemptionTimeoutNotPassed";
    case PC_ERR_TOKEN_ID_ACTIVE: return "TokenIdIsActive";
    case PC_ERR_REDEMPTION_RUNNING: return "RedemptionInProgress";
    case PC_ERR_TOKEN_ID_USED: return "TokenIdUsedBefore";
    case PC_ERR_INSUFFICIENT_FUNDS: return "InsufficientFunds";
    case PC_ERR_UNKNOWN_TOKEN_ID: return "UnknownTokenId";
    case PC_ERR_COUNT_USED: return "RequestCountUsed";
    case PC_ERR_TERMS_MISMATCH: return "TermsMismatch";
    case PC_ERR_NO_REDEMPTION: return "NoRedemptionInProgress";
    case PC_ERR_TERMINATION_NOT_STARTED: return "TerminationNotStarted";
    case PC_ERR_TERMINATION_TIMEOUT: return "TerminationTimeoutNotPassed";
    case PC_ERR_TERMINATION_STARTED: return "TerminationAlreadyStarted";
    case PC_ERR_DEPLOYMENT: return "DeploymentFailed";
    case PC_ERR_DEPOSIT: return "DepositFailed";
    case PC_ERR_TRANSACTION: return "TransactionFailed";
    case PC_ERR_NODE: return "EthereumNodeError";
    case PC_ERR_TRANSFER: return "TransferFailed";
    case PC_ERR_STORAGE_NOT_DURABLE: return "StorageNotDurable";
    case PC_ERR_REQUEST_SIGNATURE: return "RequestSignatureInvalid";
    case PC_ERR_REQUEST_SIGNATURE_MISSING: return "RequestSignatureMissing";
    case PC_ERR_SENDER_MISSING: return "SenderMissing";
    case PC_ERR_UNKNOWN_ACCOUNT: return "UnknownAccount";
    case PC_ERR_STALE_REQUEST: return "StaleRequest";
    case PC_ERR_REPLAYED_REQUEST: return "ReplayedRequest";
    case PC_ERR_TIMESTAMP_MISSING: return "RequestTimestampMissing";
    case PC_ERR_NOT_A_PARTY: return "NotAParty";
    case PC_ERR_INVALID_ARGUMENT: return "InvalidParameter";
    case PC_ERR_KEYSTORE: return "KeystoreError";
    case PC_ERR_NOT_FOUND: return "NotFound";
    default: return "InternalError";
    }
}

unsigned pc_error_http_status(int code)
{
    switch (code) {
    case PC_ERR_NODE:
    case PC_ERR_STORAGE_NOT_DURABLE: return 503;
    case PC_ERR_TRANSACTION:
    case PC_ERR_DEPLOYMENT:
    case PC_ERR_DEPOSIT:
    case PC_ERR_TRANSFER:
    case PC_ERR_KEYSTORE:
    case PC_ERR_INTERNAL: return 500;
    case PC_ERR_INVALID_ARGUMENT: return 400;
    case PC_ERR_NOT_FOUND: return 404;
    default: return 412;
    }
}

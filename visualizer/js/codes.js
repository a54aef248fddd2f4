// The protocol error codes of docs/protocol.md §4.4 with their meaning,
// plus the codes the Mediator contract added for failure kinds the table does not name.
// Plain data, shared by the page and its node unit tests.

export const ERROR_CODES = Object.freeze({
  1: 'Mediator already terminated (or its last token was redeemed)',
  2: 'only the provider may do this',
  3: 'only the consumer may do this',
  4: 'token signature invalid',
  30: 'redemption timeout has not passed yet',
  31: 'the new token id is the active one',
  32: 'another redemption is in progress',
  33: 'the new token id was used before',
  34: 'consumer funds in the Mediator do not cover the token',
  36: 'token id is neither active nor within its grace period',
  37: 'request count already used or too low',
  38: 'Mediator terms do not match the provider\'s requirements',
  39: 'no redemption in progress',
  40: 'termination not started',
  41: 'termination timeout has not passed yet',
  42: 'termination already started (code added by the Mediator contract)',
  50: 'Mediator deployment failed',
  60: 'deposit failed',
  100: 'transaction failed or could not be confirmed',
  101: 'Ethereum node unreachable or answered with an error',
  102: 'ether transfer failed (code added by the Mediator contract)',
  103: 'the count cannot be made durable now (Redis no longer persists every write); nothing was issued or recorded, retry later',
  200: 'request signature invalid',
  201: 'request signature missing',
  202: 'sender header missing',
});

/** The meaning of protocol error `code` (a number or numeric string); a fallback for unknown codes. */
export function describeCode(code) {
  const n = Number(code);
  return Object.hasOwn(ERROR_CODES, n) ? ERROR_CODES[n] : `unknown error code ${code}`;
}

// Decoding of Mediator transactions, events and revert data with the committed ABI
// (generated/mediator-abi.js). Pure functions, no DOM and no network: the page and the node unit
// tests (tests/visualizer/unit) import the same module.

import { Interface, formatEther, getAddress, getCreateAddress } from 'ethers';
import { MEDIATOR_ABI, MEDIATOR_FACTORY_ABI, MEDIATOR_FACTORY_ADDRESS } from '../generated/mediator-abi.js';
import { describeCode } from './codes.js';

export const mediatorInterface = new Interface(MEDIATOR_ABI);
export const factoryInterface = new Interface(MEDIATOR_FACTORY_ABI);
export { MEDIATOR_FACTORY_ADDRESS };

/** Whether `address` is the MediatorFactory (the same address on every chain). */
export function isFactory(address) {
  return Boolean(address) && checksum(address) === MEDIATOR_FACTORY_ADDRESS;
}

/** topic0 of every Mediator event, for eth_getLogs filters ([[...]] = any of them). */
export const EVENT_TOPICS = mediatorInterface.fragments
  .filter((f) => f.type === 'event')
  .map((f) => f.topicHash);

export const MEDIATOR_CREATED_TOPIC = mediatorInterface.getEvent('MediatorCreated').topicHash;


// Turns ethers' Result values into plain JSON-friendly values (bigint -> decimal string).
function plainValue(v) {
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return v.map(plainValue);
  return v;
}

function namedArgs(inputs, values) {
  return inputs.map((input, i) => ({ name: input.name || `arg${i}`, type: input.type, value: plainValue(values[i]) }));
}

/**
 * Decodes a transaction's input: a Mediator call, or (to the factory) the opening of a channel.
 * Returns { name, signature, args: [{name,type,value}] }, or null when it is neither (a contract
 * creation included: channels are opened through the factory).
 */
export function decodeCall(input, to) {
  if (!input || input === '0x') return to ? { name: '(plain transfer)', signature: '', args: [] } : null;
  if (to === null || to === undefined) return null;
  let parsed = null;
  try {
    parsed = (isFactory(to) ? factoryInterface : mediatorInterface).parseTransaction({ data: input });
  } catch {
    parsed = null;
  }
  if (!parsed) return null;
  return { name: parsed.name, signature: parsed.signature, args: namedArgs(parsed.fragment.inputs, parsed.args) };
}

/** Decodes a log ({topics, data, ...}); returns { name, signature, args } or null when not a Mediator event. */
export function decodeLog(log) {
  let parsed = null;
  try {
    parsed = mediatorInterface.parseLog({ topics: log.topics, data: log.data });
  } catch {
    parsed = null;
  }
  if (!parsed) return null;
  return { name: parsed.name, signature: parsed.signature, args: namedArgs(parsed.fragment.inputs, parsed.args) };
}

/**
 * Decodes revert data of a failed Mediator call. Returns { name, code, meaning, args } for a
 * Mediator custom error (code = its first parameter, the protocol code), { name: 'Error', message }
 * for a Solidity revert string, or null when the data is empty or unknown.
 */
export function decodeRevert(data) {
  if (!data || data === '0x' || data.length < 10) return null;
  let parsed = null;
  try {
    parsed = mediatorInterface.parseError(data);
  } catch {
    parsed = null;
  }
  if (parsed) {
    const args = namedArgs(parsed.fragment.inputs, parsed.args);
    const code = parsed.name === 'Error' || parsed.name === 'Panic' ? null : Number(args[0]?.value);
    return {
      name: parsed.name,
      code,
      meaning: code === null ? String(args[0]?.value ?? '') : describeCode(code),
      args,
    };
  }
  return null;
}

/** The short label of a Mediator-related transaction for lists ("deposit 1.5 ETH", "redeem 7 requests"). */
export function describeCall(call, valueWei) {
  if (!call) return 'unknown call';
  const arg = (n) => call.args.find((a) => a.name === n)?.value;
  switch (call.name) {
    case 'createMediator':
      return `deploy Mediator (provider ${shortAddress(arg('serviceProvider'))}, ${formatWei(arg('costPerRequest'))}/request)`;
    case 'depositForServiceConsumer':
      return `deposit ${formatWei(valueWei ?? 0n)}`;
    case 'startTokenRedemption':
      return 'start token redemption';
    case 'redeemToken':
      return `redeem ${arg('requestCount')} requests`;
    case 'payoutForServiceProvider':
      return 'payout to provider';
    case 'redeemAndPayout':
      return `redeem ${arg('requestCount')} requests and pay out`;
    case 'redeemPayoutAndStartRedemption':
      return `redeem ${arg('requestCount')} requests, pay out, start the next redemption`;
    case 'startCloseThroughServiceConsumer':
      return 'consumer starts termination';
    case 'finalizeCloseThroughServiceConsumer':
      return 'consumer finalizes termination';
    case 'closeThroughServiceProvider':
      return 'provider closes';
    default:
      return call.name;
  }
}

/** Wei (bigint, number or decimal/hex string) as "N ETH" with all significant digits, plus the wei. */
export function formatWei(wei) {
  const v = BigInt(wei ?? 0);
  return `${formatEther(v).replace(/\.0$/, '')} ETH`;
}

export function shortAddress(a) {
  if (!a) return '?';
  return `${a.slice(0, 6)}…${a.slice(-4)}`;
}

/** The checksummed address a deployment by `from` with `nonce` creates (to spot Mediator deployments). */
export function createdAddress(from, nonce) {
  return getCreateAddress({ from, nonce: BigInt(nonce) });
}

/** Checksummed form of an address, or null when it is not one. */
export function checksum(a) {
  try {
    return getAddress(a);
  } catch {
    return null;
  }
}

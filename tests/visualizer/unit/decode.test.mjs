// Decoding of Mediator calls, events and revert data (visualizer/js/decode.js), checked against
// encodings built independently here from the signatures (keccak of the text, AbiCoder).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AbiCoder, concat, id, zeroPadValue, toBeHex } from 'ethers';
import { EVENT_TOPICS, MEDIATOR_CREATED_TOPIC, MEDIATOR_FACTORY_ADDRESS, createdAddress, decodeCall, decodeLog, decodeRevert, describeCall, formatWei, isFactory } from '../../../visualizer/js/decode.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const artifact = JSON.parse(readFileSync(path.join(ROOT, 'contracts', 'artifacts', 'Mediator.json'), 'utf8'));
const coder = AbiCoder.defaultAbiCoder();
const selector = (sig) => id(sig).slice(0, 10);
const CONSUMER = '0x1E9407B242dCda08b804627097FB9AFC19aBf4B8';
const PROVIDER = '0x2de3961D1eEC25C38DB2D08b9f56007AB541E876';

test('redeemToken call decodes with named parameters and the request count', () => {
  const r = `0x${'11'.repeat(32)}`;
  const s = `0x${'22'.repeat(32)}`;
  const input = concat([selector('redeemToken(uint256,uint8,bytes32,bytes32)'), coder.encode(['uint256', 'uint8', 'bytes32', 'bytes32'], [7, 28, r, s])]);
  const call = decodeCall(input, PROVIDER);
  assert.equal(call.name, 'redeemToken');
  assert.equal(call.signature, 'redeemToken(uint256,uint8,bytes32,bytes32)');
  assert.deepEqual(call.args.map((a) => [a.name, a.value]), [['requestCount', '7'], ['v', '28'], ['r', r], ['s', s]]);
  assert.equal(describeCall(call), 'redeem 7 requests');
});

test('every state-changing function decodes by name', () => {
  for (const sig of ['depositForServiceConsumer()', 'payoutForServiceProvider()', 'startCloseThroughServiceConsumer()',
    'finalizeCloseThroughServiceConsumer()', 'closeThroughServiceProvider()']) {
    assert.equal(decodeCall(selector(sig), PROVIDER).name, sig.slice(0, -2));
  }
  const start = decodeCall(concat([selector('startTokenRedemption(uint256)'), coder.encode(['uint256'], [1002])]), PROVIDER);
  assert.deepEqual(start.args, [{ name: 'newTokenId', type: 'uint256', value: '1002' }]);
  assert.equal(describeCall(decodeCall(selector('depositForServiceConsumer()'), PROVIDER), 5n * 10n ** 15n), 'deposit 0.005 ETH');
});

test('opening a channel through the factory decodes its terms; a contract creation is no Mediator call', () => {
  const factory = JSON.parse(readFileSync(path.join(ROOT, 'contracts', 'artifacts', 'MediatorFactory.json'), 'utf8'));
  assert.equal(MEDIATOR_FACTORY_ADDRESS, factory.deployment.address);
  assert.ok(isFactory(MEDIATOR_FACTORY_ADDRESS.toLowerCase()));
  assert.ok(!isFactory(PROVIDER));
  const sig = 'createMediator(address,uint256,uint256,uint256,uint256)';
  const args = coder.encode(['address', 'uint256', 'uint256', 'uint256', 'uint256'], [PROVIDER, 1001, 2_000_000_000n, 40, 20]);
  const input = concat([selector(sig), args]);
  const call = decodeCall(input, MEDIATOR_FACTORY_ADDRESS);
  assert.equal(call.name, 'createMediator');
  assert.equal(call.signature, sig);
  assert.deepEqual(call.args.map((a) => a.value), [PROVIDER, '1001', '2000000000', '40', '20']);
  assert.match(describeCall(call), /^deploy Mediator \(provider 0x2de3…E876, 0\.000000002 ETH\/request\)$/);
  assert.equal(decodeCall(input, PROVIDER), null); /* the same input to another contract */
  assert.equal(decodeCall(concat([artifact.bytecode, args]), null), null);
});

test('the combined redemption calls decode', () => {
  const redeem = coder.encode(['uint256', 'uint8', 'bytes32', 'bytes32'], [7, 27, zeroPadValue('0x01', 32), zeroPadValue('0x02', 32)]);
  const c1 = decodeCall(concat([selector('redeemAndPayout(uint256,uint8,bytes32,bytes32)'), redeem]), PROVIDER);
  assert.equal(describeCall(c1), 'redeem 7 requests and pay out');
  const c2 = decodeCall(concat([selector('redeemPayoutAndStartRedemption(uint256,uint8,bytes32,bytes32,uint256)'), redeem,
    coder.encode(['uint256'], [1003])]), PROVIDER);
  assert.equal(describeCall(c2), 'redeem 7 requests, pay out, start the next redemption');
});

test('unknown input is not taken for a Mediator call', () => {
  assert.equal(decodeCall('0xdeadbeef', PROVIDER), null);
  assert.equal(decodeCall('0x', PROVIDER).name, '(plain transfer)');
  assert.equal(decodeCall('0x1234', null), null);
});

test('TokenRedeemed and MediatorCreated logs decode with their values', () => {
  const redeemed = decodeLog({
    topics: [id('TokenRedeemed(uint256,uint256,uint256)'), zeroPadValue(toBeHex(1001), 32)],
    data: coder.encode(['uint256', 'uint256'], [7, 14_000_000_000n]),
  });
  assert.equal(redeemed.name, 'TokenRedeemed');
  assert.deepEqual(redeemed.args.map((a) => [a.name, a.value]), [['tokenId', '1001'], ['requestCount', '7'], ['amount', '14000000000']]);

  const created = decodeLog({
    topics: [id('MediatorCreated(address,address,uint256,uint256,uint256,uint256)'), zeroPadValue(CONSUMER, 32), zeroPadValue(PROVIDER, 32)],
    data: coder.encode(['uint256', 'uint256', 'uint256', 'uint256'], [1001, 2, 40, 20]),
  });
  assert.equal(created.name, 'MediatorCreated');
  assert.equal(created.args[0].value, CONSUMER);
  assert.equal(created.args[1].value, PROVIDER);
  assert.equal(MEDIATOR_CREATED_TOPIC, id('MediatorCreated(address,address,uint256,uint256,uint256,uint256)'));
  assert.equal(decodeLog({ topics: [id('Transfer(address,address,uint256)')], data: '0x' }), null);
});

test('the event filter names exactly the seven Mediator events', () => {
  const sigs = ['MediatorCreated(address,address,uint256,uint256,uint256,uint256)', 'Deposited(address,uint256,uint256)',
    'TokenRedemptionStarted(uint256,uint256,uint256)', 'TokenRedeemed(uint256,uint256,uint256)', 'PaidOut(address,uint256)',
    'TerminationStarted(uint256,uint256)', 'Terminated(address,uint256,uint256)'];
  assert.deepEqual([...EVENT_TOPICS].sort(), sigs.map((s) => id(s)).sort());
});

test('custom errors decode to the protocol code and its meaning', () => {
  const only = decodeRevert(concat([selector('OnlyServiceProvider(uint16)'), coder.encode(['uint16'], [2])]));
  assert.deepEqual([only.name, only.code, only.meaning], ['OnlyServiceProvider', 2, 'only the provider may do this']);
  const late = decodeRevert(concat([selector('RedemptionTimeoutNotPassed(uint16,uint256,uint256)'), coder.encode(['uint16', 'uint256', 'uint256'], [30, 500, 480])]));
  assert.equal(late.code, 30);
  assert.equal(late.meaning, 'redemption timeout has not passed yet');
  assert.deepEqual(late.args.slice(1).map((a) => [a.name, a.value]), [['timeoutAt', '500'], ['now_', '480']]);
  const funds = decodeRevert(concat([selector('InsufficientConsumerFunds(uint16,uint256,uint256)'), coder.encode(['uint16', 'uint256', 'uint256'], [34, 10, 9])]));
  assert.equal(funds.meaning, 'consumer funds in the Mediator do not cover the token');
});

test('every custom error of the artifact carries a code with a known meaning', () => {
  const errors = artifact.abi.filter((f) => f.type === 'error');
  assert.ok(errors.length >= 15);
  const codeOf = /(\w+)\s*=\s*(\d+);/g;
  const source = readFileSync(path.join(ROOT, 'contracts', 'Mediator.sol'), 'utf8');
  const codes = [...source.matchAll(codeOf)].filter((m) => m[1].startsWith('CODE_')).map((m) => Number(m[2]));
  for (const code of codes) {
    const err = errors[0];
    const types = err.inputs.map((i) => i.type);
    const data = concat([selector(`${err.name}(${types.join(',')})`), coder.encode(types, [code, ...types.slice(1).map(() => 0)])]);
    assert.doesNotMatch(decodeRevert(data).meaning, /unknown/, `code ${code}`);
  }
  for (const err of errors) {
    assert.equal(err.inputs[0].type, 'uint16', `${err.name} carries the code first`);
  }
});

test('revert strings, empty and foreign revert data', () => {
  const str = decodeRevert(concat([selector('Error(string)'), coder.encode(['string'], ['nope'])]));
  assert.deepEqual([str.name, str.code, str.meaning], ['Error', null, 'nope']);
  assert.equal(decodeRevert('0x'), null);
  assert.equal(decodeRevert(null), null);
  assert.equal(decodeRevert('0x12345678'), null);
});

test('formatWei keeps every digit; createdAddress follows the CREATE rule', () => {
  assert.equal(formatWei(14_000_000_000n), '0.000000014 ETH');
  assert.equal(formatWei('4999986000000000'), '0.004999986 ETH');
  assert.equal(formatWei(10n ** 18n), '1 ETH');
  // anvil's first deployment of the dev consumer (nonce 0), as seen on the chain in the browser test
  assert.equal(createdAddress(CONSUMER, 0), '0x17b1AD86b9ea671c3d1F20B72f37Cd5EF9E42318');
});

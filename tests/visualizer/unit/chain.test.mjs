// The Visualizer lists as Mediators only the emitters of MediatorCreated that the factory's
// isMediator confirms: any contract can emit that event (a look-alike), so the log alone is not
// enough. A fake node answers isMediator; no network.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Chain } from '../../../visualizer/js/chain.js';
import { MEDIATOR_FACTORY_ADDRESS, factoryInterface, mediatorInterface } from '../../../visualizer/js/decode.js';

const GENUINE = '0x1111111111111111111111111111111111111111';
const LOOKALIKE = '0x2222222222222222222222222222222222222222';
const CONSUMER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const PROVIDER = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';

function createdLog(address) {
  const { topics, data } = mediatorInterface.encodeEventLog('MediatorCreated', [CONSUMER, PROVIDER, 1001n, 1000n, 40n, 20n]);
  return { address, topics, data, blockNumber: '0x2', transactionHash: `0x${'ab'.repeat(32)}`, logIndex: '0x0' };
}

test('a MediatorCreated log counts only when the factory confirms its emitter', async () => {
  const asked = [];
  const rpc = {
    batchStrict: async (calls) => calls.map(([method, [call]]) => {
      assert.equal(method, 'eth_call');
      assert.equal(call.to, MEDIATOR_FACTORY_ADDRESS);
      const [addr] = factoryInterface.decodeFunctionData('isMediator', call.data);
      asked.push(addr.toLowerCase());
      return factoryInterface.encodeFunctionResult('isMediator', [addr.toLowerCase() === GENUINE]);
    }),
  };
  const chain = new Chain(rpc);
  await chain.noteCreatedLogs([createdLog(GENUINE), createdLog(LOOKALIKE)]);
  assert.deepEqual(asked, [GENUINE, LOOKALIKE]);
  assert.ok(chain.isMediator(GENUINE));
  assert.ok(!chain.isMediator(LOOKALIKE));
  await chain.noteCreatedLogs([createdLog(GENUINE)]); // known: not asked again
  assert.equal(asked.length, 2);
});

test('on a chain without the factory (isMediator answers nothing) nothing is listed', async () => {
  const chain = new Chain({ batchStrict: async (calls) => calls.map(() => '0x') });
  await chain.noteCreatedLogs([createdLog(GENUINE)]);
  assert.ok(!chain.isMediator(GENUINE));
});

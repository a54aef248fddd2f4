// Pure models of visualizer/js/model.js: state, totals, graph, chart path.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildGraph, compactWei, eventTotals, mediatorState, stepPath } from '../../../visualizer/js/model.js';

const ev = (name, args) => ({ name, args: Object.entries(args).map(([n, value]) => ({ name: n, value: String(value) })) });

test('mediatorState follows terminated > terminating > redeeming > active', () => {
  const base = { terminated: false, terminationStartedAt: 0n, soonExpiringTokenId: 0n };
  assert.equal(mediatorState(base), 'active');
  assert.equal(mediatorState({ ...base, soonExpiringTokenId: 5n }), 'redeeming');
  assert.equal(mediatorState({ ...base, soonExpiringTokenId: 5n, terminationStartedAt: 100n }), 'terminating');
  assert.equal(mediatorState({ ...base, terminated: true, terminationStartedAt: 100n }), 'terminated');
});

test('eventTotals adds deposits, redemptions and payouts', () => {
  const t = eventTotals([
    ev('MediatorCreated', {}),
    ev('Deposited', { amount: 5000, consumerFunds: 5000 }),
    ev('Deposited', { amount: 1000, consumerFunds: 6000 }),
    ev('TokenRedeemed', { tokenId: 1, requestCount: 7, amount: 14 }),
    ev('TokenRedeemed', { tokenId: 2, requestCount: 0, amount: 0 }),
    ev('TokenRedeemed', { tokenId: 3, requestCount: 3, amount: 6 }),
    ev('PaidOut', { amount: 20 }),
  ]);
  assert.equal(t.depositedWei, 6000n);
  assert.equal(t.paidWei, 20n);
  assert.equal(t.requestsRedeemed, 10n);
  assert.equal(t.paidOutWei, 20n);
  assert.equal(t.redemptions, 3);
  assert.equal(t.counts.Deposited, 2);
});

test('buildGraph: one node per account, one edge per Mediator from consumer to provider', () => {
  const g = buildGraph([
    { address: '0xM1', consumer: '0xA', provider: '0xB', state: 'active', paidWei: '14', requestsRedeemed: '7' },
    { address: '0xM2', consumer: '0xA', provider: '0xC', state: 'terminated', paidWei: 0n, requestsRedeemed: 0n },
    { address: '0xM3', consumer: '0xC', provider: '0xB', state: 'active', paidWei: 1n, requestsRedeemed: 1n },
  ]);
  assert.deepEqual(g.nodes.map((n) => n.id), ['0xA', '0xB', '0xC']);
  assert.deepEqual(g.nodes.find((n) => n.id === '0xC').roles.sort(), ['consumer', 'provider']);
  assert.deepEqual(g.edges.map((e) => [e.id, e.from, e.to, e.paidWei, e.requestsRedeemed, e.state]),
    [['0xM1', '0xA', '0xB', 14n, 7n, 'active'], ['0xM2', '0xA', '0xC', 0n, 0n, 'terminated'], ['0xM3', '0xC', '0xB', 1n, 1n, 'active']]);
  // nodes are spread on the circle: no two at the same place
  const places = new Set(g.nodes.map((n) => `${n.x.toFixed(0)},${n.y.toFixed(0)}`));
  assert.equal(places.size, 3);
});

test('stepPath maps the series into the box as steps', () => {
  const { path, yMin, yMax } = stepPath([{ x: 0, y: 0n }, { x: 5, y: 10n }, { x: 10, y: 5n }], { w: 100, h: 50, margin: 0 });
  assert.equal(yMin, 0);
  assert.equal(yMax, 10);
  assert.equal(path, 'M0.0 50.0 H50.0 V0.0 H100.0 V25.0 H100.0');
  assert.equal(stepPath([], { w: 10, h: 10 }).path, '');
  // a flat series sits in the middle
  assert.equal(stepPath([{ x: 1, y: 3 }, { x: 2, y: 3 }], { w: 10, h: 10 }).path, 'M0.0 5.0 H10.0 V5.0 H10.0');
});

test('compactWei picks a readable unit', () => {
  assert.equal(compactWei(14_000_000_000n), '14 gwei');
  assert.equal(compactWei(5n * 10n ** 15n), '0.005 ETH');
  assert.equal(compactWei(999n), '999 wei');
});

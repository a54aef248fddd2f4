// Pure parts of issue 14 point 6: amount / id / time formatting and ticks (format.js), the
// operations view's per-service summary and alerts (ops.js).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { amountText, duration, niceTicks, shortId, shortTime } from '../../../visualizer/js/format.js';
import { channelAlerts, gasShare, parseLabels, serviceSummaries } from '../../../visualizer/js/ops.js';

test('amounts read as ETH, gwei or wei with up to 6 significant digits', () => {
  assert.equal(amountText(14000000000n), '14 gwei');
  assert.equal(amountText(4999986000000000n), '0.00499998 ETH');
  assert.equal(amountText(1500000000000000000n), '1.5 ETH');
  assert.equal(amountText(900n), '900 wei');
  assert.equal(amountText('0'), '0 wei');
});

test('long ids are shortened, times fit one line, durations and ticks read well', () => {
  const id = (10n ** 76n + 1001n).toString();
  assert.equal(shortId(id), '100000…1001');
  assert.equal(shortId('1001'), '1001');
  assert.equal(shortTime(0), '1970-01-01 00:00:00');
  assert.equal(duration(90), 'in 90 s');
  assert.equal(duration(-4000), '67 min ago');
  assert.equal(duration(86399), 'in 24 h 0 min'); // was "23 h 60 min"
  assert.equal(duration(7199), 'in 120 min');
  assert.equal(duration(3 * 86400 - 600), 'in 3 d 0 h'); // was "2 d 24 h"
  assert.equal(duration(-(2 * 86400 + 5 * 3600)), '2 d 5 h ago');
  assert.deepEqual(niceTicks(0n, 5n * 10n ** 15n, 4), [0n, 2n * 10n ** 15n, 4n * 10n ** 15n]);
  assert.deepEqual(niceTicks(3, 17, 5), [4n, 6n, 8n, 10n, 12n, 14n, 16n]);
  assert.deepEqual(niceTicks(5, 5), [5n]);
});

test('channel alerts: funds low, timeout near, redemption pending; none once terminated', () => {
  const c = { role: 'provider', costPerRequest: '10', consumerFunds: '999', unredeemedWei: '20', nextDeadline: { what: 'x', at: 1000 }, state: 'open' };
  assert.deepEqual(channelAlerts(c, 0), ['funds-low', 'timeout-near', 'redemption-pending']);
  assert.deepEqual(channelAlerts({ ...c, consumerFunds: '1000', unredeemedWei: '0', nextDeadline: { at: 99999 } }, 0), []);
  assert.deepEqual(channelAlerts({ ...c, state: 'terminated' }, 0), []);
});

test('serviceSummaries adds per account and labels from paychand, else the map', () => {
  const A = '0x00000000000000000000000000000000000000aa';
  const B = '0x00000000000000000000000000000000000000bb';
  const s = serviceSummaries({
    accounts: { [A]: { label: 'search', earnedWei: '100', gasFeeWei: '25' }, [B]: { earnedWei: '0', gasFeeWei: '5' } },
    channels: [
      { mediator: 'm1', role: 'provider', account: A, counterparty: B, costPerRequest: '1', consumerFunds: '1000', highestValidated: 7, unredeemedWei: '7', state: 'open' },
      { mediator: 'm1', role: 'consumer', account: B, counterparty: A, costPerRequest: '1', consumerFunds: '1000', highestIssued: 9, unredeemedWei: '0', state: 'open' },
    ],
  }, { labels: parseLabels(`${B.toUpperCase().replace('0X', '0x')}=weather`), now: 0 });
  const [a, b] = s;
  assert.equal(a.label, 'search');
  assert.equal(b.label, 'weather');
  assert.equal(a.requestsPaidTo, 7n);
  assert.equal(b.requestsPaidBy, 9n);
  assert.equal(a.unredeemedWei, 7n);
  assert.deepEqual(a.channels[0].alerts, ['redemption-pending']);
  assert.equal(a.channels[0].counterpartyLabel, 'weather');
  assert.equal(gasShare(25n, 100n), 0.25);
  assert.equal(gasShare(5n, 0n), 1);
});

// Daemon timers on a ManualClock: drift-free due times, late ticks reported, ticks more than an
// interval late skipped and counted (never bunched), count, stop, replace and the limits.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Timers, type Tick } from '../../src/broker/timers.js';
import { BusError, ErrorCode, ManualClock } from '../../src/client/index.js';

function setup(limits = { maxTimers: 4, minIntervalMs: 5 }): {
  clock: ManualClock;
  timers: Timers;
  ticks: Tick[];
} {
  const clock = new ManualClock(1_000_000);
  const ticks: Tick[] = [];
  const timers = new Timers(clock, limits, (t) => ticks.push({ ...t, timer: { ...t.timer } }));
  return { clock, timers, ticks };
}

const spec = (name: string, intervalMs: number, count = 0): Parameters<Timers['start']>[0] => ({
  name,
  intervalMs,
  subject: `timer.${name}`,
  count,
});

void test('exactly COUNT ticks, seq 1..COUNT, each due at start + N x interval, then the timer is gone', () => {
  const { clock, timers, ticks } = setup();
  timers.start(spec('t', 50, 5), 1000);
  clock.advance(1000);
  assert.deepEqual(
    ticks.map((t) => [t.seq, t.due - 1_000_000, t.late, t.skipped, t.last]),
    [
      [1, 50, 0, 0, false],
      [2, 100, 0, 0, false],
      [3, 150, 0, 0, false],
      [4, 200, 0, 0, false],
      [5, 250, 0, 0, true],
    ],
  );
  assert.equal(timers.size, 0);
  assert.equal(clock.pending, 0);
});

/** A clock whose timers fire `lag` ms after their time, like those of a busy event loop. */
class LaggingClock extends ManualClock {
  lag = 0;
  override now(): number {
    return super.now() + this.lag;
  }
}

void test('a late tick does not shift the next ones (no drift): it says how late, and ticks more than an interval late are skipped, not bunched', () => {
  const clock = new LaggingClock(1_000_000);
  const ticks: Tick[] = [];
  const timers = new Timers(clock, { maxTimers: 4, minIntervalMs: 5 }, (t) =>
    ticks.push({ ...t, timer: { ...t.timer } }),
  );
  timers.start(spec('t', 10), undefined);
  clock.advance(10); // tick 1 on time
  clock.lag = 7;
  clock.advance(10); // tick 2, due at 20, runs at 27
  clock.lag = 25;
  clock.advance(10); // tick 3 (due at 30) runs at 48: more than an interval late, skipped; 4 is sent
  clock.lag = 0;
  clock.advance(30); // back on time
  assert.deepEqual(
    ticks.map((t) => [t.seq, t.due - 1_000_000, t.late, t.skipped]),
    [
      [1, 10, 0, 0],
      [2, 20, 7, 0],
      [4, 40, 8, 1],
      [5, 50, 0, 0],
      [6, 60, 0, 0],
    ],
  );
  const info = timers.list()[0]!;
  assert.equal(info.sent, 5);
  assert.equal(info.skipped, 1);
  assert.equal(info.maxLateMs, 8);
  assert.equal(info.next, 7, 'tick 7 stays due at start + 70');
});

void test('stop ends a timer early; unknown names are undefined', () => {
  const { clock, timers, ticks } = setup();
  timers.start(spec('t', 20, 100), 1000);
  clock.advance(65);
  const info = timers.stop('t');
  assert.equal(info?.sent, 3);
  clock.advance(1000);
  assert.equal(ticks.length, 3);
  assert.equal(timers.stop('t'), undefined);
  assert.equal(timers.owner('t'), null);
});

void test('limits: shortest interval, most timers, a name taken; replace restarts it', () => {
  const { timers } = setup({ maxTimers: 2, minIntervalMs: 5 });
  const code = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof BusError);
      return `${err.code}: ${err.message}`;
    }
    return 'no error';
  };
  assert.match(
    code(() => timers.start(spec('a', 4), 1)),
    /^BUS_ERR_LIMIT: .*from 5 to/,
  );
  assert.match(
    code(() => timers.start(spec('a b', 10), 1)),
    /^BUS_ERR_BAD_SUBJECT/,
  );
  timers.start(spec('a', 10), 1);
  assert.match(
    code(() => timers.start(spec('a', 10), 1)),
    /^BUS_ERR_CONFLICT: .*already running/,
  );
  timers.start(spec('b', 10), 1);
  assert.match(
    code(() => timers.start(spec('c', 10), 1)),
    /^BUS_ERR_LIMIT: .*2 timers/,
  );
  assert.equal(timers.start(spec('a', 20), 2, true).intervalMs, 20);
  assert.equal(timers.owner('a'), 2);
  assert.deepEqual(
    timers.list().map((t) => t.name),
    ['a', 'b'],
  );
  timers.stopAll();
  assert.equal(timers.size, 0);
  assert.equal(ErrorCode.LIMIT, 'BUS_ERR_LIMIT');
});

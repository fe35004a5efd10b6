// Issue 9 item 1 against a real daemon: clients that send HELLO, then PINGs (or SUBs past the
// subscription limit) as fast as they can and never read. The daemon must pause them at their
// queue bound (RSS stays low) while a healthy publisher/subscriber pair alongside loses nothing.
// Duration: UDSBUS_FLOOD_MS (default 60,000 ms, as the acceptance asks).

import assert from 'node:assert/strict';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeBare, encodeHello, encodeSub } from '../../src/protocol/control-frames.js';
import { Op } from '../../src/protocol/constants.js';
import { decodeMsg } from '../../src/protocol/delivery-frames.js';
import { encodePub } from '../../src/protocol/message-frames.js';
import { DaemonProc, tempDir } from '../helpers/processes.js';
import { RawClient } from '../helpers/raw-client.js';
import { hwmBytes, rssBytes } from '../helpers/rss.js';

const FLOOD_MS = Number(process.env['UDSBUS_FLOOD_MS'] ?? 60_000);
const MiB = 1024 * 1024;

/** The attack of the issue: HELLO, then `frame` repeated as fast as the socket takes it; never reads. */
function flooder(path: string, frames: Uint8Array[]): { socket: Socket; sent: () => number } {
  let sent = 0;
  const socket = createConnection(path, () => {
    socket.write(encodeHello(1, { name: 'flooder' }));
    for (const f of frames.slice(0, -1)) socket.write(f);
    const last = frames[frames.length - 1]!;
    const block = Buffer.alloc(64 * 1024 - ((64 * 1024) % last.length));
    for (let off = 0; off < block.length; off += last.length) block.set(last, off);
    const pump = (): void => {
      while (socket.write(block)) sent += block.length;
      socket.once('drain', pump);
    };
    pump();
  });
  socket.pause();
  socket.on('error', () => undefined);
  return { socket, sent: () => sent };
}

void test(`control-frame floods for ${FLOOD_MS} ms: daemon RSS stays low, a healthy pub/sub pair loses nothing`, async () => {
  const { dir, cleanup } = tempDir();
  const path = join(dir, 'bus.sock');
  const daemon = await DaemonProc.start(path, ['-q']);
  const pid = daemon.child.pid!;
  try {
    const sub = await RawClient.open(path);
    sub.write(encodeSub({ sid: 1, subject: 'healthy' }));
    const pub = await RawClient.open(path);
    await new Promise((r) => setTimeout(r, 100));
    const baseline = rssBytes(pid);

    const pings = flooder(path, [encodeBare(Op.PING)]);
    // 10,000 subscriptions (the per-connection limit), then one more, repeated: each is refused.
    const subs: Uint8Array[] = [];
    for (let i = 1; i <= 10_000; i++) subs.push(encodeSub({ sid: i, subject: `f.${i}` }));
    subs.push(encodeSub({ sid: 10_001, subject: 'f.over' }));
    const refusals = flooder(path, subs);

    let seq = 0;
    let peak = 0;
    const started = Date.now();
    const payload = Buffer.alloc(8);
    while (Date.now() - started < FLOOD_MS) {
      for (let i = 0; i < 20; i++) {
        payload.writeDoubleLE(seq++);
        pub.write(encodePub('healthy', payload));
      }
      peak = Math.max(peak, rssBytes(pid));
      await new Promise((r) => setTimeout(r, 10));
    }
    const hwm = hwmBytes(pid);
    // The subscriber gets every message, in order, without a GAP.
    const deadline = Date.now() + 10_000;
    const msgCount = (): number => sub.frames.filter((f) => f[0] === Op.MSG).length;
    while (msgCount() < seq && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const got = sub.frames.filter((f) => f[0] === Op.MSG).map((f) => decodeMsg(f));
    const seqs = got.map((m) => Buffer.from(m.data).readDoubleLE(0));
    console.log(
      `control flood ${FLOOD_MS} ms: daemon RSS baseline ${(baseline / MiB).toFixed(1)} MiB, ` +
        `peak ${(peak / MiB).toFixed(1)} MiB, VmHWM ${(hwm / MiB).toFixed(1)} MiB; flooders wrote ` +
        `${(pings.sent() / MiB).toFixed(1)} + ${(refusals.sent() / MiB).toFixed(1)} MiB; ` +
        `healthy pair: ${seq} published, ${got.length} received`,
    );
    assert.equal(got.length, seq, 'the healthy subscriber got every message');
    assert.ok(
      seqs.every((s, i) => s === i),
      'in order',
    );
    assert.equal(sub.frames.filter((f) => f[0] === Op.GAP).length, 0, 'no GAP');
    assert.ok(hwm < 300 * MiB, `daemon VmHWM ${(hwm / MiB).toFixed(1)} MiB < 300 MiB`);
    assert.equal(daemon.child.exitCode, null, 'the daemon is still running');
    pings.socket.destroy();
    refusals.socket.destroy();
    sub.socket.destroy();
    pub.socket.destroy();
  } finally {
    await daemon.stop();
    cleanup();
  }
});

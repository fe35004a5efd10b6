// Issue 9 item 5 against a real daemon: before HELLO only what a HELLO needs (1 KiB) is
// accepted. 1,000 unauthenticated connections that each announce a 1 MiB frame and send part
// of it are refused at once with BUS_ERR_FRAME_TOO_LARGE, and the daemon's memory stays low.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeVarint } from '../../src/protocol/varint.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { DaemonProc, tempDir } from '../helpers/processes.js';
import { RawClient } from '../helpers/raw-client.js';
import { rssBytes, rssPeak } from '../helpers/rss.js';

const MiB = 1024 * 1024;

void test('1,000 connections announcing a 1 MiB frame before HELLO are refused; daemon RSS stays low', async () => {
  const { dir, cleanup } = tempDir();
  const path = join(dir, 'bus.sock');
  const daemon = await DaemonProc.start(path, ['-q']);
  const pid = daemon.child.pid!;
  try {
    const baseline = rssBytes(pid);
    const peak = rssPeak(pid, 10);
    // 80 80 40 (1 MiB announced), then 16 KiB of the body, in one write (so no EPIPE can
    // destroy the socket before the ERROR frame is read).
    const attack = new Uint8Array(3 + 16 * 1024).fill(0x10);
    writeVarint(attack, 0, MiB);
    const refused: string[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const clients = await Promise.all(
        Array.from({ length: 100 }, () => RawClient.open(path, false)),
      );
      for (const c of clients) c.write(attack);
      await Promise.all(clients.map((c) => c.waitClosed(5000)));
      for (const c of clients) refused.push(c.errors()[0]?.code ?? 'none');
    }
    const top = peak.stop();
    console.log(
      `pre-HELLO 1 MiB frames x 1000: daemon RSS baseline ${(baseline / MiB).toFixed(1)} MiB, ` +
        `peak ${(top / MiB).toFixed(1)} MiB`,
    );
    assert.equal(refused.length, 1000);
    assert.ok(
      refused.every((c) => c === ErrorCode.FRAME_TOO_LARGE),
      `every connection refused with FRAME_TOO_LARGE (${[...new Set(refused)].join(', ')})`,
    );
    assert.ok(top - baseline < 64 * MiB, `RSS grew ${((top - baseline) / MiB).toFixed(1)} MiB`);
  } finally {
    await daemon.stop();
    cleanup();
  }
});

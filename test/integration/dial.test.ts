// The Unix dialer retries a connect refused with EAGAIN (listen backlog full) until the caller
// gives up: 20 links to a listener with backlog 1 that starts accepting late all connect;
// other connect errors are reported at once.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { dialUnix } from '../../src/transport/dial.js';
import { hasCommand, tempDir } from '../helpers/processes.js';

void test(
  'EAGAIN on a full backlog is retried until the listener accepts',
  { skip: hasCommand('python3') ? false : 'needs python3 (a listener that does not accept)' },
  async () => {
    const tmp = tempDir();
    const path = join(tmp.dir, 'slow.sock');
    // Backlog 1, and no accept() for 500 ms: connects beyond the backlog fail with EAGAIN.
    const py = spawn('python3', [
      '-u',
      '-c',
      `import socket,sys,time
s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); print('ready', flush=True)
time.sleep(0.5)
conns=[]
while True: conns.append(s.accept()[0])`,
      path,
    ]);
    await new Promise<void>((resolve) => py.stdout.once('data', () => resolve()));
    const events: string[] = [];
    const links = Array.from({ length: 20 }, (_, i) =>
      dialUnix(
        path,
        {
          connect: () => events.push(`connect ${i}`),
          data: () => undefined,
          drain: () => undefined,
          error: (e) => events.push(`error ${i} ${(e as NodeJS.ErrnoException).code ?? e.message}`),
          close: () => events.push(`close ${i}`),
        },
        { sockBuf: 0 },
      ),
    );
    try {
      const deadline = Date.now() + 10_000;
      while (events.filter((e) => e.startsWith('connect')).length < 20 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      assert.equal(events.filter((e) => e.startsWith('connect')).length, 20, events.join(', '));
      assert.deepEqual(
        events.filter((e) => !e.startsWith('connect')),
        [],
      );
    } finally {
      for (const l of links) l.destroy();
      py.kill('SIGKILL');
      tmp.cleanup();
    }
  },
);

void test('a connect that fails otherwise (ENOENT) is not retried: one error, one close', async () => {
  const tmp = tempDir();
  const path = join(tmp.dir, 'none.sock');
  const events: string[] = [];
  const link = dialUnix(
    path,
    {
      connect: () => events.push('connect'),
      data: () => undefined,
      drain: () => undefined,
      error: (e) => events.push(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`),
      close: () => events.push('close'),
    },
    { sockBuf: 0 },
  );
  await new Promise((r) => setTimeout(r, 50));
  link.destroy(new Error('given up'));
  await new Promise((r) => setTimeout(r, 50));
  // Reported before the destroy, once each; the later destroy adds nothing.
  assert.deepEqual(events, ['error ENOENT', 'close']);
  tmp.cleanup();
});

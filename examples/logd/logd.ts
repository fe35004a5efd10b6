// logd: a logging service on the bus, after FreeWorld OS's logd. It claims the service name
// `logd` (a second instance waits in line and takes over when the first goes away), answers
// `@logd.write` requests ({ level, tag, msg } as JSON; reply "ok") by appending one line per
// record to a file that rotates by size, and logs every `security.>` event it sees through an
// EventBus. Each line names the sender: client id and name, kernel-verified uid and pid.
//
//   node dist/examples/logd/logd.js --file PATH [--max-bytes N] [--keep K] [-s SOCKET]
//
// Imports the public client API and node: only.

import { parseArgs } from 'node:util';
import { connect, EventBus, type Client, type Msg } from '../../src/client/index.js';
import { escapeLine, formatRecord, parseLogRequest, type LogRequest } from './record.js';
import { RotatingFile } from './rotating-file.js';

const NAME = 'logd';
const USAGE =
  'usage: node logd.js --file PATH [--max-bytes N (1048576)] [--keep K (5)] [-s SOCKET]';

/** Client names by id: from `$SYS.connect`/`$SYS.disconnect`, and the daemon's status on a miss. */
class ClientNames {
  readonly #client: Client;
  readonly #names = new Map<number, string>();

  constructor(client: Client) {
    this.#client = client;
    client.subscribe('$SYS.connect', (m) => this.#event(m, true));
    client.subscribe('$SYS.disconnect', (m) => this.#event(m, false));
  }

  #event(m: Msg, connected: boolean): void {
    if (m.from !== 0) return; // only the daemon's own events are trusted
    const ev = JSON.parse(new TextDecoder().decode(m.data)) as { id: number; name: string };
    if (connected) this.#names.set(ev.id, ev.name);
    else this.#names.delete(ev.id);
  }

  async of(id: number): Promise<string> {
    if (id === 0) return '(daemon)';
    const known = this.#names.get(id);
    if (known !== undefined) return known;
    const status = await this.#client.status();
    for (const c of status.clients) this.#names.set(c.id, c.name);
    return this.#names.get(id) ?? '(gone)';
  }
}

function usage(message: string): never {
  process.stderr.write(`logd: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function positiveInt(
  text: string | undefined,
  fallback: number,
  what: string,
  min: number,
): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min)
    usage(`${what} must be an integer >= ${min}, not ${JSON.stringify(text)}`);
  return n;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        file: { type: 'string' },
        'max-bytes': { type: 'string' },
        keep: { type: 'string' },
        socket: { type: 'string', short: 's' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    usage((err as Error).message);
  }
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values.file === undefined) usage('--file PATH is required');
  const file = new RotatingFile(
    values.file,
    positiveInt(values['max-bytes'], 1024 * 1024, '--max-bytes', 1),
    positiveInt(values.keep, 5, '--keep', 0),
  );

  const client = await connect({ path: values.socket, name: NAME });
  client.on('error', (err: Error) => process.stderr.write(`logd: ${err.message}\n`));
  const names = new ClientNames(client);

  // Records are written in the order they arrive, even when a name lookup has to wait.
  let tail = Promise.resolve();
  type Origin = Pick<Msg, 'from' | 'uid' | 'pid'>;
  const record = (r: LogRequest, m: Origin): Promise<void> => {
    // A Msg reads its fields from the received bytes: take them now, not after waiting.
    const { from: id, uid, pid } = m;
    const time = new Date();
    const done = tail.then(async () => {
      const name = await names.of(id);
      file.write(formatRecord(time, r, { id, name, uid, pid }));
    });
    tail = done.catch((err: unknown) => {
      process.stderr.write(`logd: cannot write ${file.path}: ${(err as Error).message}\n`);
    });
    return done;
  };

  // Only the owner of the name gets requests to @logd.*: a waiting instance may serve already.
  client.serve(`@${NAME}.>`, async (m) => {
    if (m.subject !== `@${NAME}.write`)
      throw new Error(`${NAME} has no method ${m.subject}; send records to @${NAME}.write`);
    await record(parseLogRequest(m.data), m);
    return 'ok';
  });

  // The EventBus hook: every security.> event becomes a record, while this instance owns the name
  // (a waiting instance must not write the same events twice).
  const events = new EventBus(client, {
    onError: (err, m) => {
      if (m === undefined) return;
      const raw = new TextDecoder().decode(m.data).slice(0, 1024);
      void record({ level: 'warn', tag: m.subject, msg: `(not JSON) ${raw}` }, m);
      process.stderr.write(`logd: ${err.message}\n`);
    },
  });
  const onSecurity = (value: unknown, subject: string, m: Msg): void => {
    void record({ level: 'info', tag: subject, msg: JSON.stringify(value) }, m);
  };
  const self = (): Origin => ({ from: client.id, uid: process.getuid?.(), pid: process.pid });
  let owner = false;
  const setOwner = (now: boolean): void => {
    if (now === owner) return;
    owner = now;
    if (now) {
      events.on('security.>', onSecurity);
      void record(
        { level: 'info', tag: NAME, msg: `owner of ${NAME}, pid ${process.pid}` },
        self(),
      );
      // Announced once the daemon has the security.> subscription: from then on nothing is missed.
      client.flush().then(
        () => process.stderr.write(`logd: owner of ${NAME}, writing ${escapeLine(file.path)}\n`),
        () => undefined,
      );
    } else {
      events.off('security.>', onSecurity);
      process.stderr.write(`logd: no longer the owner of ${NAME}\n`);
    }
  };

  client.subscribe(`$SYS.owner.${NAME}`, (m) => {
    if (m.from !== 0) return;
    const ev = JSON.parse(new TextDecoder().decode(m.data)) as { new: { id: number } | null };
    setOwner(ev.new?.id === client.id);
  });
  client.on('disconnect', () => setOwner(false));
  await client.flush(); // the $SYS subscriptions are in place before the claim
  const claim = await client.claim(NAME, { queue: true });
  if (claim.result === 'owner' || claim.result === 'already') setOwner(true);
  else
    process.stderr.write(`logd: waiting for the name ${NAME} (owned by client ${claim.owner})\n`);

  const stop = (): void => {
    client.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`logd: ${(err as Error).message}\n`);
  process.exit(1);
});

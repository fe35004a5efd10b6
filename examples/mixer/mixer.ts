// mixer: the daemon of the mixer example, after Mixologist's mixd. It owns the defaults (seeds
// `mixer.volume` and `mixer.programs` when they are missing; after a deletion it writes back the
// last good volume, or an empty list), repairs values written around the rules (`udsbus set
// mixer.volume 7` becomes 1, a non-number goes back to the last good volume, a bad program list
// is cleaned), and answers requests on the name `mixer` for clients that do not speak
// compare-and-set: `@mixer.get`, `@mixer.set V`, `@mixer.shift D`, `@mixer.add-program NAME`,
// `@mixer.remove-program NAME`, each replying with the state as JSON. The CLI and the web page
// change the state themselves, by compare-and-set.
//
//   node dist/examples/mixer/mixer.js [-s SOCKET]
//
// Imports the public client API and node: only.

import { parseArgs } from 'node:util';
import {
  BusError,
  connect,
  ErrorCode,
  type Client,
  type StateEvent,
} from '../../src/client/index.js';
import {
  addProgram,
  DEFAULT_VOLUME,
  formatVolume,
  parseNumber,
  PROGRAMS_KEY,
  readMixer,
  readPrograms,
  readVolume,
  removeProgram,
  setVolume,
  shiftVolume,
  VOLUME_KEY,
  MIXER_KEYS,
} from './state.js';

const NAME = 'mixer';
const utf8 = new TextDecoder();

/** Writes `text` to `key` only if the key is still at `revision`; a conflict means someone was faster. */
async function putIf(client: Client, key: string, text: string, revision: number): Promise<void> {
  try {
    await client.set(key, text, { ifRevision: revision, persist: true });
  } catch (err) {
    if (!(err instanceof BusError && err.code === ErrorCode.CONFLICT)) throw err;
  }
}

/** Keeps the state within the rules: seeds missing keys, repairs bad values. */
function guard(client: Client): void {
  let lastVolume = DEFAULT_VOLUME;
  const check = async (ev: StateEvent): Promise<void> => {
    if (ev.deleted) {
      const text = ev.key === VOLUME_KEY ? formatVolume(lastVolume) : '[]';
      if (ev.key === VOLUME_KEY || ev.key === PROGRAMS_KEY) await putIf(client, ev.key, text, 0);
      return;
    }
    if (ev.key === VOLUME_KEY) {
      const v = readVolume(ev.value);
      const want = formatVolume(v ?? lastVolume);
      if (v !== undefined) lastVolume = v;
      if (want !== utf8.decode(ev.value)) await putIf(client, ev.key, want, ev.revision);
    } else if (ev.key === PROGRAMS_KEY) {
      const { programs, valid } = readPrograms(ev.value);
      if (!valid) await putIf(client, ev.key, JSON.stringify(programs), ev.revision);
    }
  };
  client.watch(MIXER_KEYS, (ev) => {
    check(ev).catch((err: unknown) => {
      process.stderr.write(`mixer: cannot repair ${ev.key}: ${(err as Error).message}\n`);
    });
  });
}

/** The `@mixer.*` requests. */
function serve(client: Client): void {
  const number = (data: Uint8Array): number => {
    const n = parseNumber(utf8.decode(data));
    if (n === undefined) throw new Error(`not a number: ${JSON.stringify(utf8.decode(data))}`);
    return n;
  };
  client.serve(`@${NAME}.>`, async (m) => {
    const method = m.subject.slice(NAME.length + 2);
    const arg = m.data;
    switch (method) {
      case 'get':
        break;
      case 'set':
        await setVolume(client, number(arg));
        break;
      case 'shift':
        await shiftVolume(client, number(arg));
        break;
      case 'add-program':
        await addProgram(client, utf8.decode(arg));
        break;
      case 'remove-program':
        await removeProgram(client, utf8.decode(arg));
        break;
      default:
        throw new Error(
          `${NAME} has no method ${method}: get, set, shift, add-program, remove-program`,
        );
    }
    return JSON.stringify(await readMixer(client));
  });
}

async function main(): Promise<void> {
  let socket: string | undefined;
  try {
    ({
      values: { socket },
    } = parseArgs({ options: { socket: { type: 'string', short: 's' } } }));
  } catch (err) {
    process.stderr.write(`mixer: ${(err as Error).message}\nusage: node mixer.js [-s SOCKET]\n`);
    process.exit(2);
  }
  const client = await connect({ path: socket, name: NAME });
  client.on('error', (err: Error) => process.stderr.write(`mixer: ${err.message}\n`));
  const claim = await client.claim(NAME);
  if (claim.result === 'exists') {
    process.stderr.write(`mixer: another mixer (client ${claim.owner}) owns the name ${NAME}\n`);
    await client.close();
    process.exit(1);
  }
  // Defaults only where nothing is stored: compare-and-set at revision 0.
  await putIf(client, VOLUME_KEY, formatVolume(DEFAULT_VOLUME), 0);
  await putIf(client, PROGRAMS_KEY, '[]', 0);
  guard(client);
  serve(client);
  await client.flush();
  const state = await readMixer(client);
  process.stderr.write(
    `mixer: serving ${NAME}: volume ${formatVolume(state.volume)}, ${state.programs.length} programs\n`,
  );

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
  process.stderr.write(`mixer: ${(err as Error).message}\n`);
  process.exit(1);
});

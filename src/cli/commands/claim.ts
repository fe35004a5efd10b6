// `udsbus claim`: holds a service name while a command runs (or until stopped), waiting in line
// when another client owns it.

import { spawn } from 'node:child_process';
import type { BusError, Msg } from '../../client/index.js';
import { parseOptions, UsageError, type OptionSpecs } from '../../util/args.js';
import {
  SOCKET_OPTION,
  HELP_OPTION,
  note,
  open,
  runUntil,
  type Command,
  type Context,
} from '../command.js';

const options = {
  ...SOCKET_OPTION,
  exec: {
    type: 'string',
    arg: 'CMD',
    help: 'run CMD (/bin/sh) once the name is ours; release it and exit with its code when it ends',
  },
  replace: {
    type: 'boolean',
    help: 'take the name from an owner that allows replacement',
  },
  'allow-replacement': {
    type: 'boolean',
    help: 'let a later --replace claim take the name from us',
  },
  'no-wait': {
    type: 'boolean',
    help: 'exit 1 at once when another client owns the name, instead of waiting in line',
  },
  ...HELP_OPTION,
} as const satisfies OptionSpecs;

/** How long a relayed request may take, ms. */
const RELAY_TIMEOUT_MS = 30_000;

async function run(argv: readonly string[], ctx: Context): Promise<number> {
  const { values, positionals } = parseOptions(argv, options);
  if (positionals.length !== 1) throw new UsageError('claim takes one NAME');
  const name = positionals[0]!;
  const client = await open(values.socket, 'udsbus claim', false);
  client.on('error', (e: BusError) => note(e.message));
  // Ownership changes come on $SYS.owner.NAME: subscribe before claiming, so none is missed.
  let becameOwner = (): void => undefined;
  const owned = new Promise<void>((resolve) => (becameOwner = resolve));
  let lost = (): void => undefined;
  const lostName = new Promise<void>((resolve) => (lost = resolve));
  let mine = false;
  client.subscribe(`$SYS.owner.${name}`, (m: Msg) => {
    const ev = JSON.parse(new TextDecoder().decode(m.data)) as { new: { id: number } | null };
    if (ev.new?.id === client.id) {
      mine = true;
      becameOwner();
    } else if (mine) {
      mine = false;
      lost();
    }
  });
  await client.flush();
  let r;
  try {
    r = await client.claim(name, {
      replace: values.replace === true,
      queue: values['no-wait'] !== true,
      allowReplacement: values['allow-replacement'] === true,
    });
  } catch (err) {
    note((err as Error).message);
    await client.close();
    return 1;
  }
  if (r.result === 'exists') {
    note(`${name} is owned by client ${r.owner}`);
    await client.close();
    return 1;
  }
  if (r.result === 'owner' || r.result === 'already') {
    mine = true;
    becameOwner();
  } else note(`${name} is owned by client ${r.owner}; waiting in line`);
  const stop = await Promise.race([owned.then(() => 'owned' as const), ctx.stopped]);
  if (stop !== 'owned') {
    await client.close();
    return 0;
  }
  note(`${name} is ours (client ${client.id})`);
  // Requests to @NAME[.rest] reach only the owner: relay them to NAME[.rest], where CMD (or any
  // service) answers, and pass its answer or its failure back.
  const relay = async (m: Msg): Promise<Uint8Array> => {
    const r = await client.request(m.subject.slice(1), m.data, { timeoutMs: RELAY_TIMEOUT_MS });
    return r.data;
  };
  client.serve(`@${name}`, relay);
  client.serve(`@${name}.>`, relay);
  let code = 0;
  if (values.exec !== undefined) {
    // Its own process group, so stopping it reaches whatever /bin/sh started.
    const child = spawn('/bin/sh', ['-c', values.exec], {
      stdio: 'inherit',
      detached: true,
      env: { ...process.env, UDSBUS_NAME: name },
    });
    const stopChild = (): void => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
    };
    const exited = new Promise<number>((resolve) =>
      child.on('exit', (c, sig) => resolve(c ?? (sig !== null ? 128 : 1))),
    );
    const why = await Promise.race([
      exited.then(() => 'exited' as const),
      lostName.then(() => 'lost' as const),
      ctx.stopped,
    ]);
    if (why === 'lost') note(`${name} was taken over; CMD keeps running until it ends`);
    if (why !== 'exited' && why !== 'lost') stopChild();
    code = await exited;
  } else {
    const failure = await runUntil(client, ctx, lostName);
    if (failure !== undefined) {
      note(failure.message);
      return 1;
    }
    if (!mine) note(`${name} was taken over`);
  }
  if (mine) await client.release(name).catch(() => false);
  await client.close();
  return code;
}

export const claim: Command = {
  name: 'claim',
  usage: 'NAME [--exec CMD] [options]',
  summary: 'hold a service name (while CMD runs, with --exec)',
  help: `Claims the service name NAME and holds it: until stopped, or while CMD runs with --exec
(the name is released when CMD exits, and claim exits with CMD's code). When another client owns
NAME, claim waits in line and takes over when the name is released or its owner disconnects
(--no-wait: exit 1 instead). Requests to @NAME and @NAME.rest reach only the owner; while it owns
the name, claim relays each of them to the subject NAME or NAME.rest (30 s timeout) and returns
the answer, so CMD serves plain NAME subjects (it gets UDSBUS_NAME in its environment).`,
  options,
  run,
};

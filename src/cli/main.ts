// `udsbus` command line: subcommands built on the client library (and `daemon`, which composes
// the daemon). Exit codes: 0 success, 1 operational failure (one line on stderr), 2 usage error.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  BusError,
  connect,
  defaultSocketPath,
  ErrorCode,
  type Client,
  type Msg,
  type PublishOptions,
} from '../client/index.js';
import { packageVersion } from '../util/version.js';

const SOCKET_HELP =
  '  -s, --socket PATH   bus socket (default: $UDSBUS_SOCKET, $XDG_RUNTIME_DIR/udsbus/bus.sock, /tmp/udsbus-<uid>/bus.sock)';

const MAIN_HELP = `Usage: udsbus <command> [options]

A local message bus over one Unix domain socket.

Commands:
  daemon                         run the bus daemon
  pub SUBJECT [DATA]             publish DATA, or every stdin line as one message
  sub SUBJECT...                 print messages on subjects (wildcards: * one token, > the rest)
  req SUBJECT DATA               send a request, print the reply
  reply SUBJECT --echo|--exec CMD  answer requests
  send CLIENT_ID DATA            send a direct message to one client
  broadcast DATA                 send a message to every other client
  listen                         print direct and broadcast messages for this client
  status                         show the daemon's clients and subjects

Every command takes -s, --socket PATH and -h, --help.
  -V, --version                  print the version
`;

const HELP: Record<string, string> = {
  pub: `Usage: udsbus pub SUBJECT [DATA] [options]

Publishes DATA on SUBJECT; without DATA, every line of stdin is one message.

Options:
${SOCKET_HELP}
  -p, --priority N    0..255 (default 0)
  -H, --header K=V    add a header (repeatable)
  -t, --type N        application type (uint32)
  -h, --help          show this help
`,
  sub: `Usage: udsbus sub SUBJECT... [options]

Prints the payload of each message on SUBJECT (one line each). When the subscription is
active, "udsbus: subscribed to SUBJECT" is printed on stderr.

Options:
${SOCKET_HELP}
  -c, --count N       exit after N messages
  -q, --queue G       join queue group G (each message goes to one member)
      --json          print JSON lines: {"subject","data","from","id","priority"}
      --on-slow P     drop-oldest | drop-newest | disconnect (default disconnect)
  -h, --help          show this help
`,
  req: `Usage: udsbus req SUBJECT DATA [options]

Sends a request to one responder and prints the reply.

Options:
${SOCKET_HELP}
      --timeout MS    how long to wait for the reply (default 5000)
  -h, --help          show this help
`,
  reply: `Usage: udsbus reply SUBJECT (--echo | --exec CMD) [options]

Answers requests on SUBJECT: --echo returns the request payload; --exec runs CMD with
/bin/sh, the request payload on its stdin, and replies with its stdout (a non-zero exit
becomes an error reply carrying its stderr).

Options:
${SOCKET_HELP}
      --echo          reply with the request payload
      --exec CMD      reply with CMD's output
  -q, --queue G       share requests with other responders of group G
  -c, --count N       exit after answering N requests
  -h, --help          show this help
`,
  send: `Usage: udsbus send CLIENT_ID DATA [options]

Sends DATA directly to one client (see \`udsbus status\` or \`udsbus listen\` for ids).

Options:
${SOCKET_HELP}
  -p, --priority N    0..255 (default 0)
  -h, --help          show this help
`,
  broadcast: `Usage: udsbus broadcast DATA [options]

Sends DATA to every other connected client.

Options:
${SOCKET_HELP}
  -p, --priority N    0..255 (default 0)
  -h, --help          show this help
`,
  listen: `Usage: udsbus listen [options]

Prints direct and broadcast messages sent to this client. The first stderr line is
"client id N": the id to pass to \`udsbus send\`.

Options:
${SOCKET_HELP}
  -c, --count N       exit after N messages
      --json          print JSON lines: {"data","from","id","broadcast"}
  -h, --help          show this help
`,
  status: `Usage: udsbus status [options]

Shows the daemon's version, uptime, clients and subjects.

Options:
${SOCKET_HELP}
      --json          print the status as JSON
  -h, --help          show this help
`,
};

/** A usage error: exit code 2. */
class UsageError extends Error {}

const socketOpt = {
  socket: { type: 'string', short: 's' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parse<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({
      args: argv,
      options: { ...socketOpt, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function positiveInt(
  v: string | undefined,
  name: string,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw new UsageError(`${name} must be an integer from 0 to ${max}, got ${JSON.stringify(v)}`);
  return n;
}

function publishOptions(values: {
  priority?: string | undefined;
  header?: string[] | undefined;
  type?: string | undefined;
}): PublishOptions {
  const opts: PublishOptions = {};
  const p = positiveInt(values.priority, '--priority', 255);
  if (p !== undefined) opts.priority = p;
  const t = positiveInt(values.type, '--type', 0xffffffff);
  if (t !== undefined) opts.type = t;
  if (values.header !== undefined) {
    const headers: Record<string, string> = {};
    for (const h of values.header) {
      const eq = h.indexOf('=');
      if (eq <= 0) throw new UsageError(`--header wants K=V, got ${JSON.stringify(h)}`);
      headers[h.slice(0, eq)] = h.slice(eq + 1);
    }
    opts.headers = headers;
  }
  return opts;
}

function open(socket: string | undefined, name: string, reconnect = false): Promise<Client> {
  return connect({ path: socket ?? defaultSocketPath(), name, reconnect });
}

const decoder = new TextDecoder();

function text(data: Uint8Array): string {
  return decoder.decode(data);
}

function jsonData(data: Uint8Array): Record<string, string> {
  try {
    return { data: new TextDecoder('utf-8', { fatal: true }).decode(data) };
  } catch {
    return { data_base64: Buffer.from(data).toString('base64') };
  }
}

function out(line: string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(line + '\n')) resolve();
    else process.stdout.once('drain', resolve);
  });
}

function note(line: string): void {
  process.stderr.write(`udsbus: ${line}\n`);
}

/** Resolves on SIGINT/SIGTERM (and removes its listeners). */
function untilSignal(): { promise: Promise<void>; cancel: () => void } {
  let cancel = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    const on = (): void => {
      cancel();
      resolve();
    };
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
    cancel = () => {
      process.removeListener('SIGINT', on);
      process.removeListener('SIGTERM', on);
    };
  });
  return { promise, cancel };
}

// ---------------------------------------------------------------------------------------------

async function pub(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    priority: { type: 'string', short: 'p' },
    header: { type: 'string', short: 'H', multiple: true },
    type: { type: 'string', short: 't' },
  });
  if (values.help === true) return help('pub');
  if (positionals.length < 1 || positionals.length > 2)
    throw new UsageError('pub takes SUBJECT and optional DATA');
  const subject = positionals[0]!;
  const opts = publishOptions(values);
  const client = await open(values.socket, 'udsbus pub');
  try {
    if (positionals.length === 2) client.publish(subject, positionals[1]!, opts);
    else {
      const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
      for await (const line of rl) {
        if (!client.publish(subject, line, opts)) await new Promise((r) => client.once('drain', r));
      }
    }
    await client.flush();
    const m = client.metrics();
    if (m.dropped + m.failed > 0)
      throw new BusError(
        ErrorCode.DISCONNECTED,
        `${m.dropped + m.failed} messages were not delivered to the daemon`,
      );
  } finally {
    await client.close();
  }
  return 0;
}

async function sub(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    count: { type: 'string', short: 'c' },
    queue: { type: 'string', short: 'q' },
    json: { type: 'boolean' },
    'on-slow': { type: 'string' },
  });
  if (values.help === true) return help('sub');
  if (positionals.length === 0) throw new UsageError('sub takes at least one SUBJECT');
  const count = positiveInt(values.count, '--count');
  const onSlow = values['on-slow'];
  if (
    onSlow !== undefined &&
    onSlow !== 'drop-oldest' &&
    onSlow !== 'drop-newest' &&
    onSlow !== 'disconnect'
  ) {
    throw new UsageError('--on-slow must be drop-oldest, drop-newest or disconnect');
  }
  const client = await open(values.socket, 'udsbus sub', true);
  client.on('disconnect', (e: BusError) => note(`disconnected (${e.message}); reconnecting`));
  client.on('reconnect', () => note('reconnected'));
  let seen = 0;
  let finish = (): void => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const stop = untilSignal();
  const onMsg = (msg: Msg): void => {
    if (count !== undefined && seen >= count) return;
    seen++;
    const line =
      values.json === true
        ? JSON.stringify({
            subject: msg.subject,
            ...jsonData(msg.data),
            from: msg.from,
            id: msg.id,
            priority: msg.priority,
            ...(msg.headers === undefined ? {} : { headers: msg.headers }),
          })
        : text(msg.data);
    process.stdout.write(line + '\n');
    if (count !== undefined && seen >= count) finish();
  };
  for (const subject of positionals) {
    const s = client.subscribe(subject, onMsg, {
      ...(values.queue === undefined ? {} : { queue: values.queue }),
      ...(onSlow === undefined ? {} : { onSlow }),
    });
    s.on('gap', (g: { subject: string; lost: number; firstId: number; lastId: number }) => {
      if (values.json === true) process.stdout.write(JSON.stringify({ gap: g }) + '\n');
      else note(`gap: ${g.lost} messages lost on ${g.subject}`);
    });
  }
  await client.flush();
  note(`subscribed to ${positionals.join(' ')}`);
  if (count === 0) finish();
  const closed = new Promise<BusError | undefined>((resolve) => client.once('close', resolve));
  const result = await Promise.race([
    done.then(() => 'done' as const),
    stop.promise.then(() => 'signal' as const),
    closed,
  ]);
  stop.cancel();
  if (result instanceof BusError) {
    note(result.message);
    return 1;
  }
  await client.close();
  await new Promise<void>((r) => process.stdout.write('', () => r()));
  return 0;
}

async function req(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { timeout: { type: 'string' } });
  if (values.help === true) return help('req');
  if (positionals.length !== 2) throw new UsageError('req takes SUBJECT and DATA');
  const timeoutMs = positiveInt(values.timeout, '--timeout') ?? 5000;
  if (timeoutMs === 0) throw new UsageError('--timeout must be positive');
  const client = await open(values.socket, 'udsbus req');
  try {
    const reply = await client.request(positionals[0]!, positionals[1]!, { timeoutMs });
    const s = text(reply.data);
    await out(s.endsWith('\n') ? s.slice(0, -1) : s);
  } finally {
    await client.close({ drainTimeoutMs: 0 });
  }
  return 0;
}

function runExec(cmd: string, input: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', cmd], { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => stderr.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(stdout));
      else
        reject(
          new Error(Buffer.concat(stderr).toString().trim() || `command exited with code ${code}`),
        );
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

async function reply(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    echo: { type: 'boolean' },
    exec: { type: 'string' },
    queue: { type: 'string', short: 'q' },
    count: { type: 'string', short: 'c' },
  });
  if (values.help === true) return help('reply');
  if (positionals.length !== 1) throw new UsageError('reply takes one SUBJECT');
  if ((values.echo === true) === (values.exec !== undefined))
    throw new UsageError('reply needs exactly one of --echo or --exec CMD');
  const count = positiveInt(values.count, '--count');
  const client = await open(values.socket, 'udsbus reply', true);
  client.on('disconnect', (e: BusError) => note(`disconnected (${e.message}); reconnecting`));
  let answered = 0;
  let finish = (): void => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const exec = values.exec;
  client.serve(
    positionals[0]!,
    async (msg) => {
      const result = exec === undefined ? msg.data : await runExec(exec, msg.data);
      answered++;
      if (count !== undefined && answered >= count) setImmediate(finish);
      return result;
    },
    values.queue === undefined ? {} : { queue: values.queue },
  );
  await client.flush();
  note(`serving ${positionals[0]!}`);
  const stop = untilSignal();
  const closed = new Promise<BusError | undefined>((resolve) => client.once('close', resolve));
  const result = await Promise.race([done, stop.promise, closed]);
  stop.cancel();
  if (result instanceof BusError) {
    note(result.message);
    return 1;
  }
  await client.close();
  return 0;
}

/** Sends one direct or broadcast message and waits for the daemon to accept it. */
async function direct(argv: string[], broadcast: boolean): Promise<number> {
  const { values, positionals } = parse(argv, { priority: { type: 'string', short: 'p' } });
  if (values.help === true) return help(broadcast ? 'broadcast' : 'send');
  if (positionals.length !== (broadcast ? 1 : 2))
    throw new UsageError(broadcast ? 'broadcast takes DATA' : 'send takes CLIENT_ID and DATA');
  let to = 0;
  if (!broadcast) {
    to = positiveInt(positionals[0], 'CLIENT_ID', 0xffffffff) ?? 0;
    if (to === 0) throw new UsageError('CLIENT_ID must be a positive integer');
  }
  const opts = publishOptions(values);
  const client = await open(values.socket, broadcast ? 'udsbus broadcast' : 'udsbus send');
  let failure: BusError | undefined;
  client.on('error', (e: BusError) => (failure = e));
  try {
    if (broadcast) client.broadcast(positionals[0]!, opts);
    else client.send(to, positionals[1]!, opts);
    await client.flush(); // errors for the send arrive before the PONG
  } finally {
    await client.close();
  }
  if (failure !== undefined) throw failure;
  return 0;
}

async function listen(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    count: { type: 'string', short: 'c' },
    json: { type: 'boolean' },
  });
  if (values.help === true) return help('listen');
  const count = positiveInt(values.count, '--count');
  const client = await open(values.socket, 'udsbus listen');
  process.stderr.write(`client id ${client.id}\n`);
  let seen = 0;
  let finish = (): void => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  client.onDirect((msg) => {
    if (count !== undefined && seen >= count) return;
    seen++;
    const broadcast = (msg.flags & 0x08) !== 0;
    process.stdout.write(
      (values.json === true
        ? JSON.stringify({ ...jsonData(msg.data), from: msg.from, id: msg.id, broadcast })
        : text(msg.data)) + '\n',
    );
    if (count !== undefined && seen >= count) finish();
  });
  if (count === 0) finish();
  const stop = untilSignal();
  const closed = new Promise<BusError | undefined>((resolve) => client.once('close', resolve));
  const result = await Promise.race([done, stop.promise, closed]);
  stop.cancel();
  if (result instanceof BusError) {
    note(result.message);
    return 1;
  }
  await client.close();
  return 0;
}

interface StatusShape {
  server: string;
  version: string;
  protocol: number;
  uptimeMs: number;
  clients: {
    id: number;
    name: string;
    pid: number | null;
    subscriptions: number;
    queuedBytes: number;
    dropped: number;
  }[];
  subjects: { subject: string; subscribers: number; responders: number }[];
  totals: { msgsIn: number; msgsDelivered: number; dropped: number; pendingRequests: number };
}

function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return [d > 0 ? `${d}d` : '', h > 0 ? `${h}h` : '', m > 0 ? `${m}m` : '', `${s % 60}s`]
    .filter(Boolean)
    .join(' ');
}

function table(rows: (string | number)[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows
    .map(
      (r) =>
        '  ' +
        r
          .map((c, i) => String(c).padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
    )
    .join('\n');
}

async function status(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
  if (values.help === true) return help('status');
  if (positionals.length > 0) throw new UsageError('status takes no arguments');
  const path = values.socket ?? defaultSocketPath();
  const client = await open(path, 'udsbus status');
  let st: StatusShape;
  try {
    st = (await client.call('status')) as StatusShape;
  } finally {
    await client.close({ drainTimeoutMs: 0 });
  }
  // Leave out the status client itself.
  st.clients = st.clients.filter((c) => c.id !== client.id);
  if (values.json === true) {
    await out(JSON.stringify({ ...st, socket: path }, null, 2));
    return 0;
  }
  const lines = [
    `${st.server} ${st.version} (protocol ${st.protocol}) on ${path}, up ${duration(st.uptimeMs)}`,
    `messages: ${st.totals.msgsIn} in, ${st.totals.msgsDelivered} delivered, ${st.totals.dropped} dropped; ${st.totals.pendingRequests} requests pending`,
    `clients: ${st.clients.length}`,
  ];
  if (st.clients.length > 0) {
    lines.push(
      table([
        ['ID', 'NAME', 'PID', 'SUBS', 'QUEUED', 'DROPPED'],
        ...st.clients.map((c) => [
          c.id,
          c.name || '-',
          c.pid ?? '-',
          c.subscriptions,
          c.queuedBytes,
          c.dropped,
        ]),
      ]),
    );
  }
  lines.push(`subjects: ${st.subjects.length}`);
  if (st.subjects.length > 0) {
    lines.push(
      table([
        ['SUBJECT', 'SUBSCRIBERS', 'RESPONDERS'],
        ...st.subjects.map((s) => [s.subject, s.subscribers, s.responders]),
      ]),
    );
  }
  await out(lines.join('\n'));
  return 0;
}

function help(cmd: string): number {
  process.stdout.write(HELP[cmd] ?? MAIN_HELP);
  return 0;
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(
          rest[0] !== undefined && HELP[rest[0]] !== undefined ? HELP[rest[0]]! : MAIN_HELP,
        );
        return cmd === undefined ? 2 : 0;
      case '-V':
      case '--version':
        process.stdout.write(`udsbus ${packageVersion()}\n`);
        return 0;
      case 'daemon': {
        const { daemonMain } = await import('../daemon/daemon.js');
        return await daemonMain(rest);
      }
      case 'pub':
        return await pub(rest);
      case 'sub':
        return await sub(rest);
      case 'req':
        return await req(rest);
      case 'reply':
        return await reply(rest);
      case 'send':
        return await direct(rest, false);
      case 'broadcast':
        return await direct(rest, true);
      case 'listen':
        return await listen(rest);
      case 'status':
        return await status(rest);
      default:
        throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(
        `udsbus: ${err.message}\nRun 'udsbus ${cmd !== undefined && HELP[cmd] !== undefined ? cmd + ' ' : ''}--help' for usage.\n`,
      );
      return 2;
    }
    if (err instanceof BusError) {
      note(err.message);
      return 1;
    }
    if (err instanceof RangeError || err instanceof TypeError) {
      process.stderr.write(`udsbus: ${err.message}\n`);
      return 2;
    }
    note(`unexpected error: ${(err as Error).stack ?? String(err)}`);
    return 1;
  }
}

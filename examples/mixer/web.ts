// mixer-web: the mixer's web page on 127.0.0.1 (loopback only), a bus client like any other.
// GET / is the page (page.ts), GET /events a Server-Sent Events stream of the state (an event
// `state` with { volume, programs, revision } at once, then after every change, fed by one
// `watch('mixer.*')`), POST /volume sets the volume (body: a number) by compare-and-set.
// Requests naming another Host, and POSTs from another Origin, are refused: a web site the
// browser visits cannot reach the mixer through it (DNS rebinding, cross-site POSTs).
//
//   node dist/examples/mixer/web.js [-s SOCKET] [--port N (8080; 0: any free port)]
//
// Imports the public client API and node: only.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { connect, type Client } from '../../src/client/index.js';
import { PAGE } from './page.js';
import {
  DEFAULT_VOLUME,
  MIXER_KEYS,
  parseNumber,
  PROGRAMS_KEY,
  readPrograms,
  readVolume,
  setVolume,
  VOLUME_KEY,
  type MixerState,
} from './state.js';

const HOST = '127.0.0.1';
const MAX_BODY = 64;
const HEARTBEAT_MS = 15_000;

/** The state as the watch last reported it, and the SSE streams to tell about each change. */
class LiveState {
  state: MixerState = { volume: DEFAULT_VOLUME, programs: [] };
  /** The newest revision seen per key: an older event (a reconnect replay) changes nothing. */
  readonly #revisions = new Map<string, number>();
  readonly streams = new Set<ServerResponse>();

  constructor(client: Client) {
    client.watch(MIXER_KEYS, (ev) => {
      if ((this.#revisions.get(ev.key) ?? 0) > ev.revision) return;
      this.#revisions.set(ev.key, ev.revision);
      if (ev.key === VOLUME_KEY) {
        const v = readVolume(ev.deleted ? undefined : ev.value);
        if (v === undefined) return; // the mixer daemon repairs it; the page keeps the last good one
        this.state = { ...this.state, volume: v };
      } else if (ev.key === PROGRAMS_KEY) {
        this.state = { ...this.state, programs: readPrograms(ev.value).programs };
      } else return;
      const event = this.event();
      for (const res of this.streams) res.write(event);
    });
  }

  /** The state as one SSE event. */
  event(): string {
    const revision = Math.max(0, ...this.#revisions.values());
    return `event: state\ndata: ${JSON.stringify({ ...this.state, revision })}\n\n`;
  }
}

function reply(res: ServerResponse, status: number, body: string, type = 'text/plain'): void {
  res.writeHead(status, {
    'content-type': `${type}; charset=utf-8`,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
}

/** The request body as text, or undefined past MAX_BODY bytes (the rest is read and dropped). */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () =>
      resolve(size > MAX_BODY ? undefined : Buffer.concat(chunks).toString('utf8')),
    );
    req.on('error', reject);
  });
}

function handler(client: Client, live: LiveState, port: () => number) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const hosts = [`${HOST}:${port()}`, `localhost:${port()}`];
    if (!hosts.includes(req.headers.host ?? '')) return reply(res, 421, 'wrong Host\n');
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    if (req.method === 'GET' && url.pathname === '/') {
      res.setHeader(
        'content-security-policy',
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
      );
      return reply(res, 200, PAGE, 'text/html');
    }
    if (req.method === 'GET' && url.pathname === '/events') {
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      res.write(`retry: 1000\n${live.event()}`);
      live.streams.add(res);
      const beat = setInterval(() => res.write(': keepalive\n\n'), HEARTBEAT_MS);
      res.on('close', () => {
        clearInterval(beat);
        live.streams.delete(res);
      });
      return;
    }
    if (req.method === 'POST' && url.pathname === '/volume') {
      const origin = req.headers.origin;
      if (origin !== undefined && !hosts.map((h) => `http://${h}`).includes(origin))
        return reply(res, 403, 'cross-origin POST refused\n');
      const body = await readBody(req);
      const v = body === undefined ? undefined : parseNumber(body);
      if (v === undefined) return reply(res, 400, 'send the volume as a number, 0..1\n');
      const stored = await setVolume(client, v);
      return reply(res, 200, `${JSON.stringify({ volume: stored })}\n`, 'application/json');
    }
    reply(res, 404, 'not found\n');
  };
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: { socket: { type: 'string', short: 's' }, port: { type: 'string', short: 'p' } },
    }));
  } catch (err) {
    process.stderr.write(`mixer-web: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const port = Number(values.port ?? '8080');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`mixer-web: --port must be 0..65535\n`);
    process.exit(2);
  }
  const client = await connect({ path: values.socket, name: 'mixer-web' });
  client.on('error', (err: Error) => process.stderr.write(`mixer-web: ${err.message}\n`));
  const live = new LiveState(client);
  await client.flush();

  const server = createServer();
  const handle = handler(client, live, () => (server.address() as AddressInfo).port);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) reply(res, 500, `${(err as Error).message}\n`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  process.stderr.write(`mixer-web: listening on http://${HOST}:${bound}/\n`);

  const stop = (): void => {
    for (const res of live.streams) res.end();
    server.close();
    client.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`mixer-web: ${(err as Error).message}\n`);
  process.exit(1);
});

// node-ipc bus server for the peer suite: node-ipc has no broker, so this is the smallest one
// built on its event API: `sub`/`pub` fan-out, `serve`/`req`/`rep` routing, `ping`/`pong`.
// Usage: node node-ipc-server.js SOCKET_PATH (prints "ready" when listening).
import type { Socket } from 'node:net';
import { IPCModule } from 'node-ipc';

const path = process.argv[2];
if (!path) throw new Error('usage: node-ipc-server SOCKET_PATH');

interface Req {
  id: number;
  d: string;
}

const ipc = new IPCModule();
ipc.config.silent = true;
ipc.config.maxConnections = 100_000;
ipc.config.unlink = true;

const subs = new Set<Socket>();
let responder: Socket | undefined;
const pending = new Map<number, { socket: Socket; id: number }>();
let nextKey = 1;

ipc.serve(path, () => {
  const server = ipc.server;
  server.on('sub', (_d, socket) => {
    subs.add(socket);
    server.emit(socket, 'subok', {});
  });
  server.on('pub', (d, _socket) => {
    for (const s of subs) server.emit(s, 'msg', d);
  });
  server.on('ping', (d, socket) => server.emit(socket, 'pong', d));
  server.on('serve', (_d, socket) => {
    responder = socket;
    server.emit(socket, 'serveok', {});
  });
  server.on('req', (d: Req, socket) => {
    if (!responder) return;
    const key = nextKey++;
    pending.set(key, { socket, id: d.id });
    server.emit(responder, 'req', { id: key, d: d.d });
  });
  server.on('rep', (d: Req, _socket) => {
    const p = pending.get(d.id);
    if (!p) return;
    pending.delete(d.id);
    server.emit(p.socket, 'rep', { id: p.id, d: d.d });
  });
  server.on('socket.disconnected', (socket: Socket) => {
    subs.delete(socket);
    if (responder === socket) responder = undefined;
  });
  process.stdout.write('ready\n');
});
ipc.server.start();
process.on('SIGTERM', () => process.exit(0));

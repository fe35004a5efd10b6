// Raw Node relay, the ceiling for a broker in Node: length-prefixed frames forwarded as-is,
// no routing. Side A (publishers, requesters) goes to every side-B connection (subscribers,
// responders) and back. Usage: node raw-relay.js SOCKET_PATH (prints "ready" when listening).
import { createServer, type Socket } from 'node:net';
import { DAEMON_SOCK_BUF, setSendBuffer } from '../../../src/transport/sock-buf.js';
import { FrameSplitter, ROLE } from '../adapters/raw-frames.js';

const path = process.argv[2];
if (!path) throw new Error('usage: raw-relay SOCKET_PATH');
const sideA = new Set<Socket>();
const sideB = new Set<Socket>();
const ACK = Buffer.from([0]);

const server = createServer((sock) => {
  // The same send buffer udsbus asks for, so the ceiling is measured under the same conditions.
  setSendBuffer(sock, DAEMON_SOCK_BUF);
  let peers: Set<Socket> | undefined;
  const splitter = new FrameSplitter();
  // Forward whole frames only; pause the source while any destination is full.
  const forward = (region: Buffer): void => {
    if (!peers) return;
    for (const p of peers) {
      if (!p.write(region) && !sock.isPaused()) {
        sock.pause();
        p.once('drain', () => sock.resume());
      }
    }
  };
  sock.on('data', (chunk: Buffer) => {
    let data = chunk;
    if (peers === undefined) {
      const role = data[0];
      if (role === ROLE.A) {
        sideA.add(sock);
        peers = sideB;
      } else if (role === ROLE.B) {
        sideB.add(sock);
        peers = sideA;
      } else {
        peers = new Set();
      }
      sock.write(ACK);
      data = data.subarray(1);
    }
    splitter.push(data, forward);
  });
  const drop = (): void => {
    sideA.delete(sock);
    sideB.delete(sock);
  };
  sock.on('close', drop);
  sock.on('error', drop);
});
server.listen(path, () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));

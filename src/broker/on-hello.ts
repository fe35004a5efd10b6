// HELLO: the handshake. Checks the version, records the client's name and pid, answers with
// the daemon's HELLO (id and limits) and announces `$SYS.connect`. Imports protocol/, broker/.

import { ErrorCode } from '../protocol/errors.js';
import { PROTOCOL_VERSION } from '../protocol/constants.js';
import { decodeClientHello, encodeHello, helloVersion } from '../protocol/control-frames.js';
import type { BrokerCore } from './core.js';
import type { Session } from './session.js';
import { sysConnect } from './sys-events.js';

export function onHello(core: BrokerCore, s: Session, body: Uint8Array): void {
  const version = helloVersion(body);
  if (version !== PROTOCOL_VERSION) {
    core.fail(
      s,
      ErrorCode.VERSION,
      `protocol version ${version} is not supported; this daemon speaks version ${PROTOCOL_VERSION}`,
      { client: version, server: PROTOCOL_VERSION },
    );
    return;
  }
  const hello = decodeClientHello(body);
  const o = core.options;
  o.clock.clearTimeout(s.ready(hello.name, hello.pid));
  s.decoder.maxFrame = o.maxFrame;
  core.push(
    s,
    encodeHello(PROTOCOL_VERSION, {
      server: 'udsbus',
      version: o.serverVersion,
      id: s.id,
      maxFrame: o.maxFrame,
      pingMs: o.pingMs,
      maxQueueBytes: o.maxQueueBytes,
      maxQueueMsgs: o.maxQueueMsgs,
    }),
  );
  const peer = s.conn.peer;
  const who = peer === undefined ? `pid ${s.pid ?? '?'}` : `pid ${peer.pid}, uid ${peer.uid}`;
  o.log(`client ${s.id} connected (name ${JSON.stringify(s.name)}, ${who})`);
  sysConnect(core, s);
}

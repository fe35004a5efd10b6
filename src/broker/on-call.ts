// CALL: control calls to the daemon itself (the command table in commands.ts, `name.*` in
// on-names.ts, `state.*` in on-state.ts); anything else gets a CALL_REPLY with
// BUS_ERR_UNKNOWN_OP. Imports only protocol/ and broker/.

import { ErrorCode } from '../protocol/errors.js';
import { decodeCall, encodeCallReply } from '../protocol/control-frames.js';
import type { BrokerCore } from './core.js';
import type { Session } from './session.js';
import { isStateOp, onStateCall } from './on-state.js';
import { DAEMON_COMMANDS } from './commands.js';
import { nameCall } from './on-names.js';

/** CALL from `s`. */
export function onCall(core: BrokerCore, s: Session, body: Uint8Array): void {
  const call = decodeCall(body);
  const cid = call.cid;
  if (call.op.startsWith('name.')) {
    core.answerCall(s, cid, () => nameCall(core, s, call.op, call.args));
    return;
  }
  if (isStateOp(call.op)) {
    onStateCall(core, s, cid, call.op, call.args);
    return;
  }
  const command = Object.hasOwn(DAEMON_COMMANDS, call.op) ? DAEMON_COMMANDS[call.op] : undefined;
  if (command === undefined) {
    core.reply(
      s,
      encodeCallReply({
        cid,
        ok: false,
        result: undefined,
        code: ErrorCode.UNKNOWN_OP,
        message: `unknown control operation ${JSON.stringify(call.op)}`,
      }),
    );
    return;
  }
  core.answerCall(s, cid, () => command(core, s, call.args));
}

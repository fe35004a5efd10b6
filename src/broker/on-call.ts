// CALL: control calls to the daemon itself (the command table in commands.ts, `name.*` in
// on-names.ts, `state.*` in on-state.ts); anything else gets a CALL_REPLY with
// BUS_ERR_UNKNOWN_OP. Imports only protocol/ and broker/.

import { BusError, ErrorCode, isWireErrorCode } from '../protocol/errors.js';
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
    answer(core, s, cid, () => nameCall(core, s, call.op, call.args));
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
  answer(core, s, cid, () => command(core, s, call.args));
}

/** CALL_REPLY with what `run` returns, or the BusError it throws (code and message). */
function answer(core: BrokerCore, s: Session, cid: number, run: () => unknown): void {
  let reply;
  try {
    reply = encodeCallReply({ cid, ok: true, result: run() });
  } catch (err) {
    if (!(err instanceof BusError)) throw err;
    const code = isWireErrorCode(err.code) ? err.code : ErrorCode.PROTOCOL;
    reply = encodeCallReply({ cid, ok: false, result: undefined, code, message: err.message });
  }
  core.reply(s, reply);
}

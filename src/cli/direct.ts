// Sends one direct or broadcast message and waits for the daemon to accept it (send, broadcast).
// Imports client/ types and ./command.

import type { BusError, PublishOptions } from '../client/index.js';
import { open } from './command.js';

/** Sends `data` to client `to` (0: broadcast); throws the daemon's error, if any. */
export async function sendOne(
  socket: string | undefined,
  to: number,
  data: Uint8Array,
  opts: PublishOptions,
): Promise<number> {
  const client = await open(socket, to === 0 ? 'udsbus broadcast' : 'udsbus send');
  let failure: BusError | undefined;
  client.on('error', (e: BusError) => (failure = e));
  try {
    if (to === 0) client.broadcast(data, opts);
    else client.send(to, data, opts);
    await client.flush(); // errors for the send arrive before the PONG
  } finally {
    await client.close();
  }
  if (failure !== undefined) throw failure;
  return 0;
}

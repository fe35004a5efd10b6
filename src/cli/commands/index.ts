// Every `udsbus` subcommand, in the order help lists them (`daemon` is routed by bin/udsbus.js).

import type { Command } from '../command.js';
import { broadcast } from './broadcast.js';
import { check } from './check.js';
import { claim } from './claim.js';
import { del } from './del.js';
import { echo } from './echo.js';
import { get } from './get.js';
import { keys } from './keys.js';
import { listen } from './listen.js';
import { monitor } from './monitor.js';
import { names } from './names.js';
import { pub } from './pub.js';
import { reply } from './reply.js';
import { req } from './req.js';
import { send } from './send.js';
import { set } from './set.js';
import { status } from './status.js';
import { source } from './source.js';
import { sub } from './sub.js';
import { timer } from './timer.js';
import { trigger } from './trigger.js';
import { top } from './top.js';
import { watch } from './watch.js';

export const COMMANDS: readonly Command[] = [
  pub,
  sub,
  req,
  reply,
  send,
  broadcast,
  listen,
  claim,
  names,
  monitor,
  check,
  top,
  set,
  get,
  watch,
  del,
  keys,
  timer,
  trigger,
  source,
  echo,
  status,
];

/** The command called `name` (or one of its aliases). */
export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name || c.aliases?.includes(name) === true);
}

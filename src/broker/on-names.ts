// The `name.*` control calls: claim, release, list and owner of service names (names.ts), with
// `$SYS.owner.<name>` announcing every change. Imports only protocol/ and broker/.

import { BusError, ErrorCode } from '../protocol/errors.js';
import type { BrokerCore } from './core.js';
import { NameLimitError, nameProblem, type OwnerChange } from './names.js';
import type { Session } from './session.js';
import { sysEvent } from './sys-events.js';

type Args = Record<string, unknown>;

/** The answer to a `name.*` call from `s`; throws BusError for a bad argument or a limit. */
export function nameCall(core: BrokerCore, s: Session, op: string, args: Args): unknown {
  const names = core.names;
  switch (op) {
    case 'name.claim': {
      const name = nameArg(args);
      core.permit(s, 'own', name);
      const opts = {
        replace: flag(args, 'replace'),
        queue: flag(args, 'queue'),
        allowReplacement: flag(args, 'allowReplacement'),
      };
      try {
        return names.claim(s, name, opts, (c) => announce(core, c));
      } catch (err) {
        if (err instanceof NameLimitError) throw new BusError(ErrorCode.LIMIT, err.message);
        throw err;
      }
    }
    case 'name.release':
      return { released: names.release(s, nameArg(args), (c) => announce(core, c)) };
    case 'name.owner': {
      const name = nameArg(args);
      const owner = names.owner(name);
      if (owner === undefined) {
        throw new BusError(ErrorCode.NOT_FOUND, `nobody owns the name ${name}`, {
          detail: { name },
        });
      }
      return { id: owner.id, name: owner.name };
    }
    case 'name.list':
      return names.list().map((n) => ({
        name: n.name,
        owner: n.owner.id,
        ownerName: n.owner.name,
        queue: n.queue.map((q) => q.id),
      }));
    default:
      throw new BusError(ErrorCode.UNKNOWN_OP, `unknown control operation ${JSON.stringify(op)}`);
  }
}

/** Every name `s` held passes on (it disconnected). */
export function dropNames(core: BrokerCore, s: Session): void {
  core.names.dropSession(s, (c) => announce(core, c));
}

function announce(core: BrokerCore, c: OwnerChange): void {
  const who = (x: Session | null): { id: number; name: string } | null =>
    x === null ? null : { id: x.id, name: x.name };
  core.options.log(
    `name ${c.name}: ${c.old === null ? 'free' : `client ${c.old.id}`} -> ${c.new === null ? 'free' : `client ${c.new.id}`}`,
  );
  sysEvent(core, `$SYS.owner.${c.name}`, { name: c.name, old: who(c.old), new: who(c.new) });
}

function nameArg(args: Args): string {
  const name = args['name'];
  if (typeof name !== 'string') {
    throw new BusError(ErrorCode.PROTOCOL, 'name.*: `name` must be a text string');
  }
  const problem = nameProblem(name);
  if (problem !== null) throw new BusError(ErrorCode.BAD_SUBJECT, problem, { detail: { name } });
  return name;
}

function flag(args: Args, key: string): boolean {
  const v = args[key];
  if (v === undefined) return false;
  if (typeof v !== 'boolean')
    throw new BusError(ErrorCode.PROTOCOL, `name.claim: \`${key}\` must be a boolean`);
  return v;
}

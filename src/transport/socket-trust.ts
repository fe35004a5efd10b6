// Whether this user may trust a socket path: its folder and the socket itself belong to this
// uid or root, the folder is no symlink, and nobody else can replace what is in it. Used by the
// daemon before it listens and by clients before they connect. Imports node:fs and node:path.

import { lstatSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';

const STICKY = 0o1000;

function owner(st: Stats, uid: number): string | null {
  return st.uid === uid || st.uid === 0
    ? null
    : `belongs to uid ${st.uid}, not to you (${uid}) or root`;
}

function mode(st: Stats): string {
  return (st.mode & 0o7777).toString(8).padStart(4, '0');
}

/**
 * Why the folder `dir` cannot hold a trusted socket, or null when it can (or does not exist).
 * Refused: a symlink, a folder of another user, a folder others may write to (unless sticky,
 * like /tmp, where only an entry's owner can replace it).
 */
export function folderProblem(dir: string, uid: number): string | null {
  let st: Stats;
  try {
    st = lstatSync(dir);
  } catch {
    return null;
  }
  if (st.isSymbolicLink()) return `socket folder ${dir} is a symbolic link`;
  if (!st.isDirectory()) return `${dir} is not a folder`;
  const who = owner(st, uid);
  if (who !== null) return `socket folder ${dir} ${who}`;
  if ((st.mode & 0o022) !== 0 && (st.mode & STICKY) === 0)
    return `socket folder ${dir} is writable by other users (mode ${mode(st)})`;
  return null;
}

/**
 * Why a client should not connect to the socket at `path`, or null. Checks the folder as
 * folderProblem does, and that the socket belongs to this user or root (a socket of another
 * user means someone else's daemon would receive this user's traffic).
 */
export function socketProblem(path: string, uid: number): string | null {
  const dirIssue = folderProblem(dirname(path), uid);
  if (dirIssue !== null) return dirIssue;
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch {
    return null; // missing: the connect itself reports it
  }
  if (!st.isSocket()) return `${path} is not a socket`;
  const who = owner(st, uid);
  return who === null ? null : `socket ${path} ${who}`;
}

/** This process's uid (0 where the platform has none). */
export function currentUid(): number {
  return process.getuid?.() ?? 0;
}

// How an event source reads its bytes, one reader per kind of file descriptor:
// - a FIFO is opened O_RDWR|O_NONBLOCK (the daemon holds a write end too, so a writer closing is
//   not an end of file; Linux allows it) and read through net.Socket: epoll readiness, pause()
//   stops reading and a writer then blocks once the pipe is full;
// - a command's stdout is a pipe read the same way; the command ending is the reader's end;
// - a regular file is read from a position like `tail -F`: at its end it waits, then notices a
//   rotation (the path names another inode: reopened from the start) or a truncation (read again
//   from 0); a character device (/dev/input/event*, a driver's node) is opened O_NONBLOCK and read
//   until EAGAIN, then polled (Node has no readiness notice for character devices).
// Imports node only.

import { spawn, type ChildProcess } from 'node:child_process';
import { close, constants, fstat, open, read, stat, type Stats } from 'node:fs';
import { Socket } from 'node:net';

/** What a reader tells its source. */
export interface ReaderEvents {
  /** Bytes read; the source pauses the reader while it holds them. */
  data(chunk: Uint8Array): void;
  /** The reader cannot go on (error, command ended, FIFO replaced); the source reopens. */
  failed(why: string): void;
  /** Something worth reporting that is not a failure (`truncated`, `rotated`). */
  notice(event: string): void;
}

/** A reader: pause and resume its reads, and close it (and its fd or process). */
export interface Reader {
  pause(): void;
  resume(): void;
  close(): void;
}

/** Timing of the polling readers. */
export interface PollTiming {
  /** How often a file at its end is checked for growth, rotation and truncation, ms. */
  filePollMs: number;
  /** How often a character device with nothing to read is tried again, ms. */
  devicePollMs: number;
}

/** Largest read of a polling reader. */
const READ_SIZE = 65_536;

function openFd(path: string, flags: number): Promise<number> {
  return new Promise((resolve, reject) => {
    open(path, flags, (err, fd) => (err === null ? resolve(fd) : reject(err)));
  });
}

function statOf(path: string): Promise<Stats | null> {
  return new Promise((resolve) => {
    stat(path, (err, st) => resolve(err === null ? st : null));
  });
}

function fstatOf(fd: number): Promise<Stats> {
  return new Promise((resolve, reject) => {
    fstat(fd, (err, st) => (err === null ? resolve(st) : reject(err)));
  });
}

/** Reads a stream (FIFO socket or a command's stdout) with pause/resume passed through. */
function streamReader(
  stream: NodeJS.ReadableStream & { destroy(): void },
  ev: ReaderEvents,
  onClose: () => void,
): Reader {
  stream.on('data', (c: Buffer) => ev.data(c));
  stream.on('error', (err: Error) => ev.failed(err.message));
  return {
    pause: () => stream.pause(),
    resume: () => stream.resume(),
    close: () => {
      onClose();
      stream.destroy();
    },
  };
}

/**
 * Opens FIFO `path` for reading and watches that the path still names it (checked every
 * `checkMs`): a FIFO removed or replaced is a failure, so the source reopens the new one.
 */
export async function openFifo(path: string, ev: ReaderEvents, checkMs: number): Promise<Reader> {
  const fd = await openFd(path, constants.O_RDWR | constants.O_NONBLOCK);
  const st = await fstatOf(fd);
  const sock = new Socket({ fd, readable: true, writable: false });
  let closed = false;
  sock.on('end', () => {
    if (!closed) ev.failed('end of input');
  });
  const check = setInterval(() => {
    void statOf(path).then((now) => {
      if (closed) return;
      if (now === null) ev.failed(`${path} was removed`);
      else if (now.ino !== st.ino || now.dev !== st.dev) ev.failed(`${path} was replaced`);
    });
  }, checkMs);
  check.unref();
  return streamReader(sock, ev, () => {
    closed = true;
    clearInterval(check);
  });
}

/** Runs `command` with /bin/sh -c and reads its stdout; its stderr goes to `log`, a line at a time. */
export function runCommand(command: string, ev: ReaderEvents, log: (line: string) => void): Reader {
  const child: ChildProcess = spawn('/bin/sh', ['-c', command], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let closed = false;
  child.stderr!.on('data', (c: Buffer) => {
    const line = c.toString('utf8', 0, Math.min(c.length, 200)).split('\n')[0] ?? '';
    if (line !== '') log(line);
  });
  child.on('error', (err) => {
    if (!closed) ev.failed(err.message);
  });
  child.on('close', (code, signal) => {
    if (!closed) ev.failed(`the command ended (${signal ?? `exit code ${code}`})`);
  });
  return streamReader(child.stdout!, ev, () => {
    closed = true;
    child.kill('SIGTERM');
  });
}

/**
 * Reads a regular file or a character device by polling reads. A file is followed from
 * `fromEnd` (its current end) or its start; a device is read as it comes.
 */
export async function openPolled(
  path: string,
  device: boolean,
  fromEnd: boolean,
  ev: ReaderEvents,
  timing: PollTiming,
): Promise<Reader> {
  let fd = await openFd(path, constants.O_RDONLY | (device ? constants.O_NONBLOCK : 0));
  let st = await fstatOf(fd);
  let position = device ? -1 : fromEnd ? st.size : 0;
  let paused = false;
  let closed = false;
  let busy = false;
  let timer: NodeJS.Timeout | undefined;

  const later = (ms: number): void => {
    timer = setTimeout(() => {
      timer = undefined;
      loop();
    }, ms);
  };

  /** At the end of a regular file: has it been rotated or truncated? */
  const checkFile = async (): Promise<void> => {
    const now = await statOf(path);
    if (now === null || closed) return; // gone for now: keep the old one, look again later
    if (now.ino !== st.ino || now.dev !== st.dev) {
      const next = await openFd(path, constants.O_RDONLY).catch(() => null);
      if (next === null || closed) {
        if (next !== null) closeFd(next);
        return;
      }
      closeFd(fd);
      fd = next;
      st = await fstatOf(fd);
      position = 0;
      ev.notice('rotated');
    } else if (now.size < position) {
      position = 0;
      ev.notice('truncated');
    }
  };

  const loop = (): void => {
    if (paused || closed || busy || timer !== undefined) return;
    busy = true;
    const buf = Buffer.allocUnsafe(READ_SIZE);
    read(fd, buf, 0, READ_SIZE, position < 0 ? null : position, (err, n) => {
      busy = false;
      // An fd is closed only when no read is in flight (its number could be reused meanwhile).
      if (closed) return closeFd(fd);
      if (err !== null) {
        if (err.code === 'EAGAIN' || err.code === 'EWOULDBLOCK') later(timing.devicePollMs);
        else ev.failed(err.message);
        return;
      }
      if (n === 0) {
        if (device) {
          ev.failed('end of input');
          return;
        }
        busy = true;
        void checkFile().then(
          () => {
            busy = false;
            if (closed) closeFd(fd);
            else later(timing.filePollMs);
          },
          (e: unknown) => {
            busy = false;
            if (closed) closeFd(fd);
            else ev.failed(e instanceof Error ? e.message : String(e));
          },
        );
        return;
      }
      if (position >= 0) position += n;
      ev.data(buf.subarray(0, n));
      loop();
    });
  };

  loop();
  return {
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
      loop();
    },
    close: () => {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      if (!busy) closeFd(fd);
    },
  };
}

function closeFd(fd: number): void {
  close(fd, () => undefined);
}

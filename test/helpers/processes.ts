// Real processes for integration tests: the daemon and CLI commands, in a mkdtemp folder.

import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before } from 'node:test';

/** Absolute path of bin/udsbus.js. */
export const BIN = new URL('../../../bin/udsbus.js', import.meta.url).pathname;

/** A fresh temp folder, removed by the returned cleanup. */
export function tempDir(prefix = 'udsbus-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const live = new Set<ChildProcessWithoutNullStreams>();
// A test that fails midway must not leave daemons or clients behind.
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Absolute path of a built example program, e.g. example('logd/logd.js'). */
export function example(file: string): string {
  return new URL(`../../examples/${file}`, import.meta.url).pathname;
}

/** A spawned process with its output collected as it comes. */
export class Proc {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  #waiters: (() => void)[] = [];

  /** Runs `node SCRIPT ...args`; SCRIPT is bin/udsbus.js unless given. */
  constructor(args: string[], env: NodeJS.ProcessEnv = {}, script = BIN) {
    this.child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env } });
    live.add(this.child);
    this.child.on('close', () => live.delete(this.child));
    this.child.stdout.setEncoding('utf8');
    this.child.stderr.setEncoding('utf8');
    this.child.stdout.on('data', (c: string) => {
      this.stdout += c;
      this.#wake();
    });
    this.child.stderr.on('data', (c: string) => {
      this.stderr += c;
      this.#wake();
    });
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Waits until `pred(this)` holds, or fails after `timeoutMs`. */
  async waitFor(pred: (p: Proc) => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this)) {
      if (Date.now() > deadline) {
        throw new Error(
          `timed out waiting for ${what}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`,
        );
      }
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** Waits for `text` on stderr. */
  stderrHas(text: string, timeoutMs = 5000): Promise<void> {
    return this.waitFor((p) => p.stderr.includes(text), JSON.stringify(text), timeoutMs);
  }

  /** Waits for the process to exit (kills it after `timeoutMs`). */
  async exit(timeoutMs = 5000): Promise<number | null> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

/** A daemon process on a socket in a temp folder. */
export class DaemonProc extends Proc {
  readonly path: string;
  constructor(path: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) {
    // Never the user's own state file: a private one next to the socket (or a fresh temp
    // folder for an abstract socket), unless the test names one.
    const stateDir = path.startsWith('@')
      ? tempDir('udsbus-state-').dir
      : join(dirname(path), 'state');
    super(['daemon', '-s', path, ...extra], { UDSBUS_STATE_DIR: stateDir, ...env });
    this.path = path;
  }

  static async start(
    path: string,
    extra: string[] = [],
    env: NodeJS.ProcessEnv = {},
  ): Promise<DaemonProc> {
    const d = new DaemonProc(path, extra, env);
    await d.stderrHas(`listening on ${path}`);
    return d;
  }

  async stop(): Promise<number | null> {
    this.kill('SIGTERM');
    return this.exit();
  }
}

/** Runs a CLI command (bin/udsbus.js, or `options.script`) to completion. */
export function runCli(
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; script?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  const p = new Proc(args, options.env, options.script);
  p.child.stdin.end(options.input ?? '');
  return p.exit(options.timeoutMs ?? 10_000).then((code) => ({
    code,
    stdout: p.stdout,
    stderr: p.stderr,
    ms: Date.now() - started,
  }));
}

/** True when `cmd` is on PATH. */
export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/**
 * Whether a test needing Debian package `pkg` (command `cmd`) may run: true if installed; a skip
 * reason otherwise; throws when UDSBUS_REQUIRE_E2E=1 demands it.
 */
export function requireCommand(cmd: string, pkg = cmd): true | string {
  if (hasCommand(cmd)) return true;
  const reason = `${cmd} is not installed (apt-get install -y ${pkg})`;
  if (process.env['UDSBUS_REQUIRE_E2E'] === '1')
    throw new Error(`UDSBUS_REQUIRE_E2E=1 but ${reason}`);
  return reason;
}

/**
 * One daemon for a whole test file, on a socket in a temp folder: started before the file's
 * tests, stopped (and the folder removed) after them. Read `path`, `dir` and `proc` in tests.
 */
export function daemonPerFile(extra: string[] = []): {
  readonly path: string;
  readonly dir: string;
  readonly proc: DaemonProc;
} {
  let tmp: { dir: string; cleanup: () => void } | undefined;
  let proc: DaemonProc | undefined;
  before(async () => {
    tmp = tempDir();
    proc = await DaemonProc.start(join(tmp.dir, 'bus.sock'), extra);
  });
  after(async () => {
    await proc?.stop();
    tmp?.cleanup();
  });
  return {
    get path() {
      return proc!.path;
    },
    get dir() {
      return tmp!.dir;
    },
    get proc() {
      return proc!;
    },
  };
}

// Starts a private udsbus daemon for benchmarks (the harness's `--start-daemon`, the peer suite):
// a temp dir, `udsbus daemon -s DIR/bus.sock`, ready once it prints `listening on`.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchDaemon {
  pid: number;
  socket: string;
  stop(): Promise<void>;
}

const BIN = fileURLToPath(new URL('../../../bin/udsbus.js', import.meta.url));

/** Starts the daemon; rejects with its output if it is not listening within timeoutMs. */
export async function startBenchDaemon(timeoutMs = 10_000): Promise<BenchDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'udsbus-bench-'));
  const socket = join(dir, 'bus.sock');
  const child = spawn(process.execPath, [BIN, 'daemon', '-s', socket], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    cleanup();
  };
  let onData: (chunk: Buffer) => void = () => undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`udsbus daemon not ready after ${timeoutMs} ms:\n${output}`));
      }, timeoutMs);
      onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stderr.on('data', onData);
      child.stdout.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`udsbus daemon exited (${signal ?? code ?? '?'}):\n${output}`));
      });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  // Keep draining its output so a chatty daemon never blocks on a full pipe.
  child.stderr.off('data', onData);
  child.stdout.off('data', onData);
  child.stderr.resume();
  child.stdout.resume();
  if (child.pid === undefined) throw new Error('udsbus daemon has no pid');
  return { pid: child.pid, socket, stop };
}

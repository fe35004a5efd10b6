// mixer-cli: the command line of the mixer example, after Mixologist's mixcli. Each change is a
// compare-and-set with retry on the shared state (state.ts), so CLIs, pages and the daemon can
// change the mixer at the same time without losing a change. Every command prints the state
// after it: `volume V`, then one `program NAME` line per program (or JSON with --json).
//
//   node dist/examples/mixer/cli.js [-s SOCKET] [--json] COMMAND [ARG]
//
// Imports the public client API and node: only.

import { connect, type Client } from '../../src/client/index.js';
import {
  addProgram,
  formatVolume,
  parseNumber,
  readMixer,
  removeProgram,
  setVolume,
  shiftVolume,
  type MixerState,
} from './state.js';

const USAGE = `usage: node cli.js [-s SOCKET] [--json] COMMAND [ARG]
  get                    print the volume and the programs
  set VOLUME             set the volume (0..1, clamped)
  shift DELTA            add DELTA to the volume (e.g. 0.1 or -0.1)
  add-program NAME       add a program to the list
  remove-program NAME    remove a program from the list`;

const COMMANDS: Record<string, { arg: 'none' | 'number' | 'name' }> = {
  get: { arg: 'none' },
  set: { arg: 'number' },
  shift: { arg: 'number' },
  'add-program': { arg: 'name' },
  'remove-program': { arg: 'name' },
};

function usage(message: string): never {
  process.stderr.write(`mixer-cli: ${message}\n${USAGE}\n`);
  process.exit(2);
}

/** Options anywhere; every other word (a negative number too) is positional. */
function parse(argv: string[]): { socket?: string; json: boolean; words: string[] } {
  const out: { socket?: string; json: boolean; words: string[] } = { json: false, words: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-s' || a === '--socket') {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a PATH`);
      out.socket = v;
    } else if (a.startsWith('--socket=')) out.socket = a.slice('--socket='.length);
    else if (a === '--json') out.json = true;
    else if (a === '-h' || a === '--help') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (a === '--') {
      out.words.push(...argv.slice(i + 1));
      break;
    } else if (a.startsWith('-') && parseNumber(a) === undefined) usage(`unknown option ${a}`);
    else out.words.push(a);
  }
  return out;
}

/** Control characters shown as \xNN, so a program name cannot drive the terminal. */
function printable(s: string): string {
  const control = /[\u0000-\u001f\u007f-\u009f]/g; // eslint-disable-line no-control-regex
  return s.replace(control, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function show(state: MixerState, json: boolean): string {
  if (json) return `${JSON.stringify(state)}\n`;
  return [
    `volume ${formatVolume(state.volume)}`,
    ...state.programs.map((p) => `program ${printable(p)}`),
  ]
    .map((l) => `${l}\n`)
    .join('');
}

async function run(client: Client, command: string, arg: string | undefined): Promise<void> {
  switch (command) {
    case 'set':
      await setVolume(client, parseNumber(arg!)!);
      break;
    case 'shift':
      await shiftVolume(client, parseNumber(arg!)!);
      break;
    case 'add-program':
      await addProgram(client, arg!);
      break;
    case 'remove-program':
      await removeProgram(client, arg!);
      break;
  }
}

async function main(): Promise<void> {
  const { socket, json, words } = parse(process.argv.slice(2));
  const [command, arg, ...rest] = words;
  if (command === undefined) usage('a COMMAND is required');
  const spec = COMMANDS[command];
  if (spec === undefined) usage(`unknown command ${JSON.stringify(command)}`);
  if (rest.length > 0) usage(`too many arguments for ${command}`);
  if (spec.arg === 'none' && arg !== undefined) usage(`${command} takes no argument`);
  if (spec.arg !== 'none' && arg === undefined)
    usage(`${command} needs ${spec.arg === 'number' ? 'a number' : 'a NAME'}`);
  if (spec.arg === 'number' && parseNumber(arg!) === undefined)
    usage(`${command}: not a number: ${JSON.stringify(arg)}`);

  const client = await connect({ path: socket, name: 'mixer-cli', reconnect: false });
  try {
    await run(client, command, arg);
    process.stdout.write(show(await readMixer(client), json));
  } finally {
    await client.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`mixer-cli: ${(err as Error).message}\n`);
  process.exitCode = 1;
});

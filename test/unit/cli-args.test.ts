// The CLI's argument layer (util/args.ts) and error mapping (cli/main.ts reportError): plain
// usage messages instead of parseArgs's, and exit codes 2 (usage) / 1 (bus, failure, bug).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reportError } from '../../src/cli/main.js';
import { CliFailure } from '../../src/cli/command.js';
import { BusError, ErrorCode } from '../../src/protocol/errors.js';
import { formatOptions, intOption, parseOptions, UsageError } from '../../src/util/args.js';

const specs = {
  queue: { type: 'string', short: 'q', arg: 'GROUP', help: 'queue group' },
  json: { type: 'boolean', help: 'JSON lines' },
  header: { type: 'string', short: 'H', arg: 'K=V', multiple: true, help: 'a header' },
} as const;

function usage(argv: string[], allowPositionals = true): string {
  try {
    parseOptions(argv, specs, allowPositionals);
  } catch (err) {
    assert.ok(err instanceof UsageError);
    return err.message;
  }
  assert.fail(`no usage error for ${argv.join(' ')}`);
}

void test('parseOptions returns typed values and positionals', () => {
  const { values, positionals } = parseOptions(
    ['a', '-q', 'g', '--json', '-H', 'k=v', '-H', 'x=y'],
    specs,
  );
  assert.deepEqual(positionals, ['a']);
  assert.equal(values.queue, 'g');
  assert.equal(values.json, true);
  assert.deepEqual(values.header, ['k=v', 'x=y']);
  assert.equal(parseOptions(['--queue=-x'], specs).values.queue, '-x');
});

void test('parseOptions turns parseArgs errors into one plain line naming the argument', () => {
  assert.equal(usage(['--nope']), 'unknown option "--nope"');
  assert.equal(usage(['-z']), 'unknown option "-z"');
  assert.equal(usage(['--queue']), 'option -q, --queue GROUP needs a value');
  assert.equal(
    usage(['--queue', '--json']),
    'option -q, --queue GROUP needs a value, got the option-like "--json" (write --queue=--json if that is the value)',
  );
  assert.equal(usage(['--json=yes']), 'option --json takes no value (got "--json=yes")');
  assert.equal(usage(['stray'], false), 'unexpected argument "stray"');
});

void test('intOption checks the range and says it', () => {
  assert.equal(intOption(undefined, '--count'), undefined);
  assert.equal(intOption('12', '--count'), 12);
  assert.throws(
    () => intOption('1e3', '--count'),
    /--count must be an integer of at least 0, got "1e3"/,
  );
  assert.throws(() => intOption('-1', '--count'), UsageError);
  assert.throws(() => intOption('256', '--priority', 0, 255), /from 0 to 255/);
});

void test('formatOptions aligns short and long-only options', () => {
  assert.equal(
    formatOptions(specs),
    [
      '  -q, --queue GROUP  queue group',
      '      --json         JSON lines',
      '  -H, --header K=V   a header',
    ].join('\n'),
  );
});

void test('reportError: usage 2, bus and operational errors 1, an internal bug 1 and said so', (t) => {
  let stderr = '';
  t.mock.method(process.stderr, 'write', (chunk: string) => {
    stderr += chunk;
    return true;
  });
  assert.equal(reportError(new UsageError('bad'), 'sub'), 2);
  assert.equal(stderr, "udsbus: bad\nRun 'udsbus sub --help' for usage.\n");
  stderr = '';
  assert.equal(reportError(new BusError(ErrorCode.RESPONDER_FAILED, 'boom'), 'req'), 1);
  assert.equal(stderr, 'udsbus: responder error: boom\n');
  stderr = '';
  const framed = new BusError(ErrorCode.RESPONDER_FAILED, 'the responder for svc.x failed: boom', {
    detail: { status: 3, subject: 'svc.x' },
  });
  assert.equal(reportError(framed, 'req'), 1);
  assert.equal(stderr, 'udsbus: responder error: boom\n');
  stderr = '';
  assert.equal(reportError(new BusError(ErrorCode.NO_RESPONDERS, 'no responders for x'), 'req'), 1);
  assert.equal(stderr, 'udsbus: no responders for x\n');
  stderr = '';
  assert.equal(reportError(new CliFailure('cannot read f: ENOENT'), 'pub'), 1);
  assert.equal(stderr, 'udsbus: cannot read f: ENOENT\n');
  stderr = '';
  // A TypeError from a bug is not a usage error (it used to exit 2).
  assert.equal(
    reportError(new TypeError("Cannot read properties of undefined (reading 'x')"), 'sub'),
    1,
  );
  assert.match(
    stderr,
    /^udsbus: internal error: Cannot read properties of undefined .*a bug in udsbus/,
  );
  assert.doesNotMatch(stderr, /\n {4}at /, 'no stack trace');
});

// The options of `udsbus daemon`: one source for its help, its parser and the docs tables.
// Imports only util/.

import { formatOptions, type OptionSpecs } from '../util/args.js';

/** Every `udsbus daemon` option, with its help line and default. */
export const DAEMON_OPTIONS = {
  config: {
    type: 'string',
    short: 'c',
    arg: 'FILE',
    see: 'see [Config file](#config-file)',
    help: 'read options and the access policy from FILE (TOML); options given here win; SIGHUP reloads it',
  },
  'check-config': {
    type: 'string',
    arg: 'FILE',
    help: 'check FILE (TOML) and exit: 0 when it is valid, 1 with every problem named',
  },
  socket: {
    type: 'string',
    short: 's',
    arg: 'PATH',
    see: 'see [Socket path](#socket-path)',
    help: 'socket path, or @name for an abstract socket',
    default: '$UDSBUS_SOCKET, $XDG_RUNTIME_DIR/udsbus/bus.sock, /tmp/udsbus-<uid>/bus.sock',
  },
  'socket-mode': {
    type: 'string',
    arg: 'MODE',
    see: 'see [A shared bus](#a-shared-bus)',
    help: 'who may connect to a path socket: 0600 (this user), 0660 (and --socket-group), 0666 (everybody)',
    default: '0600',
  },
  'socket-group': {
    type: 'string',
    arg: 'GROUP',
    help: "the path socket's group (name or gid; needs root or membership)",
    default: "the daemon's group",
  },
  'max-frame': {
    type: 'string',
    arg: 'BYTES',
    help: 'largest frame body accepted from (and sent to) a client',
    default: '1048576',
  },
  'max-queue-bytes': {
    type: 'string',
    arg: 'N',
    help: 'TX queue bound per client, bytes',
    default: '16777216',
  },
  'max-queue-msgs': {
    type: 'string',
    arg: 'N',
    help: 'TX queue bound per client, messages',
    default: '100000',
  },
  'slow-grace-ms': {
    type: 'string',
    arg: 'MS',
    help: 'how long a disconnect-policy subscriber may stay over its bound before it is cut off',
    default: '2000',
  },
  'flow-window': {
    type: 'string',
    arg: 'BYTES',
    see: 'see [Flow control](#flow-control)',
    help: 'pause producers while a client has more than this pending; 0 = off',
    default: '524288',
  },
  'flow-wait-ms': {
    type: 'string',
    arg: 'MS',
    help: 'longest a client that does not drain holds its producers paused by the window',
    default: '100',
  },
  'sock-buf': {
    type: 'string',
    arg: 'BYTES',
    see: 'see [Socket buffers](#socket-buffers)',
    help: 'send buffer (SO_SNDBUF) asked for on each client socket; 0 = system default (needs the native helper)',
    default: '1048576',
  },
  'shutdown-timeout': {
    type: 'string',
    arg: 'MS',
    help: 'how long SIGTERM/SIGINT waits for client queues to be flushed',
    default: '5000',
  },
  'ping-ms': {
    type: 'string',
    arg: 'MS',
    help: 'PING every client this often; 0 = off',
    default: '0',
  },
  'max-pings-out': {
    type: 'string',
    arg: 'N',
    help: 'disconnect a client that leaves N PINGs unanswered',
    default: '2',
  },
  'max-connections-per-uid': {
    type: 'string',
    arg: 'N',
    help: "connections one other user may hold (BUS_ERR_LIMIT past it); the daemon's own uid and root are not limited; 0 = no limit",
    default: '1024',
  },
  'max-subscriptions': {
    type: 'string',
    arg: 'N',
    help: 'subscriptions per client (BUS_ERR_LIMIT past it)',
    default: '10000',
  },
  'max-subscriptions-total': {
    type: 'string',
    arg: 'N',
    help: 'subscriptions on the whole bus (BUS_ERR_LIMIT past it)',
    default: '100000',
  },
  'max-names': {
    type: 'string',
    arg: 'N',
    help: 'service names on the whole bus (BUS_ERR_LIMIT past it)',
    default: '10000',
  },
  'max-names-per-client': {
    type: 'string',
    arg: 'N',
    help: 'service names one client may own or wait for (BUS_ERR_LIMIT past it)',
    default: '256',
  },
  'state-dir': {
    type: 'string',
    arg: 'DIR',
    see: 'see [Shared state](#shared-state)',
    help: 'folder of the state file (shared-state values set with persist, written atomically)',
    default: '$UDSBUS_STATE_DIR, $XDG_STATE_HOME/udsbus, ~/.local/state/udsbus',
  },
  'no-persist': {
    type: 'boolean',
    help: 'no state file: values set with persist last only as long as the daemon',
  },
  'max-state-keys': {
    type: 'string',
    arg: 'N',
    help: 'shared-state keys held at once (BUS_ERR_LIMIT past it)',
    default: '10000',
  },
  'max-state-value-bytes': {
    type: 'string',
    arg: 'BYTES',
    help: 'bytes of one shared-state value (BUS_ERR_LIMIT past it; at most --max-frame minus 1024)',
    default: '65536',
  },
  'max-state-bytes': {
    type: 'string',
    arg: 'BYTES',
    help: 'bytes of all shared-state keys and values together (BUS_ERR_LIMIT past it)',
    default: '8388608',
  },
  'max-timers': {
    type: 'string',
    arg: 'N',
    see: 'see [Timers](#timers)',
    help: 'daemon timers running at once (BUS_ERR_LIMIT past it)',
    default: '256',
  },
  'min-timer-interval-ms': {
    type: 'string',
    arg: 'MS',
    help: 'the shortest timer interval (BUS_ERR_LIMIT below it)',
    default: '5',
  },
  'max-sources': {
    type: 'string',
    arg: 'N',
    see: 'see [Event sources](#event-sources)',
    help: 'event sources the daemon reads at once (BUS_ERR_LIMIT past it)',
    default: '64',
  },
  'idle-timeout-ms': {
    type: 'string',
    arg: 'MS',
    help: 'disconnect a client that sends nothing for this long (PINGed at half of it); 0 = never',
    default: '0',
  },
  quiet: {
    type: 'boolean',
    short: 'q',
    see: 'see [Log lines](#log-lines)',
    help: 'log only start, stop and daemon errors (no per-client lines)',
  },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
} as const satisfies OptionSpecs;

/** `udsbus daemon --help`. */
export const DAEMON_HELP = `Usage: udsbus daemon [options]

Runs the bus daemon on a Unix domain socket. Logs one line per lifecycle event on stderr,
starting with "udsbus: listening on PATH (udsbus VERSION)".

Options:
${formatOptions(DAEMON_OPTIONS)}
`;

#!/usr/bin/env node
// udsbus command-line entry point: `udsbus daemon` runs the daemon (dist/src/daemon/main.js);
// every other command runs the CLI (dist/src/cli/main.js), which never loads the daemon.
const argv = process.argv.slice(2);
const daemon = argv[0] === 'daemon' || (argv[0] === 'help' && argv[1] === 'daemon');
if (daemon) {
  const { daemonMain } = await import('../dist/src/daemon/main.js');
  process.exitCode = await daemonMain(argv[0] === 'help' ? ['--help'] : argv.slice(1));
} else {
  const { main } = await import('../dist/src/cli/main.js');
  // The CLI has flushed stdout and closed its client when main resolves: end now, so nothing
  // left behind (a timer, a half-closed socket) can keep the process alive.
  process.exit(await main(argv));
}

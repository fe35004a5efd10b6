// Builds the native helper (native/udsbus_native.c: socket buffer sizes) with node-gyp, which npm
// provides to its scripts. Without a compiler the build fails softly: udsbus works without the
// helper, with the system's default socket buffers (the daemon says so when it starts).
// UDSBUS_REQUIRE_NATIVE=1 (set by .ci/run) turns a failed build into a failed install.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../native/', import.meta.url));
const gyp = process.env.npm_config_node_gyp;
const [cmd, args] =
  gyp !== undefined && gyp !== ''
    ? [process.execPath, [gyp, 'rebuild', '--directory', dir]]
    : ['node-gyp', ['rebuild', '--directory', dir]];
const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
if (r.status === 0) process.exit(0);
const why = r.error !== undefined ? r.error.message : `node-gyp exited with ${r.status}`;
process.stderr.write(
  `udsbus: the native helper was not built (${why}); udsbus works without it, with the ` +
    `system's default socket buffers (see docs/OPERATIONS.md, "Socket buffers")\n`,
);
process.exit(process.env.UDSBUS_REQUIRE_NATIVE === '1' ? 1 : 0);

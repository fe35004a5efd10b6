// Transport adapters over node:net, the client's dial seam, and the in-memory pair.
export { defaultSocketPath, isAbstract } from './socket-path.js';
export { attachSocket, listenUnix, closeUnix, probe } from './unix-server.js';
export { dialUnix } from './dial.js';
export type { Dialer, DialOptions, Link, LinkHandlers } from './link.js';
export { MemoryLink, MemoryTransport } from './memory.js';

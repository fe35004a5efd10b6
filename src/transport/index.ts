// Transport adapters over node:net.
export { defaultSocketPath, isAbstract } from './socket-path.js';
export { attachSocket, listenUnix, closeUnix, probe } from './unix-server.js';

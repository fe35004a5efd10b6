// Minimal declarations for node-ipc 12 (it ships none): only what the benchmark uses.
declare module 'node-ipc' {
  import type { Socket } from 'node:net';

  interface IpcConfig {
    id: string;
    silent: boolean;
    maxConnections: number;
    maxRetries: number | false;
    stopRetrying: boolean;
    retry: number;
    unlink: boolean;
    rawBuffer: boolean;
    encoding: string;
  }

  interface IpcClient {
    socket: Socket;
    on(event: string, handler: (data: never) => void): void;
    off(event: string, handler: (data: never) => void): void;
    emit(event: string, data?: unknown): void;
  }

  interface IpcServer {
    /** Handlers get the event data (typed by the caller) and the client socket. */
    on(event: string, handler: (data: never, socket: Socket) => void): void;
    emit(socket: Socket, event: string, data?: unknown): void;
    broadcast(event: string, data?: unknown): void;
    start(): void;
    stop(): void;
  }

  export class IPCModule {
    config: IpcConfig;
    of: Record<string, IpcClient | undefined>;
    server: IpcServer;
    serve(path: string, callback?: () => void): void;
    connectTo(id: string, path: string, callback?: () => void): void;
    disconnect(id: string): void;
  }

  const ipc: IPCModule;
  export default ipc;
}

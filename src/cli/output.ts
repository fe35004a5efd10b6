// The CLI's one way to stdout: honours backpressure (a paused input resumes on 'drain') and ends
// quietly when the reader goes away (EPIPE, as in `udsbus sub X | head -1`). Imports node only.

/** What the output pauses while stdout is full: the client's socket input. */
export interface Pausable {
  pauseInput(): void;
  resumeInput(): void;
}

/** Why output ended early: the reader closed the pipe, or another write error. */
export interface OutputEnd {
  error: NodeJS.ErrnoException;
  quiet: boolean;
}

/** stdout for the CLI: `write` never throws and never buffers without bound. */
export class Output {
  readonly #stream: NodeJS.WritableStream & { writableLength: number };
  #source: Pausable | undefined;
  #paused = false;
  #ended: OutputEnd | undefined;
  #onEnd: ((e: OutputEnd) => void)[] = [];

  constructor(stream: NodeJS.WriteStream = process.stdout) {
    this.#stream = stream;
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (this.#ended !== undefined) return;
      this.#ended = { error: err, quiet: err.code === 'EPIPE' };
      // Nothing more will be written: let the source go so it is not held paused for ever.
      this.#resume();
      for (const f of this.#onEnd) f(this.#ended);
    });
    stream.on('drain', () => this.#resume());
  }

  /** Set when stdout failed (EPIPE: the reader is gone). */
  get ended(): OutputEnd | undefined {
    return this.#ended;
  }

  /** Resolves when stdout fails (EPIPE or another error); never rejects. */
  whenEnded(): Promise<OutputEnd> {
    const ended = this.#ended;
    if (ended !== undefined) return Promise.resolve(ended);
    return new Promise((resolve) => this.#onEnd.push(resolve));
  }

  /** The input to pause while stdout is past its high-water mark. */
  pauseWhileFull(source: Pausable): void {
    this.#source = source;
  }

  /**
   * Writes `chunk`. Returns false when stdout is full; the input set by `pauseWhileFull` is then
   * paused until 'drain'. Writes after stdout ended are dropped.
   */
  write(chunk: string | Uint8Array): boolean {
    if (this.#ended !== undefined) return false;
    if (this.#stream.write(chunk)) return true;
    if (!this.#paused && this.#source !== undefined) {
      this.#paused = true;
      this.#source.pauseInput();
    }
    return false;
  }

  /** Writes a text line. */
  line(text: string): boolean {
    return this.write(text + '\n');
  }

  /** Resolves once everything written has reached the kernel (or stdout ended). */
  flush(): Promise<void> {
    if (this.#ended !== undefined || this.#stream.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => resolve();
      this.#stream.write('', done);
      this.#onEnd.push(done);
    });
  }

  #resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#source?.resumeInput();
  }
}

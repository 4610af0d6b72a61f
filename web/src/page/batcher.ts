/**
 * Gathers small pieces (16 KiB records) into large chunks before they cross a
 * thread or a socket: one message per record costs more than the copy.
 */
export class Batcher {
  #buf: Uint8Array<ArrayBuffer>;
  #len = 0;
  readonly #size: number;
  readonly #out: (chunk: Uint8Array<ArrayBuffer>) => void;

  constructor(size: number, out: (chunk: Uint8Array<ArrayBuffer>) => void) {
    this.#size = size;
    this.#buf = new Uint8Array(size);
    this.#out = out;
  }

  get pending(): number {
    return this.#len;
  }

  add(chunk: Uint8Array): void {
    if (this.#len + chunk.length > this.#size) this.flush();
    if (chunk.length > this.#size) return this.#out(chunk.slice());
    this.#buf.set(chunk, this.#len);
    this.#len += chunk.length;
  }

  /** Hands over what is gathered (transferable: a fresh buffer follows). */
  flush(): void {
    if (this.#len === 0) return;
    this.#out(this.#len === this.#size ? this.#buf : this.#buf.slice(0, this.#len));
    this.#buf = new Uint8Array(this.#size);
    this.#len = 0;
  }
}

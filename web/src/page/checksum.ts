/**
 * SHA-256 of the file bytes, for the transit ack (WORMHOLE-PROTOCOL.md §4.2).
 * hash-wasm's WebAssembly SHA-256 does ~280 MiB/s in Chromium where
 * @noble/hashes does ~70, and this hash sees every byte of a transfer; the
 * keys (HKDF, SPAKE2 transcript) stay on @noble/hashes. test/checksum.test.ts
 * checks the two agree.
 */
import { createSHA256, type IHasher } from "hash-wasm";

export class Checksum {
  readonly #h: IHasher;

  private constructor(h: IHasher) {
    this.#h = h;
  }

  static async create(): Promise<Checksum> {
    const h = await createSHA256();
    h.init();
    return new Checksum(h);
  }

  update(bytes: Uint8Array): void {
    this.#h.update(bytes);
  }

  digest(): Uint8Array {
    return this.#h.digest("binary");
  }
}

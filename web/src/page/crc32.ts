/**
 * CRC-32 (IEEE 802.3, the zip checksum), table-driven. Not a security
 * check: the transfer's SHA-256 ack is; zip readers just insist on it.
 */

const TABLE = makeTable();

function makeTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

/** Running CRC-32: `update` any number of times, then `digest`. */
export class Crc32 {
  #c = 0xffffffff;

  update(bytes: Uint8Array): this {
    let c = this.#c;
    for (let i = 0; i < bytes.length; i++) c = (TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
    this.#c = c;
    return this;
  }

  digest(): number {
    return (this.#c ^ 0xffffffff) >>> 0;
  }
}

export function crc32(bytes: Uint8Array): number {
  return new Crc32().update(bytes).digest();
}

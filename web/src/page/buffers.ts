/**
 * Handing buffers between threads without copies or garbage, for the page,
 * its transit worker and its service worker.
 */

/**
 * Detaches `buf`, releasing its memory now (ES2024 `ArrayBuffer.prototype.transfer`)
 * rather than at V8's next GC; a no-op where the browser lacks it.
 */
export function free(buf: ArrayBufferLike): void {
  (buf as ArrayBuffer & { transfer?: (n: number) => ArrayBuffer }).transfer?.(0);
}

/** `chunk` if it spans its whole buffer (so the buffer can be transferred), else a copy that does. */
export function whole(chunk: Uint8Array): Uint8Array<ArrayBuffer> {
  const spans = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
  return (spans ? chunk : chunk.slice()) as Uint8Array<ArrayBuffer>;
}

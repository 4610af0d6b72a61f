/**
 * What a send consumes: bytes in order, in chunks, exactly `size` of them.
 * A single `File` and a zip built on the fly (zip-writer.ts) look the same to
 * the transfer loop, which only needs the size up front (for the offer) and
 * the next chunk.
 */

export interface ByteSource {
  /** Total bytes `read` yields before it returns null. */
  readonly size: number;
  /** The next chunk, or null at the end. Chunks are never empty. */
  read(): Promise<Uint8Array | null>;
}

/** Bytes read from a file at once: one `arrayBuffer()` per slice. */
export const SLICE = 1024 * 1024;

/** A file (or any Blob) in 1 MiB slices; fails if it got shorter since it was picked. */
export function fileSource(file: Blob): ByteSource {
  let off = 0;
  return {
    size: file.size,
    read: async () => {
      if (off >= file.size) return null;
      const chunk = new Uint8Array(await file.slice(off, off + SLICE).arrayBuffer());
      if (chunk.length === 0) throw new Error("the file got shorter while being sent");
      off += chunk.length;
      return chunk;
    },
  };
}

/**
 * The record cipher the transit worker uses: libsodium's XSalsa20-Poly1305
 * (`crypto_secretbox`, its audited C compiled to WebAssembly), about twice
 * noble's speed in Chromium, where the cipher is most of a transfer's CPU.
 * Same bytes as noble's (test/sodium.test.ts checks the KAT records); noble
 * stays for everything else. Each result is detached once used, so memory
 * is returned at once instead of at V8's next GC.
 */
import sodium from "libsodium-wrappers";
import { free } from "../page/buffers.ts";
import { NONCE_LEN, type RecordCipher } from "../wormhole/secretbox.ts";

/** Resolves once the WebAssembly module is compiled; call before `sodiumRecordCipher`. */
export const sodiumReady: Promise<void> = sodium.ready;

export function sodiumRecordCipher(): RecordCipher {
  let last: Uint8Array | null = null;
  return {
    sealAt: (key, nonce, plaintext, out, at) => {
      const sealed = sodium.crypto_secretbox_easy(plaintext, nonce, key);
      out.set(sealed, at);
      free(sealed.buffer);
    },
    open: (key, body) => {
      if (last !== null) free(last.buffer);
      last = sodium.crypto_secretbox_open_easy(body.subarray(NONCE_LEN), body.subarray(0, NONCE_LEN), key);
      return last;
    },
  };
}

/** Opening a WebSocket to the ferry server, in the page or in a worker. */
import { PageError } from "./errors.ts";

export const CONNECT_TIMEOUT_MS = 15_000;

/** The error for a server that cannot be reached. */
export function serverGone(why: string): PageError {
  return new PageError("server-gone", `Cannot connect to the ferry server: ${why}`);
}

/** A WebSocket once open, or a `server-gone` error (bounded wait). */
export function openSocket(url: string, binary = false): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    if (binary) ws.binaryType = "arraybuffer";
    const timer = setTimeout(() => fail(`timed out connecting to ${url}`), CONNECT_TIMEOUT_MS);
    const fail = (why: string) => {
      clearTimeout(timer);
      ws.close();
      reject(serverGone(why));
    };
    ws.onopen = () => {
      clearTimeout(timer);
      resolve(ws);
    };
    ws.onerror = () => fail(`cannot connect to ${url}`);
  });
}

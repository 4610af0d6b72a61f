/**
 * Messages between the page and its transit worker (worker.ts). The worker
 * owns the relay WebSocket and every record's crypto, so the page's thread
 * only hashes and stores; buffers cross by transfer, never by copy.
 */
import type { PageErrorKind } from "../page/errors.ts";
import type { Role } from "../wormhole/index.ts";

/** `auto`: WebSocketStream where the browser has it; `websocket`: always the plain WebSocket (`?transit-socket=websocket`). */
export type SocketKind = "auto" | "websocket";

export type ToWorker =
  /** `key`: the transit key; `expect`: the bytes a receiver will take, no more. */
  | { type: "open"; url: string; key: Uint8Array; role: Role; expect: number; socket: SocketKind }
  /** Sender: plaintext to seal into records; answered by one `credit`. */
  | { type: "send"; chunk: ArrayBuffer }
  /** Receiver: the page can take `chunks` more `data` messages. */
  | { type: "credit"; chunks: number }
  /** Sends everything queued, then closes. */
  | { type: "close" }
  /** After our last record: wait (bounded) for the peer to hang up, then `closed`. */
  | { type: "linger"; ms: number };

export type FromWorker =
  | { type: "connected" }
  /** Receiver: plaintext in order, gathered into large chunks. */
  | { type: "data"; chunk: ArrayBuffer }
  /** Sender: one record from the receiver (its ack). */
  | { type: "record"; bytes: Uint8Array }
  /** Sender: the socket has room for one more `send`. */
  | { type: "credit" }
  | { type: "closed" }
  | { type: "error"; kind: PageErrorKind; message: string };

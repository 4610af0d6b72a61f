/**
 * The transit worker's relay connection. Where the browser has
 * WebSocketStream (Chromium), reading waits for `ready()`, so a page that
 * cannot store as fast as the peer sends stops reading, and TCP pushes back
 * through the relay to the sender: memory stays flat however slow the disk.
 * Elsewhere, a WebSocket, which reads as fast as data comes.
 */
import { CONNECT_TIMEOUT_MS, openSocket, serverGone } from "../page/socket.ts";
import type { SocketKind } from "./protocol.ts";

/** Above this many queued bytes a WebSocket sender waits. */
const HIGH_WATER = 4 * 1024 * 1024;
const DRAIN_POLL_MS = 2;

export interface RelaySocket {
  /** Sends `bytes`; resolves once `bytes` may be reused and the socket has room. */
  send(bytes: Uint8Array): Promise<void>;
  close(): void;
}

export interface SocketEvents {
  /** One binary message; `null` for a text message (never valid here). */
  data(buf: ArrayBuffer | null): void;
  /** The connection ended, whoever ended it. */
  closed(): void;
  /** Resolves when the next message may be read. */
  ready(): Promise<void>;
}

export function openRelaySocket(url: string, ev: SocketEvents, kind: SocketKind): Promise<RelaySocket> {
  return kind === "auto" && "WebSocketStream" in globalThis ? openStream(url, ev) : openEvents(url, ev);
}

interface WebSocketStreamLike {
  readonly opened: Promise<{ readable: ReadableStream<ArrayBuffer | string>; writable: WritableStream<Uint8Array> }>;
  close(): void;
}
type WebSocketStreamCtor = new (url: string) => WebSocketStreamLike;

async function openStream(url: string, ev: SocketEvents): Promise<RelaySocket> {
  const wss = new (globalThis as unknown as { WebSocketStream: WebSocketStreamCtor }).WebSocketStream(url);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(serverGone("timed out")), CONNECT_TIMEOUT_MS)));
  const refused = wss.opened.catch((e: unknown) => Promise.reject(serverGone(e instanceof Error ? e.message : `cannot connect to ${url}`)));
  let opened: Awaited<WebSocketStreamLike["opened"]>;
  try {
    opened = await Promise.race([refused, timeout]);
  } catch (e) {
    wss.close();
    throw e;
  } finally {
    clearTimeout(timer);
  }
  const writer = opened.writable.getWriter();
  void readLoop(opened.readable.getReader(), ev);
  return {
    send: (bytes) => writer.write(bytes),
    close: () => wss.close(),
  };
}

async function readLoop(reader: ReadableStreamDefaultReader<ArrayBuffer | string>, ev: SocketEvents): Promise<void> {
  try {
    for (;;) {
      await ev.ready();
      const { value, done } = await reader.read();
      if (done) break;
      ev.data(typeof value === "string" ? null : value);
    }
  } catch {
    // a reset connection ends like a closed one
  }
  ev.closed();
}

async function openEvents(url: string, ev: SocketEvents): Promise<RelaySocket> {
  const ws = await openSocket(url, true);
  ws.onmessage = (m) => ev.data(m.data instanceof ArrayBuffer ? m.data : null);
  ws.onclose = () => ev.closed();
  return {
    // WebSocket `send` copies, so `bytes` is free at once; wait only for room.
    send: async (bytes) => {
      ws.send(bytes as Uint8Array<ArrayBuffer>);
      while (ws.bufferedAmount > HIGH_WATER && ws.readyState === WebSocket.OPEN) await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
    },
    close: () => ws.close(),
  };
}

/**
 * Sending with wormhole v1 (WORMHOLE-PROTOCOL.md §4.2), as the CLI does: our
 * `transit` then the `offer`; on `file_ack`, the bytes through the WebSocket
 * relay in records read from a `ByteSource` (the file, or for several files
 * or a folder a zip built on the fly, zip-writer.ts), then the receiver's ack record
 * checked against our own SHA-256 of what we sent. Text: `offer{message}`,
 * wait for `message_ack`.
 */
import { checkAck, transitKey, type Offer } from "../wormhole/index.ts";
import { Checksum } from "./checksum.ts";
import type { PageConfig } from "./config.ts";
import { PageError } from "./errors.ts";
import { fileSource, type ByteSource } from "./byte-source.ts";
import { ourTransitHints } from "./hints.ts";
import { MailboxSession } from "./mailbox-session.ts";
import type { DirSelection } from "./selection.ts";
import { TransitClient } from "./transit-client.ts";
import type { Cancel, FlowView } from "./ui-port.ts";
import { zipSize } from "./zip-records.ts";
import { zipSource } from "./zip-writer.ts";

export type Payload = { kind: "text"; text: string } | { kind: "file"; file: File } | { kind: "dir"; dir: DirSelection };

export async function send(cfg: PageConfig, payload: Payload, view: FlowView, cancel: Cancel): Promise<void> {
  if (payload.kind !== "text" && cfg.relayWs === null) throw new PageError("local", "This server offers no WebSocket relay, so the page cannot send files");
  view.status("Connecting…");
  const mb = await MailboxSession.open(cfg.mailbox, cfg.appid);
  cancel.onCancel(() => void mb.close("lonely"));
  try {
    mb.allocateCode();
    await showCode(mb, view);
    if (payload.kind !== "text") mb.sendMessage({ type: "transit", transit: ourTransitHints(cfg.relayTcp) });
    mb.sendMessage({ type: "offer", offer: offerFor(payload) });
    await waitAnswer(mb, payload.kind === "text" ? "message_ack" : "file_ack", view);
    if (payload.kind !== "text") await sendFile(cfg, mb, sourceFor(payload), view, cancel);
    view.status(payload.kind === "text" ? "Text sent." : `Sent ${payload.kind === "file" ? payload.file.name : payload.dir.dirname}.`);
    await mb.close("happy");
  } catch (e) {
    await mb.close(e instanceof PageError && e.kind === "wrong-code" ? "scary" : "errory");
    throw e;
  }
}

function offerFor(payload: Payload): Offer {
  if (payload.kind === "text") return { kind: "message", text: payload.text };
  if (payload.kind === "file") return { kind: "file", filename: payload.file.name, filesize: payload.file.size };
  // Every client sends and expects this mode, whatever the zip holds (ours: STORED entries).
  const { dirname, numbytes, numfiles } = payload.dir;
  return { kind: "directory", mode: "zipfile/deflated", dirname, zipsize: zipSize(payload.dir.items.map((i) => i.entry)), numbytes, numfiles };
}

/** The bytes that cross transit: the file itself, or the folder as a zip built while it goes. */
function sourceFor(payload: Exclude<Payload, { kind: "text" }>): ByteSource {
  return payload.kind === "file" ? fileSource(payload.file) : zipSource(payload.dir.items);
}

async function showCode(mb: MailboxSession, view: FlowView): Promise<void> {
  for (;;) {
    const ev = await mb.next();
    if (ev.type === "code") {
      view.code(ev.code.code);
      view.status("Waiting for the other side to enter the code…");
      return;
    }
  }
}

async function waitAnswer(mb: MailboxSession, want: "message_ack" | "file_ack", view: FlowView): Promise<void> {
  for (;;) {
    const msg = await mb.nextMessage();
    if (msg.type === "error") throw new PageError("peer-error", `The other side refused: ${msg.error}`);
    if (msg.type !== "answer") continue; // their `transit`: we always use our relay
    if (msg.answer.kind !== want || msg.answer.value !== "ok") throw new PageError("peer-error", `Unexpected answer ${msg.answer.kind}: ${msg.answer.value}`);
    view.status("Connected: transferring…");
    return;
  }
}

async function sendFile(cfg: PageConfig, mb: MailboxSession, src: ByteSource, view: FlowView, cancel: Cancel): Promise<void> {
  const key = mb.sharedKey;
  if (key === null || cfg.relayWs === null) throw new PageError("local", "No confirmed key");
  const hash = await Checksum.create();
  const pipe = await TransitClient.open(cfg.relayWs, transitKey(key, cfg.appid), "sender", 0);
  cancel.onCancel(() => pipe.close());
  const next = () => Promise.race([src.read(), pipe.failed]);
  let sent = 0;
  for (let chunk = await next(); chunk !== null; chunk = await next()) {
    if (cancel.cancelled) throw new PageError("cancelled", "Cancelled");
    hash.update(chunk);
    sent += chunk.length;
    await pipe.send(chunk); // transfers the buffer
    view.progress(sent, src.size);
  }
  if (sent !== src.size) throw new PageError("local", "The file changed while being sent");
  view.status("Waiting for the receiver to confirm…");
  const record = await pipe.nextRecord();
  pipe.close();
  try {
    checkAck(record, hash.digest());
  } catch (e) {
    throw new PageError("peer-error", `The receiver's checksum does not match: ${e instanceof Error ? e.message : String(e)}`);
  }
}

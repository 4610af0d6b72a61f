/**
 * Receiving with wormhole v1 (WORMHOLE-PROTOCOL.md §4.2), as the CLI does:
 * text → show it, `message_ack`; file or directory → our `transit` (exactly
 * once, before the `answer`), `file_ack`, then the bytes over the WebSocket
 * relay into a download, with an incremental SHA-256 that goes back as the
 * final ack record so the sender can verify it.
 */
import { bytesToHex } from "../wormhole/bytes.ts";
import { encodeAck, transitKey, type Offer, type PeerMessage } from "../wormhole/index.ts";
import { Checksum } from "./checksum.ts";
import type { PageConfig } from "./config.ts";
import { openDownload, requireSize, safeName, type Sink } from "./download.ts";
import { PageError } from "./errors.ts";
import { ourTransitHints } from "./hints.ts";
import { openFolderSink } from "./folder-sink.ts";
import { MailboxSession } from "./mailbox-session.ts";
import { TransitClient } from "./transit-client.ts";
import type { Cancel, FlowView } from "./ui-port.ts";

/** How long we wait for the sender to hang up after our ack. */
const ACK_LINGER_MS = 10_000;

/** `into`: a folder the user picked (files are saved, folders unpacked there); else a download. */
export async function receive(cfg: PageConfig, code: string, view: FlowView, cancel: Cancel, into: FileSystemDirectoryHandle | null = null): Promise<void> {
  view.status("Connecting…");
  const mb = await MailboxSession.open(cfg.mailbox, cfg.appid);
  cancel.onCancel(() => void mb.close("lonely"));
  try {
    mb.setCode(code);
    view.status("Waiting for the other side…");
    let sentTransit = false;
    for (;;) {
      const msg = await mb.nextMessage();
      if (msg.type === "error") throw new PageError("peer-error", `The other side reported: ${msg.error}`);
      if (msg.type === "transit" && !sentTransit) {
        sentTransit = true;
        mb.sendMessage({ type: "transit", transit: ourTransitHints(cfg.relayTcp) });
      }
      if (msg.type !== "offer") continue;
      if (msg.offer.kind === "message") return await receiveText(mb, msg.offer.text, view);
      if (!sentTransit) mb.sendMessage({ type: "transit", transit: ourTransitHints(cfg.relayTcp) });
      return await receiveBytes(cfg, mb, msg.offer, view, cancel, into);
    }
  } catch (e) {
    await mb.close(e instanceof PageError && e.kind === "wrong-code" ? "scary" : "errory");
    throw e;
  }
}

async function receiveText(mb: MailboxSession, text: string, view: FlowView): Promise<void> {
  view.text(text);
  mb.sendMessage({ type: "answer", answer: { kind: "message_ack", value: "ok" } });
  view.status("Text received.");
  await mb.close("happy");
}

function target(offer: Exclude<Offer, { kind: "message" }>): { name: string; size: number } {
  if (offer.kind === "file") return { name: safeName(offer.filename), size: offer.filesize };
  if (!offer.mode.startsWith("zipfile")) throw new PageError("peer-error", `Unknown directory mode ${offer.mode}`);
  return { name: `${safeName(offer.dirname)}.zip`, size: offer.zipsize };
}

async function receiveBytes(
  cfg: PageConfig,
  mb: MailboxSession,
  offer: Exclude<Offer, { kind: "message" }>,
  view: FlowView,
  cancel: Cancel,
  into: FileSystemDirectoryHandle | null,
): Promise<void> {
  const { name, size } = target(offer);
  requireSize(size);
  const key = mb.sharedKey;
  if (cfg.relayWs === null) throw new PageError("local", "This server offers no WebSocket relay, so the page cannot receive files");
  if (key === null) throw new PageError("local", "No confirmed key");
  const answer: PeerMessage = { type: "answer", answer: { kind: "file_ack", value: "ok" } };
  mb.sendMessage(answer);
  view.status(`Receiving ${name}…`);
  const credits = new Credits();
  const sink = into === null ? await openDownload(name, size, credits.grant) : await openFolderSink(into, offer, credits.grant);
  const done = receiveInto(sink, size, await Checksum.create(), view);
  let pipe: TransitClient;
  try {
    pipe = await TransitClient.open(cfg.relayWs, transitKey(key, cfg.appid), "receiver", size, done.onData);
  } catch (e) {
    sink.abort(String(e)); // or the browser shows a download that never ends
    throw e;
  }
  credits.attach(pipe);
  cancel.onCancel(() => (sink.abort("cancelled"), pipe.close()));
  // Once every byte is stored, a connection that drops (the sender hangs up on our ack) changes nothing.
  pipe.failed.catch((e: unknown) => done.complete || done.fail(e));
  const digest = await done.finished;
  await pipe.send(encodeAck(digest));
  // Closing at once could drop the ack before the relay forwards it; the sender closes on reading it.
  await pipe.linger(ACK_LINGER_MS);
  view.status(`Received ${name} (${size} bytes), SHA-256 ${bytesToHex(digest)}.`);
  if (sink.finish !== undefined) view.status(await sink.finish(view));
  await mb.close("happy");
}

/** The chunks a sink can take, granted before the pipe exists too: handed over once it does. */
class Credits {
  #early = 0;
  #pipe: TransitClient | null = null;

  readonly grant = (n: number): void => {
    if (this.#pipe === null) this.#early += n;
    else this.#pipe.credit(n);
  };

  attach(pipe: TransitClient): void {
    this.#pipe = pipe;
    pipe.credit(this.#early);
  }
}

/** Hashes and writes chunks until `size` bytes (the worker refuses more); resolves with the SHA-256. */
function receiveInto(sink: Sink, size: number, hash: Checksum, view: FlowView) {
  let got = 0;
  let resolve!: (d: Uint8Array) => void;
  let reject!: (e: unknown) => void;
  const finished = new Promise<Uint8Array>((res, rej) => ((resolve = res), (reject = rej)));
  let complete = false;
  const finish = () => void Promise.resolve(sink.close()).then(() => ((complete = true), resolve(hash.digest())), reject);
  if (size === 0) queueMicrotask(finish);
  return {
    finished,
    get complete() {
      return complete;
    },
    fail: (e: unknown) => (sink.abort(String(e)), reject(e)),
    onData: (chunk: Uint8Array) => {
      got += chunk.length;
      hash.update(chunk);
      sink.write(chunk); // may transfer the buffer: last
      view.progress(got, size);
      if (got === size) finish();
    },
  };
}

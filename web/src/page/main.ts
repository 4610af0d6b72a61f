/**
 * The page: wires the DOM to the receive and send flows. Opening `/#CODE`
 * receives at once; the fragment is dropped from the address bar so the code
 * is not left in history, and it never leaves the browser except as the PAKE.
 */
import { loadConfig, type PageConfig } from "./config.ts";
import { PageError } from "./errors.ts";
import { qrDataUrl } from "./qr.ts";
import { receive } from "./receive.ts";
import { send, type Payload } from "./send.ts";
import { droppedEntries, walkEntries } from "./drop-entries.ts";
import { select, type Picked } from "./selection.ts";
import { Cancel, type FlowView } from "./ui-port.ts";
import { formatProgress } from "./progress.ts";

function $<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`missing #${id}`);
  return el as T;
}

let busy: Cancel | null = null;

function show(id: string, on: boolean): void {
  $(id).hidden = !on;
}

function startSession(): FlowView {
  for (const id of ["code-line", "qr", "text-output", "error", "progress"]) show(id, false);
  show("session", true);
  show("cancel", true);
  $("progress-text").textContent = "";
  const started = performance.now();
  let lastDraw = 0;
  return {
    status: (t) => void ($("status").textContent = t),
    code: (code) => showCode(code),
    text: (t) => {
      $("text-output").textContent = t;
      show("text-output", true);
    },
    progress: (done, total) => {
      // Called per record (16 KiB): redraw at most every 100 ms, and at the end.
      const now = performance.now();
      if (done < total && now - lastDraw < 100) return;
      lastDraw = now;
      const bar = $<HTMLProgressElement>("progress");
      bar.max = Math.max(total, 1);
      bar.value = done;
      show("progress", true);
      $("progress-text").textContent = formatProgress(done, total, performance.now() - started);
    },
  };
}

function showCode(code: string): void {
  const link = `${location.origin}/#${code}`;
  $("code").textContent = code;
  const a = $<HTMLAnchorElement>("link");
  a.href = link;
  a.textContent = link;
  $<HTMLImageElement>("qr").src = qrDataUrl(link);
  show("code-line", true);
  show("qr", true);
}

function showError(e: unknown): void {
  const err = $("error");
  err.textContent = e instanceof Error ? e.message : String(e);
  err.dataset["kind"] = e instanceof PageError ? e.kind : "local";
  show("error", true);
  $("status").textContent = "Failed.";
}

async function run(flow: (cfg: PageConfig, view: FlowView, cancel: Cancel) => Promise<void>): Promise<void> {
  if (busy !== null) return;
  const cancel = new Cancel();
  busy = cancel;
  document.body.dataset["state"] = "busy";
  const view = startSession();
  try {
    await flow(await loadConfig(), view, cancel);
    document.body.dataset["state"] = "done";
  } catch (e) {
    // A flow's own "cancelled" error says more (what was kept); other errors after Cancel are its echo.
    showError(cancel.cancelled && !(e instanceof PageError && e.kind === "cancelled") ? new PageError("cancelled", "Cancelled.") : e);
    document.body.dataset["state"] = "failed";
  } finally {
    busy = null;
    show("cancel", false);
  }
}

function receiveCode(code: string): void {
  const trimmed = code.trim();
  if (trimmed !== "") void run((cfg, view, cancel) => receive(cfg, trimmed, view, cancel));
}

function sendPayload(payload: Payload): void {
  void run((cfg, view, cancel) => send(cfg, payload, view, cancel));
}

/** One plain file goes as a file; several, or a folder, as a directory (a zip built on the fly). */
function sendPicked(picked: () => Promise<Picked[]>): void {
  void run(async (cfg, view, cancel) => {
    view.status("Reading what was picked…"); // a dropped folder is walked first
    const sel = select(await picked());
    if (sel === null) throw new PageError("local", "Nothing to send: no file was picked.");
    await send(cfg, sel.kind === "file" ? { kind: "file", file: sel.file } : { kind: "dir", dir: sel.dir }, view, cancel);
  });
}

/** A folder picker's files carry their path under the folder in `webkitRelativePath`. */
function fromInput(input: HTMLInputElement): void {
  const files = Array.from(input.files ?? []);
  input.value = ""; // picking the same files again fires `change` again
  if (files.length > 0) sendPicked(async () => files.map((f) => ({ path: f.webkitRelativePath || f.name, file: f })));
}

function wire(): void {
  $("receive-form").addEventListener("submit", (e) => {
    e.preventDefault();
    receiveCode($<HTMLInputElement>("code-input").value);
  });
  $("text-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $<HTMLTextAreaElement>("text-input").value;
    if (text !== "") sendPayload({ kind: "text", text });
  });
  for (const id of ["file-input", "folder-input"]) {
    const input = $<HTMLInputElement>(id);
    input.addEventListener("change", () => fromInput(input));
  }
  wireDrop();
  wireReceiveFolder();
  $("cancel").addEventListener("click", () => busy?.cancel());
}

function wireDrop(): void {
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => (e.preventDefault(), drop.classList.add("over")));
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer === null) return;
    const entries = droppedEntries(e.dataTransfer); // now: the items die with the event
    if (entries.length > 0) sendPicked(() => walkEntries(entries));
  });
}

function noFolder(): never {
  throw new PageError("cancelled", "No folder was picked.");
}

/** Where the browser has a folder picker (Chromium), received folders can be unpacked into one. */
function wireReceiveFolder(): void {
  const pick = (window as { showDirectoryPicker?: (o: object) => Promise<FileSystemDirectoryHandle> }).showDirectoryPicker;
  if (pick === undefined) return;
  const button = $<HTMLButtonElement>("receive-folder");
  show("receive-folder", true);
  button.addEventListener("click", () => {
    const typed = $<HTMLInputElement>("code-input").value.trim();
    if (typed === "" || busy !== null) return void $<HTMLInputElement>("code-input").focus();
    // The picker must open inside the click (a user gesture), before anything is awaited.
    const picked = pick.call(window, { id: "ferry-receive", mode: "readwrite" });
    void run(async (cfg, view, cancel) => receive(cfg, typed, view, cancel, await picked.catch(noFolder)));
  });
}

function codeFromHash(): string | null {
  const code = decodeURIComponent(location.hash.slice(1));
  if (code === "") return null;
  history.replaceState(null, "", location.pathname + location.search);
  return code;
}

/** At load, not on the first download: the worker also keeps the page for offline use (sw/shell.ts). */
function registerWorker(): void {
  if ("serviceWorker" in navigator && window.isSecureContext) navigator.serviceWorker.register("./sw.js").catch(() => {});
}

wire();
registerWorker();
const code = codeFromHash();
if (code !== null) {
  $<HTMLInputElement>("code-input").value = code;
  receiveCode(code);
}

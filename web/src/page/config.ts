/**
 * Where the page connects, as `ferry serve` tells it in `./ferry-web.json`.
 * Learning it at run time keeps the bundle identical for every server.
 */
import { PageError } from "./errors.ts";

export interface PageConfig {
  readonly mailbox: string;
  readonly relayWs: string | null;
  readonly relayTcp: string | null;
  readonly appid: string;
}

function str(v: unknown): string | null {
  return typeof v === "string" && v !== "" ? v : null;
}

export async function loadConfig(): Promise<PageConfig> {
  let json: Record<string, unknown>;
  try {
    const res = await fetch("./ferry-web.json", { cache: "no-store" });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    json = (await res.json()) as Record<string, unknown>;
  } catch (e) {
    throw new PageError("server-gone", `Cannot reach the ferry server (ferry-web.json: ${String(e)})`);
  }
  const mailbox = str(json["mailbox"]);
  const appid = str(json["appid"]);
  if (mailbox === null || appid === null) throw new PageError("local", "ferry-web.json lacks mailbox or appid");
  return { mailbox, appid, relayWs: str(json["relay_ws"]), relayTcp: str(json["relay_tcp"]) };
}

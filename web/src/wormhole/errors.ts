/**
 * One error type for the protocol core, saying what went wrong and whose fault
 * it is, so the page can tell "the other side used a different code" from
 * "the server refused us" from a bug in the caller.
 *
 * Messages never repeat secrets (codes, keys) and quote peer text only through
 * JSON.stringify, so nothing a peer sends can masquerade as our own words.
 */

/** Who caused it: the peer (or whoever speaks in its place), the server, or our caller. */
export type Fault = "peer" | "server" | "local";

export class WormholeError extends Error {
  override readonly name = "WormholeError";

  constructor(
    /** Stable, machine-readable reason, e.g. `"wrong-code"`. */
    readonly code: string,
    readonly fault: Fault,
    message: string,
  ) {
    super(message);
  }
}

export function peerError(code: string, message: string): WormholeError {
  return new WormholeError(code, "peer", message);
}

export function serverError(code: string, message: string): WormholeError {
  return new WormholeError(code, "server", message);
}

export function localError(code: string, message: string): WormholeError {
  return new WormholeError(code, "local", message);
}

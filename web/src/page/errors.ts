/**
 * Errors the page shows to its user. `kind` picks the wording and lets the
 * browser tests check *which* failure happened, not just that one did.
 */
export type PageErrorKind = "wrong-code" | "peer-gone" | "server-gone" | "peer-error" | "cancelled" | "local";

export class PageError extends Error {
  readonly kind: PageErrorKind;

  constructor(kind: PageErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

export const WRONG_CODE = "Wrong code: the other side used a different code. Check it and try again.";

/** What a flow tells the page about; main.ts renders it. Keeps flows free of the DOM. */
export interface FlowView {
  status(text: string): void;
  code(code: string): void;
  text(text: string): void;
  /** `done` of `total` bytes moved so far. */
  progress(done: number, total: number): void;
}

/** Cancellation shared by a flow and the Cancel button. */
export class Cancel {
  #cancelled = false;
  #hooks: (() => void)[] = [];

  get cancelled(): boolean {
    return this.#cancelled;
  }

  onCancel(f: () => void): void {
    this.#hooks.push(f);
  }

  cancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    for (const f of this.#hooks.splice(0)) f();
  }
}

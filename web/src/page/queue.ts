/**
 * A small async queue: sockets push, the flow `await`s the next item. A failure
 * is sticky, so every later `next()` rejects with it (a closed socket stays closed).
 */
export class AsyncQueue<T> {
  #items: T[] = [];
  #waiters: { resolve: (v: T) => void; reject: (e: unknown) => void }[] = [];
  #failure: unknown = null;

  push(item: T): void {
    const w = this.#waiters.shift();
    if (w) w.resolve(item);
    else this.#items.push(item);
  }

  fail(e: unknown): void {
    if (this.#failure !== null) return;
    this.#failure = e;
    for (const w of this.#waiters.splice(0)) w.reject(e);
  }

  next(): Promise<T> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve(item);
    if (this.#failure !== null) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }
}

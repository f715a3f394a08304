/**
 * A bounded queue consumed as an async iterable: the socket reader pushes without ever waiting, the consumer
 * pulls at its own pace. When the consumer falls behind and the queue is full, the OLDEST item is dropped
 * (monitoring wants the latest state, and the reader must never block) and `dropped` counts the losses.
 */

export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private head = 0;
  private readonly waiters: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }[] = [];
  private ended = false;
  private error: unknown = undefined;
  private readonly capacity: number;
  private readonly onReturn: (() => void) | undefined;
  /** Items discarded because the queue was full. */
  dropped = 0;

  /** `onReturn` runs once when the consumer stops early (break) or the queue is closed. */
  constructor(capacity: number, onReturn?: () => void) {
    if (!(capacity >= 1)) throw new RangeError("AsyncQueue capacity must be >= 1");
    this.capacity = capacity;
    this.onReturn = onReturn;
  }

  get size(): number {
    return this.items.length - this.head;
  }

  get closed(): boolean {
    return this.ended;
  }

  push(item: T): void {
    if (this.ended) return;
    const w = this.waiters.shift();
    if (w) {
      w.resolve({ value: item, done: false });
      return;
    }
    if (this.size >= this.capacity) {
      this.head++;
      this.dropped++;
    }
    this.items.push(item);
    // Compact now and then so the array does not grow without bound.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Ends the iteration: pending and future reads finish (or reject with `error`) after buffered items. */
  close(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    for (const w of this.waiters.splice(0)) {
      if (error === undefined) w.resolve({ value: undefined, done: true });
      else w.reject(error);
    }
    this.onReturn?.();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.size > 0) {
      const value = this.items[this.head] as T;
      this.items[this.head] = undefined as T;
      this.head++;
      if (this.head === this.items.length) {
        this.items.length = 0;
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) {
      return this.error === undefined
        ? Promise.resolve({ value: undefined, done: true })
        : Promise.reject(this.error);
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.next(),
      return: async () => {
        this.close();
        return { value: undefined, done: true };
      },
    };
  }
}

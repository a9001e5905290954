/** A first-in first-out list with O(1) push and shift, compacted now and then. */
export class Fifo<T> {
  #items: T[] = [];
  #head = 0;

  get head(): T | undefined {
    return this.#items[this.#head];
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): T | undefined {
    const item = this.#items[this.#head];
    this.#head++;
    if (this.#head >= this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 4096 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Drops every item `drop` matches, keeping the order of the rest: O(size), for cancellation. */
  removeWhere(drop: (item: T) => boolean): void {
    this.#items = this.#items.slice(this.#head).filter((item) => !drop(item));
    this.#head = 0;
  }
}

/**
 * Releases values in the order their indexes were handed out, however they arrive: the stable order
 * a caller asks for when it wants results beside its inputs. Holds only values that wait for an
 * earlier one.
 */
export class InputOrder<T> {
  readonly #waiting = new Map<number, T>();
  #next = 0;

  /** Records the value for `index` and returns every value that is now in turn, in order. */
  push(index: number, value: T): T[] {
    if (index !== this.#next) {
      this.#waiting.set(index, value);
      return [];
    }
    const released = [value];
    this.#next++;
    for (let v = this.#waiting.get(this.#next); v !== undefined; v = this.#waiting.get(this.#next)) {
      this.#waiting.delete(this.#next);
      released.push(v);
      this.#next++;
    }
    return released;
  }

  get pending(): number {
    return this.#waiting.size;
  }
}

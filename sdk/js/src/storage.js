/**
 * Where the offline queue of unsent reports lives. Any object with getItem/setItem (sync or
 * async) works: `window.localStorage`, a game engine's key-value store, or fileStorage() in Node.
 */
export class MemoryStorage {
  constructor() {
    /** @type {Map<string, string>} */
    this.items = new Map();
  }
  /** @param {string} key */
  getItem(key) {
    return this.items.has(key) ? /** @type {string} */ (this.items.get(key)) : null;
  }
  /** @param {string} key @param {string} value */
  setItem(key, value) {
    this.items.set(key, value);
  }
}

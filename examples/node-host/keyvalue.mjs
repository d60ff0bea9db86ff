// wasi:keyvalue@0.2.0-draft2 (store, atomics, batch) for a transpiled component, as a Node
// platform supplies it: buckets are in-memory Maps, optionally written through to a JSON file so
// that the component's memory (links, tokens, audit trail) outlives the process.
//
//   const kv = createKeyValue({ file: 'matterlink-kv.json' });
//   imports['wasi:keyvalue/store'] = kv.store;
//   imports['wasi:keyvalue/atomics'] = kv.atomics;
//   imports['wasi:keyvalue/batch'] = kv.batch;
//
// Conventions shared with the bundled wasmtime host (host/src/keyvalue): `increment` keeps the
// number as decimal ASCII, `list-keys` pages through keys in sorted order with the last key of a
// page as the cursor, and every write gets a new version so a `cas` made before a write can no
// longer swap, even when the value was changed back ("ABA").
//
// Errors follow jco's convention for imported `result<_, error>`: the implementation throws the
// error variant itself, e.g. `{ tag: 'no-such-store' }` or `{ tag: 'other', val: 'message' }`.

import { readFileSync, writeFileSync, renameSync } from 'node:fs';

/** Keys per `list-keys` page (the wasmtime host uses the same). */
export const PAGE = 1000;

/**
 * @param {object} [options]
 * @param {string[]} [options.buckets] identifiers `open` accepts (the component uses `default`)
 * @param {string} [options.file] a JSON file to load at start and write after every change
 */
export function createKeyValue({ buckets = ['default'], file } = {}) {
  /** @type {Map<string, Map<string, { value: Uint8Array, version: number }>>} */
  const data = new Map(buckets.map((name) => [name, new Map()]));
  let version = 0;

  if (file) {
    let saved;
    try {
      saved = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      if (e.code !== 'ENOENT') throw e;
    }
    for (const [name, entries] of Object.entries(saved?.buckets ?? {})) {
      const bucket = data.get(name);
      if (!bucket) continue;
      for (const [key, base64] of Object.entries(entries)) {
        bucket.set(key, { value: Buffer.from(base64, 'base64'), version: ++version });
      }
    }
  }

  const other = (message) => ({ tag: 'other', val: String(message) });

  function persist() {
    if (!file) return;
    const out = { buckets: {} };
    for (const [name, bucket] of data) {
      out.buckets[name] = {};
      for (const [key, { value }] of [...bucket].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        out.buckets[name][key] = Buffer.from(value).toString('base64');
      }
    }
    // Written whole and renamed, so a crash leaves the old file or the new one, never half; owner
    // only, as it holds the integration's iManage tokens.
    const tmp = `${file}.tmp-${process.pid}`;
    try {
      writeFileSync(tmp, JSON.stringify(out, null, 1), { mode: 0o600 });
      renameSync(tmp, file);
    } catch (e) {
      throw other(`writing ${file}: ${e.message}`);
    }
  }

  function bytes(value) {
    if (!(value instanceof Uint8Array)) throw other('value must be bytes');
    // A copy: the component's memory behind `value` is reused after the call.
    return Uint8Array.from(value);
  }

  function write(entries, key, value) {
    entries.set(key, { value: bytes(value), version: ++version });
  }

  // `#entries` is private: only this module can reach a bucket's contents from a handle.
  class Bucket {
    #entries;
    constructor(entries) {
      this.#entries = entries;
    }
    static entries(bucket) {
      if (!(bucket instanceof Bucket)) throw other('not a bucket');
      return bucket.#entries;
    }
    get(key) {
      const entry = this.#entries.get(key);
      return entry ? Uint8Array.from(entry.value) : undefined;
    }
    set(key, value) {
      write(this.#entries, key, value);
      persist();
    }
    delete(key) {
      if (this.#entries.delete(key)) persist();
    }
    exists(key) {
      return this.#entries.has(key);
    }
    listKeys(cursor) {
      const sorted = [...this.#entries.keys()].sort();
      const start = cursor === undefined ? 0 : sorted.findIndex((k) => k > cursor);
      const keys = start < 0 ? [] : sorted.slice(start, start + PAGE);
      const more = start >= 0 && start + PAGE < sorted.length;
      return { keys, cursor: more ? keys[keys.length - 1] : undefined };
    }
  }

  const store = {
    Bucket,
    open(identifier) {
      const entries = data.get(identifier);
      if (!entries) throw { tag: 'no-such-store' };
      return new Bucket(entries);
    },
  };

  // A CAS remembers the version of the value it saw; `swap` writes only if the key is still at
  // that version (or still absent).
  class Cas {
    #entries;
    #key;
    #seen;
    constructor(entries, key) {
      this.#entries = entries;
      this.#key = key;
      this.#seen = entries.get(key);
    }
    static new(bucket, key) {
      return new Cas(Bucket.entries(bucket), key);
    }
    current() {
      return this.#seen ? Uint8Array.from(this.#seen.value) : undefined;
    }
    /** The swap itself: `null` when done, else a new handle on the latest value to retry with. */
    static trySwap(cas, value) {
      if (!(cas instanceof Cas)) throw { tag: 'store-error', val: other('not a cas') };
      if (cas.#entries.get(cas.#key)?.version !== cas.#seen?.version) {
        return new Cas(cas.#entries, cas.#key);
      }
      write(cas.#entries, cas.#key, value);
      return null;
    }
  }

  const atomics = {
    Cas,
    increment(bucket, key, delta) {
      const entries = Bucket.entries(bucket);
      const entry = entries.get(key);
      let current = 0n;
      if (entry) {
        const text = Buffer.from(entry.value).toString('utf8');
        if (!/^-?\d+$/.test(text)) throw other(`value of ${JSON.stringify(key)} is not an integer`);
        current = BigInt(text);
      }
      const next = BigInt.asIntN(64, current + delta);
      if (next !== current + delta) throw other(`increment of ${JSON.stringify(key)} overflows`);
      write(entries, key, Buffer.from(next.toString()));
      persist();
      return next;
    },
    swap(cas, value) {
      let retry;
      try {
        retry = Cas.trySwap(cas, value);
      } catch (e) {
        throw e?.tag === 'store-error' ? e : { tag: 'store-error', val: e };
      }
      if (retry) throw { tag: 'cas-failed', val: retry };
      persist();
    },
  };

  const batch = {
    getMany(bucket, keys) {
      const entries = Bucket.entries(bucket);
      return keys.map((key) => {
        const entry = entries.get(key);
        return [key, entry ? Uint8Array.from(entry.value) : undefined];
      });
    },
    setMany(bucket, keyValues) {
      const entries = Bucket.entries(bucket);
      for (const [key, value] of keyValues) write(entries, key, value);
      persist();
    },
    deleteMany(bucket, keys) {
      const entries = Bucket.entries(bucket);
      for (const key of keys) entries.delete(key);
      persist();
    },
  };

  /** Every key of a bucket, for the platform's own inspection (not part of WASI). */
  function keys(name = 'default') {
    return [...(data.get(name)?.keys() ?? [])].sort();
  }

  return { store, atomics, batch, keys };
}

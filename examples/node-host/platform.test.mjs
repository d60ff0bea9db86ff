// The platform modules on their own (no component): `node --test` or `npm test`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createConfig } from './config.mjs';
import { createKeyValue, PAGE } from './keyvalue.mjs';

const b = (s) => new TextEncoder().encode(s);
const text = (v) => (v === undefined ? undefined : new TextDecoder().decode(v));
const thrown = (f) => {
  try {
    f();
  } catch (e) {
    return e;
  }
  assert.fail('expected a throw');
};

test('store: open, get, set, delete, exists', () => {
  const { store } = createKeyValue();
  assert.deepEqual(thrown(() => store.open('nope')), { tag: 'no-such-store' });
  const bucket = store.open('default');
  assert.equal(bucket.get('k'), undefined);
  assert.equal(bucket.exists('k'), false);
  const value = b('v1');
  bucket.set('k', value);
  value[0] = 0; // the caller's buffer is reused; the store kept a copy
  assert.equal(text(bucket.get('k')), 'v1');
  assert.equal(bucket.exists('k'), true);
  assert.equal(text(store.open('default').get('k')), 'v1', 'one bucket per identifier');
  bucket.delete('k');
  bucket.delete('k');
  assert.equal(bucket.exists('k'), false);
});

test('store: list-keys pages in order with a cursor', () => {
  const bucket = createKeyValue().store.open('default');
  assert.deepEqual(bucket.listKeys(undefined), { keys: [], cursor: undefined });
  const all = Array.from({ length: PAGE + 5 }, (_, i) => `key/${String(i).padStart(5, '0')}`);
  for (const k of [...all].reverse()) bucket.set(k, b('x'));
  const first = bucket.listKeys(undefined);
  assert.equal(first.keys.length, PAGE);
  assert.equal(first.cursor, all[PAGE - 1]);
  const second = bucket.listKeys(first.cursor);
  assert.deepEqual(second, { keys: all.slice(PAGE), cursor: undefined });
  assert.deepEqual(bucket.listKeys('zzz'), { keys: [], cursor: undefined });
});

test('atomics: increment keeps a decimal number', () => {
  const { store, atomics } = createKeyValue();
  const bucket = store.open('default');
  assert.equal(atomics.increment(bucket, 'n', 1n), 1n);
  assert.equal(atomics.increment(bucket, 'n', 5n), 6n);
  assert.equal(atomics.increment(bucket, 'n', 0n), 6n);
  assert.equal(text(bucket.get('n')), '6');
  bucket.set('t', b('abc'));
  assert.equal(thrown(() => atomics.increment(bucket, 't', 1n)).tag, 'other');
  bucket.set('max', b('9223372036854775807'));
  assert.equal(thrown(() => atomics.increment(bucket, 'max', 1n)).tag, 'other');
});

test('atomics: a cas swaps only while the value is unchanged', () => {
  const { store, atomics } = createKeyValue();
  const { Cas } = atomics;
  const bucket = store.open('default');

  const absent = Cas.new(bucket, 'k');
  assert.equal(absent.current(), undefined);
  atomics.swap(absent, b('one'));
  assert.equal(text(bucket.get('k')), 'one');

  const stale = Cas.new(bucket, 'k');
  assert.equal(text(stale.current()), 'one');
  bucket.set('k', b('two'));
  const failed = thrown(() => atomics.swap(stale, b('three')));
  assert.equal(failed.tag, 'cas-failed');
  assert.ok(failed.val instanceof Cas);
  assert.equal(text(failed.val.current()), 'two', 'the new handle sees the latest value');
  assert.equal(text(bucket.get('k')), 'two');
  atomics.swap(failed.val, b('three'));
  assert.equal(text(bucket.get('k')), 'three');

  // Changed and changed back: still a change.
  const aba = Cas.new(bucket, 'k');
  bucket.set('k', b('other'));
  bucket.set('k', b('three'));
  assert.equal(thrown(() => atomics.swap(aba, b('four'))).tag, 'cas-failed');

  // Created while absent, then someone else created it.
  const late = Cas.new(bucket, 'new');
  bucket.set('new', b('theirs'));
  assert.equal(thrown(() => atomics.swap(late, b('mine'))).tag, 'cas-failed');
  assert.equal(text(bucket.get('new')), 'theirs');

  const gone = Cas.new(bucket, 'new');
  bucket.delete('new');
  assert.equal(thrown(() => atomics.swap(gone, b('x'))).tag, 'cas-failed');
});

test('batch: get-many, set-many, delete-many', () => {
  const { store, batch } = createKeyValue();
  const bucket = store.open('default');
  batch.setMany(bucket, [
    ['a', b('1')],
    ['b', b('2')],
  ]);
  assert.deepEqual(
    batch.getMany(bucket, ['a', 'b', 'c']).map(([k, v]) => [k, text(v)]),
    [
      ['a', '1'],
      ['b', '2'],
      ['c', undefined],
    ],
  );
  batch.deleteMany(bucket, ['a', 'c']);
  assert.deepEqual(bucket.listKeys(undefined).keys, ['b']);
});

test('a JSON file keeps the store across instances, owner-readable only', () => {
  const dir = mkdtempSync(join(tmpdir(), 'matterlink-kv-test-'));
  try {
    const file = join(dir, 'kv.json');
    const one = createKeyValue({ file });
    const bucket = one.store.open('default');
    bucket.set('k', b('persisted'));
    one.atomics.increment(bucket, 'n', 2n);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const two = createKeyValue({ file });
    const again = two.store.open('default');
    assert.equal(text(again.get('k')), 'persisted');
    assert.equal(two.atomics.increment(again, 'n', 1n), 3n);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('config: get and get-all from a plain object', () => {
  const config = createConfig({ a: 'x', n: 3, off: false, gone: undefined });
  assert.equal(config.get('a'), 'x');
  assert.equal(config.get('n'), '3');
  assert.equal(config.get('off'), 'false');
  assert.equal(config.get('gone'), undefined);
  assert.equal(config.get('missing'), undefined);
  assert.deepEqual(config.getAll(), [
    ['a', 'x'],
    ['n', '3'],
    ['off', 'false'],
  ]);
  assert.throws(() => createConfig({ nested: { a: 1 } }), TypeError);
});

// Loads the matterlink component into Node.js: jco transpiles the component into core wasm
// modules plus a JS module of glue, and the glue is instantiated with the imports a Node
// platform supplies.
//
// - wasi:keyvalue (store, atomics, batch) and wasi:config/store: this example's own modules
//   (keyvalue.mjs, config.mjs), handed over by the platform at instantiation.
// - everything else (wasi:http outgoing, cli, io, clocks, random, filesystem): the shims of
//   @bytecodealliance/preview2-shim for Node.
//
// Transpiling uses the "instantiation" mode: the generated module exports `instantiate(getCore,
// imports)` instead of importing its imports itself, so each instance gets its own config and
// key-value store. (Without it, jco's `map` option would point `wasi:keyvalue/*` and
// `wasi:config/*` at importable modules instead, with one configuration per process.)

import { transpileBytes } from '@bytecodealliance/jco-transpile';
import { WASIShim } from '@bytecodealliance/preview2-shim/instantiation';
import { readFile, mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The exports with functions (wit/matterlink.wit, world `plugin`); `matterlink:imanage/types`
 * is exported too but holds only types, so jco gives it no object.
 */
const EXPORTS = ['integration', 'incomingHandler'];

/**
 * Transpiles `wasmPath` and instantiates it.
 *
 * @param {string} wasmPath the component, e.g. matterlink_component.wasm
 * @param {object} platform
 * @param {{ get: Function, getAll: Function }} platform.config from createConfig()
 * @param {{ store: object, atomics: object, batch: object }} platform.keyvalue from createKeyValue()
 * @param {object} [platform.wasi] options for preview2-shim's WASIShim (sandboxing); by default
 *   the component sees no preopened directories and no environment variables
 * @returns {Promise<{ exports: object, imports: string[], transpileMs: number }>}
 */
export async function loadComponent(wasmPath, { config, keyvalue, wasi }) {
  const component = await readFile(wasmPath);
  const started = Date.now();
  const { files, imports } = await transpileBytes(component, {
    name: 'matterlink',
    instantiation: 'async',
    emitTypescriptDeclarations: false,
  });
  const transpileMs = Date.now() - started;

  // Only the imports this platform knows how to satisfy: anything else is a mismatch between
  // the component and this host, better reported by name than as an undefined import later.
  const shim = new WASIShim(wasi ?? { sandbox: { preopens: {}, env: {} } }).getImportObject();
  const provided = {
    ...shim,
    'wasi:keyvalue/store': keyvalue.store,
    'wasi:keyvalue/atomics': keyvalue.atomics,
    'wasi:keyvalue/batch': keyvalue.batch,
    'wasi:config/store': config,
  };
  const missing = imports.filter((name) => !(name in provided));
  if (missing.length) {
    throw new Error(`the component imports what this host does not provide: ${missing.join(', ')}`);
  }

  // The glue is an ES module: written to a private directory, imported, and removed again.
  // The core modules are compiled straight from memory.
  const dir = await mkdtemp(join(tmpdir(), 'matterlink-jco-'));
  let glue;
  try {
    for (const [name, bytes] of Object.entries(files)) {
      if (!name.endsWith('.js')) continue;
      await mkdir(dirname(join(dir, name)), { recursive: true });
      await writeFile(join(dir, name), bytes);
    }
    glue = await import(pathToFileURL(join(dir, 'matterlink.js')).href);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const getCoreModule = (name) => {
    if (!files[name]) throw new Error(`jco asked for a core module it did not produce: ${name}`);
    return WebAssembly.compile(files[name]);
  };
  const exports = await glue.instantiate(getCoreModule, provided);
  for (const name of EXPORTS) {
    if (!exports[name]) throw new Error(`the component does not export ${name}`);
  }
  return { exports, imports, transpileMs };
}

/** A matter as the repository's fixtures spell it (snake_case JSON) to jco's camelCase record. */
export function matterFromJson(json) {
  const camel = (key) => key.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
  const matter = {};
  for (const [key, value] of Object.entries(json)) {
    if (value !== null && value !== undefined) matter[camel(key)] = value;
  }
  return matter;
}

/** A thrown component `error` variant (`{ tag, val }`) as text; anything else as itself. */
export function describeError(e) {
  if (e && typeof e === 'object' && 'tag' in e) {
    return `${e.tag}${e.val === undefined ? '' : `: ${e.val}`}`;
  }
  return e?.stack ?? String(e);
}

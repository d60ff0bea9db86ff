#!/usr/bin/env node
// Provision a matter's iManage workspace from Node.js with the unchanged matterlink component.
//
//   node provision.mjs <component.wasm> <imanage-base-url> [matter.json] [--kv store.json]
//
// Against the sandbox (`matterlink sandbox --port 18099`):
//
//   node provision.mjs matterlink_component.wasm http://127.0.0.1:18099
//
// Calls on-matter-created twice with the same matter and checks that both calls name the same
// workspace and that iManage holds exactly one workspace for the matter. Exits non-zero on any
// failure.

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { createConfig } from './config.mjs';
import { createKeyValue } from './keyvalue.mjs';
import { describeError, loadComponent, matterFromJson } from './host.mjs';

const here = dirname(fileURLToPath(import.meta.url));

function usage(message) {
  console.error(`provision: ${message}`);
  console.error('usage: node provision.mjs <component.wasm> <imanage-base-url> [matter.json] [--kv store.json]');
  process.exit(2);
}

function fail(message) {
  console.error(`provision: FAILED: ${message}`);
  process.exit(1);
}

const args = process.argv.slice(2);
let kvFile;
const positional = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--kv') {
    kvFile = args[++i] ?? usage('--kv needs a file');
  } else if (args[i].startsWith('-')) {
    usage(`unknown option ${args[i]}`);
  } else {
    positional.push(args[i]);
  }
}
const [wasmPath, baseUrlArg, matterPath = join(here, '../../tests/fixtures/matter-basic.json')] =
  positional;
if (!wasmPath || !baseUrlArg || positional.length > 3) usage('a component and a base URL are needed');
const baseUrl = baseUrlArg.replace(/\/+$/, '');

// The sandbox's fixed accounts (sandbox/src/lib.rs), as `matterlink demo` configures them
// (host/src/demo.rs, `sandbox_config`). A real platform reads these from its own settings.
const SANDBOX = {
  customerId: 1,
  library: 'ACTIVE',
  clientId: 'matterlink',
  clientSecret: 'sandbox-client-secret',
  username: 'sandbox-admin',
  password: 'sandbox-password',
};

const config = createConfig({
  imanage_base_url: baseUrl,
  imanage_library: SANDBOX.library,
  imanage_client_id: SANDBOX.clientId,
  imanage_client_secret: SANDBOX.clientSecret,
  imanage_username: SANDBOX.username,
  imanage_password: SANDBOX.password,
  templates: JSON.stringify({ Litigation: 'ACTIVE!100', Conveyancing: 'ACTIVE!200' }),
  field_map: JSON.stringify({
    'File Reference': 'custom13',
    'Assigned To': 'custom14',
    Status: 'custom15',
  }),
});
const keyvalue = createKeyValue({ file: kvFile && resolve(kvFile) });

// The installed versions (their package.json files are not in the packages' `exports`).
function version(pkg) {
  try {
    return JSON.parse(readFileSync(join(here, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

let matter;
try {
  matter = matterFromJson(JSON.parse(readFileSync(matterPath, 'utf8')));
} catch (e) {
  fail(`reading the matter ${matterPath}: ${e.message}`);
}

console.log(
  `matterlink under Node.js ${process.version} ` +
    `(jco-transpile ${version('@bytecodealliance/jco-transpile')}, ` +
    `preview2-shim ${version('@bytecodealliance/preview2-shim')})`,
);

let loaded;
try {
  loaded = await loadComponent(wasmPath, { config, keyvalue });
} catch (e) {
  fail(`loading ${wasmPath}: ${describeError(e)}`);
}
const { integration } = loaded.exports;
console.log(`  component   ${wasmPath}`);
console.log(`  transpiled  in ${loaded.transpileMs} ms; imports ${loaded.imports.join(', ')}`);
console.log(`  iManage     ${baseUrl} (library ${SANDBOX.library})`);
console.log(`  matter      ${matter.id} "${matter.title}" (${matter.matterType})`);

function provision(label) {
  try {
    const ws = integration.onMatterCreated(matter);
    console.log(`  ${label.padEnd(11)} workspace ${ws.id} "${ws.name}" ${ws.url}`);
    return ws;
  } catch (e) {
    fail(`on-matter-created (${label}): ${describeError(e)}`);
  }
}

const first = provision('first call');
const second = provision('second call');
if (first.id !== second.id) {
  fail(`not idempotent: the first call gave ${first.id}, the second ${second.id}`);
}
console.log(`  idempotent  both calls name ${first.id}`);

// What iManage holds, through its own API: workspaces whose Matter ID (custom2) is this matter's.
async function workspacesInIManage() {
  const form = new URLSearchParams({
    grant_type: 'password',
    username: SANDBOX.username,
    password: SANDBOX.password,
    client_id: SANDBOX.clientId,
    client_secret: SANDBOX.clientSecret,
  });
  const token = await fetch(`${baseUrl}/auth/oauth2/token`, { method: 'POST', body: form });
  if (!token.ok) throw new Error(`token: HTTP ${token.status} ${await token.text()}`);
  const { access_token: accessToken } = await token.json();
  const url =
    `${baseUrl}/work/api/v2/customers/${SANDBOX.customerId}/libraries/${SANDBOX.library}` +
    `/workspaces?custom2=${encodeURIComponent(matter.id)}&limit=100`;
  const answer = await fetch(url, { headers: { 'X-Auth-Token': accessToken } });
  if (!answer.ok) throw new Error(`workspace search: HTTP ${answer.status} ${await answer.text()}`);
  return (await answer.json()).data.results;
}

let found;
try {
  found = await workspacesInIManage();
} catch (e) {
  fail(`asking iManage for the matter's workspaces: ${e.message}`);
}
const ids = found.map((w) => w.id);
if (ids.length !== 1 || ids[0] !== first.id) {
  fail(`iManage holds ${ids.length} workspace(s) for matter ${matter.id}: [${ids.join(', ')}]`);
}
console.log(`  iManage     exactly one workspace for matter ${matter.id} (custom2): ${ids[0]}`);
console.log(`  key-value   ${keyvalue.keys().length} keys in bucket default${kvFile ? ` (${kvFile})` : ''}`);
console.log(`workspace ${first.id}`);
// preview2-shim keeps a worker thread for synchronous I/O; end the process explicitly.
process.exit(0);

/**
 * Completes package-lock.json with the platform-specific optional packages
 * that `npm install` left out because the registry this project reaches does
 * not serve those versions (rolldown, jco-node-fs and componentize-qjs builds
 * for macOS, Windows, musl...). Without their entries `npm ci` refuses the
 * lock file as out of sync. The entries carry the version and the os/cpu/libc
 * of the package, so `npm ci` skips them on other platforms without fetching.
 *
 * Run after `npm install` changed the lock file: `node tools/complete-lock.mjs`.
 */

import fs from 'node:fs';

const OSES = ['android', 'darwin', 'freebsd', 'openharmony', 'win32', 'linux'];
const CPUS = ['arm64', 'x64', 'arm', 'ppc64', 's390x', 'wasm32', 'ia32'];

/** The os/cpu/libc of a platform package, from its name (`binding-linux-x64-musl`). */
function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const out = {};
  const os = OSES.find((o) => parts.includes(o));
  const cpu = CPUS.find((c) => parts.includes(c));
  if (os) out.os = [os];
  if (cpu) out.cpu = [cpu];
  if (parts.includes('musl')) out.libc = ['musl'];
  else if (parts.some((p) => p.startsWith('gnu'))) out.libc = ['glibc'];
  return out;
}

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(fs.readFileSync(path, 'utf8'));
const packages = lock.packages;
let added = 0;
for (const entry of Object.values({ ...packages })) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (packages[key]) continue;
    packages[key] = { version, dev: true, optional: true, ...platformOf(name) };
    added += 1;
  }
}
const sorted = Object.keys(packages).sort((a, b) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0));
lock.packages = Object.fromEntries(sorted.map((k) => [k, packages[k]]));
fs.writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: ${added} platform package(s) added`);

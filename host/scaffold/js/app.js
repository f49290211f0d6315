/**
 * The __NAME__ naas plugin: validates, expands and renders `__KIND__` services.
 *
 * Build with `./build.sh`, check with `naas plugin test <component> fixtures`.
 * The contract is `wit/plugin.wit`. A `result` export returns its ok value and
 * throws its error value (a list of violations); the host's `render-named-template`
 * throws an error whose `payload` is the host's message.
 */

import { renderNamedTemplate } from 'naas:plugin/host@0.1.1';

import TEMPLATE from './templates/config.j2.js';

const ALLOWED = ['device', 'description'];

function violation(field, message) {
  return { field, message };
}

function specOf(service) {
  let spec;
  try {
    spec = JSON.parse(service.spec);
  } catch {
    spec = null;
  }
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw [violation('spec', 'spec must be an object')];
  }
  return spec;
}

/** Every violation of the spec, not only the first. */
function check(spec, context) {
  const found = [];
  for (const key of Object.keys(spec)) {
    if (!ALLOWED.includes(key)) {
      found.push(violation(`spec.${key}`, `unknown field "${key}"; allowed: device, description`));
    }
  }
  const device = spec.device;
  if (typeof device !== 'string') {
    found.push(violation('spec.device', 'spec.device must be a device name'));
  } else if (!context.devices.some((d) => d.name === device)) {
    found.push(violation('spec.device', `device ${device} is not granted to tenant ${context.tenant}`));
  }
  if (spec.description !== undefined && typeof spec.description !== 'string') {
    found.push(violation('spec.description', 'spec.description must be a string'));
  }
  return found;
}

export function describe() {
  return {
    name: '__NAME__',
    version: '0.1.0',
    vendor: 'example',
    description: '__KIND__ services',
    kinds: [
      {
        group: 'example.naas.io',
        version: 'v1alpha1',
        kind: '__KIND__',
        plural: '__PLURAL__',
        specSchema: JSON.stringify({
          type: 'object',
          required: ['device'],
          properties: {
            device: { type: 'string', description: 'Device to configure' },
            description: { type: 'string', description: 'Free text' },
          },
        }),
      },
    ],
    platforms: ['eos', 'frr'],
  };
}

export function validate(service, context) {
  const found = check(specOf(service), context);
  if (found.length > 0) throw found;
}

export function expand(service, context) {
  const spec = specOf(service);
  const found = check(spec, context);
  if (found.length > 0) throw found;
  if (spec.description === undefined) spec.description = '';
  return JSON.stringify(spec);
}

export function render(service, _context) {
  const spec = specOf(service);
  const vars = {
    kind: service.kind,
    namespace: service.namespace,
    name: service.name,
    device: spec.device,
    description: spec.description ?? '',
  };
  let text;
  try {
    // Named, so a deployment can override it (a Plugin's templates ConfigMap).
    text = renderNamedTemplate('config.j2', TEMPLATE, JSON.stringify(vars));
  } catch (e) {
    throw [violation('spec', `template failed: ${e?.payload ?? e}`)];
  }
  return [{ device: spec.device, format: 'cli', text }];
}

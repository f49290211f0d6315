/**
 * Parsing and checking an `AccessPorts` spec, collecting every violation with its field path.
 *
 * A port of plugins/access-ports/src/spec.rs: same checks in the same order,
 * same messages. Works on objects shaped like the WIT `context` and `device`
 * records, so it runs natively under Node too.
 */

import { Fields, Invalid, Violations, checkLine, describe, parseSpec } from './fields.js';
import { PortError, expandList, sortByName } from './ports.js';
import { debugStr } from './rust-text.js';
import * as vlans from './vlans.js';

export const FIELDS = ['device', 'ports', 'vlan', 'description', 'mode', 'trunkAllowedVlans', 'enabled'];
export const MAX_DESCRIPTION = 240;
export const MAX_PORTS = 4096;
export const PLATFORMS = ['eos', 'frr', 'netconf'];

/** Parses `spec.ports` into `{ name, field }`s; returns the valid ports even when some items are bad. */
function parsePorts(value, errs) {
  const items = [];
  if (typeof value === 'string') {
    items.push(['spec.ports', value]);
  } else if (Array.isArray(value) && value.length === 0) {
    errs.push('spec.ports', 'spec.ports must list at least one port, e.g. "Ethernet1-4"');
    return [];
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => {
      if (typeof item === 'string') items.push([`spec.ports[${i}]`, item]);
      else errs.push(`spec.ports[${i}]`, `spec.ports[${i}] must be a port name or range such as "Ethernet1-4", got ${describe(item)}`);
    });
  } else {
    errs.push(
      'spec.ports',
      `spec.ports must be a string such as "Ethernet1-4,Ethernet7" or a list of such strings, got ${describe(value)}`,
    );
    return [];
  }
  const ports = [];
  for (const [field, text] of items) {
    try {
      for (const name of expandList(text)) ports.push({ name, field });
    } catch (e) {
      if (!(e instanceof PortError)) throw e;
      errs.push(field, e.message);
    }
    if (ports.length > MAX_PORTS) {
      errs.push('spec.ports', `spec.ports names more than ${MAX_PORTS} ports; split the service`);
      return [];
    }
  }
  const out = [];
  for (const port of sortByName(ports, (p) => p.name)) {
    if (out.length === 0 || out[out.length - 1].name !== port.name) out.push(port);
  }
  return out;
}

/** The spec, when nothing was wrong; throws `Invalid` otherwise. */
function build(parts) {
  const { device, vlan, errs, ports, mode, allowed } = parts;
  if (device !== null && vlan !== null && errs.isEmpty() && ports.length > 0) {
    const trunkAllowed = mode === 'trunk' ? (allowed ?? [[vlan, vlan]]) : null;
    return { device, ports, vlan, description: parts.description, mode, trunkAllowed, enabled: parts.enabled };
  }
  throw new Invalid(errs.items.length > 0 ? errs.items : [{ field: 'spec', message: 'spec is incomplete' }]);
}

function parseParts(map) {
  const f = new Fields(map, 'spec');
  const errs = new Violations();
  f.rejectUnknown(FIELDS, errs);
  const device = f.requiredString('device', 'the name of a device granted to the tenant, e.g. leaf1', errs);
  let ports = [];
  if (f.get('ports') === null) {
    errs.push('spec.ports', 'spec.ports is required: set it to ports such as "Ethernet1-4,Ethernet7"');
  } else {
    ports = parsePorts(f.get('ports'), errs);
  }
  const vlan = f.requiredInteger('vlan', vlans.VLAN_MIN, vlans.VLAN_MAX, errs);
  const description = f.string('description', errs) ?? '';
  checkLine('spec.description', description, MAX_DESCRIPTION, errs);
  const mode = f.choice('mode', ['access', 'trunk'], errs) === 'trunk' ? 'trunk' : 'access';
  const items = f.array('trunkAllowedVlans', errs);
  const allowed = items === null ? null : vlans.parseList('spec.trunkAllowedVlans', items, errs);
  if (mode === 'access' && f.get('trunkAllowedVlans') !== null) {
    errs.push(
      'spec.trunkAllowedVlans',
      'spec.trunkAllowedVlans is only allowed with mode trunk; remove it or set spec.mode to "trunk"',
    );
  }
  const enabled = f.boolean('enabled', errs) ?? true;
  return { device, ports, vlan, description, mode, allowed, enabled, errs };
}

/** Parses `spec` (JSON text) without looking at the context; throws `Invalid`. */
export function parse(spec) {
  return build(parseParts(parseSpec(spec)));
}

/** The message for a device of a platform this plugin cannot configure. */
export function unsupportedPlatform(device) {
  return `device ${device.name} has platform ${debugStr(device.platform)}, which access-ports cannot configure; supported platforms: ${PLATFORMS.join(', ')}`;
}

/** Checks the device and ports against the tenant's grants; returns the granted device or null. */
export function checkGrants(device, ports, context, errs) {
  const tenant = context.tenant;
  const found = context.devices.find((d) => d.name === device);
  if (found === undefined) {
    errs.push('spec.device', `device ${device} is not granted to tenant ${tenant}`);
    return null;
  }
  if (!PLATFORMS.includes(found.platform)) errs.push('spec.device', unsupportedPlatform(found));
  for (const port of ports) {
    if (!found.ports.includes(port.name)) {
      errs.push(port.field, `${port.name} on ${found.name} is not granted to tenant ${tenant}`);
    }
  }
  return found;
}

/** Parses `spec` and checks it against the context; returns `[spec, device]` or throws `Invalid`. */
export function check(spec, context) {
  const parts = parseParts(parseSpec(spec));
  const device = parts.device === null ? null : checkGrants(parts.device, parts.ports, context, parts.errs);
  const parsed = build(parts);
  if (device === null) throw new Invalid([{ field: 'spec.device', message: 'device not found' }]);
  return [parsed, device];
}

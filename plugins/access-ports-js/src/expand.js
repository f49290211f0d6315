/**
 * The canonical (expanded) `AccessPorts` spec: explicit ports, defaults filled, stable key order.
 *
 * A port of plugins/access-ports/src/expand.rs; the JSON text is byte for
 * byte what the Rust plugin writes.
 */

import { stringText } from './json.js';
import * as vlans from './vlans.js';

/** The expanded spec as compact JSON, keys in the Rust struct's order. */
export function toJson(spec) {
  const parts = [
    `"device":${stringText(spec.device)}`,
    `"ports":[${spec.ports.map((p) => stringText(p.name)).join(',')}]`,
    `"vlan":${spec.vlan}`,
    `"mode":${stringText(spec.mode)}`,
  ];
  if (spec.trunkAllowed !== null) {
    const items = vlans.toJson(spec.trunkAllowed).map((v) => (typeof v === 'number' ? `${v}` : stringText(v)));
    parts.push(`"trunkAllowedVlans":[${items.join(',')}]`);
  }
  parts.push(`"description":${stringText(spec.description)}`);
  parts.push(`"enabled":${spec.enabled}`);
  return `{${parts.join(',')}}`;
}

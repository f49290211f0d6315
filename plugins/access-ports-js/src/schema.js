/**
 * The OpenAPI v3 schema of the `AccessPorts` spec, for the CustomResourceDefinition.
 *
 * The same schema as plugins/access-ports/src/schema.rs, written as
 * serde_json writes it (compact, keys sorted).
 */

import { sortedJson } from './json.js';

const SCHEMA = {
  type: 'object',
  description: 'Access or trunk ports on one device, carrying one VLAN.',
  required: ['device', 'ports', 'vlan'],
  properties: {
    device: {
      type: 'string',
      minLength: 1,
      description: 'Name of a device granted to the tenant, e.g. leaf1.',
    },
    ports: {
      description:
        'Ports: a string such as "Ethernet1-4,Ethernet7" or "Ethernet1/1-4", or a list of such strings. ' +
        'Expanded into an explicit, naturally sorted list.',
      'x-kubernetes-preserve-unknown-fields': true,
    },
    vlan: {
      type: 'integer',
      minimum: 1,
      maximum: 4094,
      description: 'Access VLAN; in trunk mode, the native (untagged) VLAN.',
    },
    description: {
      type: 'string',
      maxLength: 240,
      description: 'Interface description: one line of printable text. Default: empty.',
    },
    mode: {
      type: 'string',
      enum: ['access', 'trunk'],
      description: 'Port mode. Default: access.',
    },
    trunkAllowedVlans: {
      type: 'array',
      minItems: 1,
      description:
        'VLANs allowed on a trunk (mode trunk only): ids and ranges such as "100-110". Default: the native VLAN.',
      items: {
        'x-kubernetes-int-or-string': true,
        description: 'A VLAN id (1-4094) or a range "low-high".',
      },
    },
    enabled: {
      type: 'boolean',
      description: 'Administrative state: false shuts the ports down. Default: true.',
    },
  },
};

/** The schema of `spec` as JSON text. */
export const specSchema = () => sortedJson(SCHEMA);

/**
 * naas plugin logic for kind `AccessPorts` in JavaScript: a faithful port of plugins/access-ports.
 *
 * `describe`, `validate`, `expand` and `render` take WIT-shaped objects and a
 * host (see render.js); they throw `Invalid` with the violations. app.js
 * adapts them to the component's exports. Nothing here imports the WIT
 * interfaces, so it also runs natively under Node.
 */

import { toJson } from './expand.js';
import { render as renderSpec } from './render.js';
import { specSchema } from './schema.js';
import { PLATFORMS, check, parse } from './spec.js';

import { Invalid } from './fields.js';

export { Invalid };
export { TemplateError } from './render.js';

/** What `describe` answers: the same as the Rust plugin. */
export function info() {
  return {
    name: 'access-ports',
    version: '0.1.0',
    vendor: 'naas',
    description: 'Access and trunk ports on switches: VLAN, description, admin state',
    kinds: [
      { group: 'network.naas.io', version: 'v1alpha1', kind: 'AccessPorts', plural: 'accessports', specSchema: specSchema() },
    ],
    platforms: [...PLATFORMS],
  };
}

/** Checks a service; throws `Invalid` with every violation. */
export function validate(service, context) {
  check(service.spec, context);
}

/** The expanded spec as JSON text; throws `Invalid`. */
export function expand(service) {
  return toJson(parse(service.spec));
}

/** `{ device, format, text }` for every device; throws `Invalid`. */
export function render(service, context, host) {
  const [spec, device] = check(service.spec, context);
  return renderSpec(service, spec, device, host);
}

/**
 * Runs every path of the plugin once on sample services, with a host that
 * renders nothing. Called while the component is pre-initialized (by Wizer,
 * at build time): the engine then keeps the compiled functions in the
 * snapshot instead of compiling them again in every fresh instance.
 */
export function warmUp() {
  const context = { tenant: 't', devices: [{ name: 'd', platform: 'eos', ports: ['Ethernet1', 'Ethernet2'] }] };
  const host = { log() {}, renderNamedTemplate: () => '' };
  const specs = [
    '{"device":"d","ports":["Ethernet1-2"],"vlan":1,"mode":"trunk","trunkAllowedVlans":[2,"3-4"],"description":"x"}',
    '{"device":"e","ports":"ge-0/0/1,Ethernet9,x","vlan":1.5,"mode":"x","trunkAllowedVlans":["9-1"],"description":"\\n","z":[{}]}',
    '{"device":"d","ports":[1],"vlan":-1,"description":0,"enabled":"x"}',
    '{',
  ];
  for (const spec of specs) {
    const service = { spec, namespace: 'n', name: 's' };
    for (const call of [() => validate(service, context), () => validate({ ...service, spec: expand(service) }, context), () => render(service, context, host), () => info()]) {
      try {
        call();
      } catch (e) {
        if (!(e instanceof Invalid)) throw e;
      }
    }
  }
}

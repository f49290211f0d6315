/**
 * Rendering an expanded `AccessPorts` spec through the host's templates, one dialect per platform.
 *
 * A port of plugins/access-ports/src/render.rs. The templates are the Rust
 * plugin's own files (plugins/access-ports/templates/*.j2), embedded into
 * `templates.js` by scripts/build-polyglot.sh.
 */

import { Invalid } from './fields.js';
import { sortedJson } from './json.js';
import { unsupportedPlatform } from './spec.js';
import { EOS, FRR, NETCONF } from './templates.js';
import * as vlans from './vlans.js';

/** Platform -> [template name, template text, config format]. */
export const TEMPLATES = new Map([
  ['eos', ['eos.j2', EOS, 'cli']],
  ['frr', ['frr.j2', FRR, 'cli']],
  ['netconf', ['netconf.j2', NETCONF, 'netconf-xml']],
]);

/** The host could not render a template; `message` is the host's. */
export class TemplateError extends Error {}

/** The variables given to every template. */
export function templateVars(service, spec, device) {
  return {
    service: { namespace: service.namespace, name: service.name },
    device: { name: device.name, platform: device.platform },
    ports: spec.ports.map((p) => p.name),
    vlan: spec.vlan,
    mode: spec.mode,
    allowed_vlans: spec.trunkAllowed === null ? '' : vlans.toCli(spec.trunkAllowed),
    description: spec.description,
    enabled: spec.enabled,
  };
}

/**
 * The `{ device, format, text }` configs for `spec`; throws `Invalid`.
 * `host` has `log(level, message)` and `renderNamedTemplate(name, template, vars)`
 * (the deployment's override of template `name`, else `template`), which
 * returns the text or throws `TemplateError`.
 */
export function render(service, spec, device, host) {
  const found = TEMPLATES.get(device.platform);
  if (found === undefined) throw new Invalid([{ field: 'spec.device', message: unsupportedPlatform(device) }]);
  const [name, template, format] = found;
  let text;
  try {
    text = host.renderNamedTemplate(name, template, sortedJson(templateVars(service, spec, device)));
  } catch (e) {
    if (!(e instanceof TemplateError)) throw e;
    throw new Invalid([
      { field: 'spec', message: `the host could not render template ${name} for device ${device.name}: ${e.message}` },
    ]);
  }
  host.log('debug', `rendered ${spec.ports.length} port(s) for ${device.name} with ${name}`);
  return [{ device: device.name, format, text }];
}

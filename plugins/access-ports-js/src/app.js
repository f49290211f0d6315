/**
 * naas AccessPorts plugin in JavaScript: the component's entry point (world `naas:plugin/plugin`).
 *
 * Exports `describe`, `validate`, `expand` and `render` as jco/ComponentizeJS
 * expect: a `result` export returns its ok value and throws its error value
 * (here the list of violations); the host's `render-named-template` returns the
 * text or throws an error whose `payload` is the host's message. Built by
 * scripts/build-polyglot.sh.
 */

import { log, renderNamedTemplate } from 'naas:plugin/host@0.1.1';

import * as plugin from './plugin.js';

// Pre-initialization snapshots the engine after this top level: warm up here.
plugin.warmUp();

const host = {
  log(level, message) {
    log(level, message);
  },
  renderNamedTemplate(name, template, vars) {
    try {
      return renderNamedTemplate(name, template, vars);
    } catch (e) {
      throw new plugin.TemplateError(typeof e?.payload === 'string' ? e.payload : String(e));
    }
  },
};

/** Runs `f`, turning `Invalid` into the `err` value of the WIT result. */
function refusing(f) {
  try {
    return f();
  } catch (e) {
    if (e instanceof plugin.Invalid) throw e.violations;
    throw e;
  }
}

export function describe() {
  return plugin.info();
}

export function validate(service, context) {
  refusing(() => plugin.validate(service, context));
}

export function expand(service, _context) {
  return refusing(() => plugin.expand(service));
}

export function render(service, context) {
  return refusing(() => plugin.render(service, context, host));
}

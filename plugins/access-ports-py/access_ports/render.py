"""Rendering an expanded `AccessPorts` spec through the host's templates, one dialect per platform.

A port of plugins/access-ports/src/render.rs. The templates are the Rust
plugin's own files (plugins/access-ports/templates/*.j2), copied into
`_templates` by scripts/build-polyglot.sh.
"""

import json
from typing import Optional, Protocol

from . import _templates, vlans
from .fields import Invalid
from .spec import PLATFORMS, AccessSpec, Device, Service, unsupported_platform

TEMPLATES = {
    "eos": ("eos.j2", _templates.EOS, "cli"),
    "frr": ("frr.j2", _templates.FRR, "cli"),
    "netconf": ("netconf.j2", _templates.NETCONF, "netconf-xml"),
}
"""Platform -> (template name, template text, config format)."""

assert tuple(TEMPLATES) == PLATFORMS


class TemplateError(Exception):
    """The host could not render a template; `str(e)` is the host's message."""


class Host(Protocol):
    """The host imports: `log(level, message)` (level `"debug"`...) and
    `render_named_template(name, default, vars)`, which renders the
    deployment's override of template `name` (else `default`) and returns the
    text or raises `TemplateError` with the host's message."""

    def log(self, level: str, message: str) -> None: ...

    def render_named_template(self, name: str, default: str, variables: str) -> str: ...


def template_vars(service: Service, spec: AccessSpec, device: Device) -> dict[str, object]:
    """The variables given to every template."""
    allowed = vlans.to_cli(spec.trunk_allowed) if spec.trunk_allowed is not None else ""
    return {
        "service": {"namespace": service.namespace, "name": service.name},
        "device": {"name": device.name, "platform": device.platform},
        "ports": [p.name for p in spec.ports],
        "vlan": spec.vlan,
        "mode": spec.mode,
        "allowed_vlans": allowed,
        "description": spec.description,
        "enabled": spec.enabled,
    }


def render(
    service: Service, spec: AccessSpec, device: Device, host: Host
) -> list[tuple[str, str, str]]:
    """The `(device, format, text)` configs for `spec`; raises `Invalid` on failure."""
    found: Optional[tuple[str, str, str]] = TEMPLATES.get(device.platform)
    if found is None:
        raise Invalid([("spec.device", unsupported_platform(device))])
    name, template, fmt = found
    variables = json.dumps(
        template_vars(service, spec, device), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    try:
        text = host.render_named_template(name, template, variables)
    except TemplateError as e:
        message = f"the host could not render template {name} for device {device.name}: {e}"
        raise Invalid([("spec", message)]) from None
    host.log("debug", f"rendered {len(spec.ports)} port(s) for {device.name} with {name}")
    return [(device.name, fmt, text)]

"""naas plugin logic for kind `AccessPorts` in Python: a faithful port of plugins/access-ports.

`describe`, `validate`, `expand` and `render` take WIT-shaped objects and a
host (see `render.Host`); they return plain Python values and raise
`fields.Invalid` with the violations. app.py adapts them to the component's
WIT bindings. Nothing here imports the bindings, so it also runs natively.
"""

from . import expand as _expand
from . import render as _render
from . import spec as _spec
from .render import Host
from .schema import spec_schema
from .spec import Context, Service

NAME = "access-ports"
VERSION = "0.1.0"
VENDOR = "naas"
DESCRIPTION = "Access and trunk ports on switches: VLAN, description, admin state"
KIND = ("network.naas.io", "v1alpha1", "AccessPorts", "accessports")
PLATFORMS = _spec.PLATFORMS


def validate(service: Service, context: Context) -> None:
    """Checks a service; raises `Invalid` with every violation."""
    _spec.check(service.spec, context)


def expand(service: Service) -> str:
    """The expanded spec as JSON text; raises `Invalid`."""
    return _expand.to_json(_spec.parse(service.spec))


def render(service: Service, context: Context, host: Host) -> list[tuple[str, str, str]]:
    """`(device, format, text)` for every device; raises `Invalid`."""
    parsed, device = _spec.check(service.spec, context)
    return _render.render(service, parsed, device, host)


__all__ = ["validate", "expand", "render", "spec_schema", "NAME", "VERSION", "VENDOR", "DESCRIPTION", "KIND", "PLATFORMS"]

"""naas AccessPorts plugin in Python: the component's entry point (world `naas:plugin/plugin`).

Adapts the WIT bindings that componentize-py generates (`wit_world`) to the
logic in `access_ports`, which is a faithful port of the Rust plugin in
plugins/access-ports. Built by scripts/build-polyglot.sh.
"""

from typing import List

import access_ports
from access_ports.fields import Invalid, Violation
from access_ports.render import TemplateError
from componentize_py_types import Err
import wit_world
from wit_world.imports import host, types

_LEVELS = {
    "trace": host.LogLevel.TRACE,
    "debug": host.LogLevel.DEBUG,
    "info": host.LogLevel.INFO,
    "warn": host.LogLevel.WARN,
    "error": host.LogLevel.ERROR,
}
_FORMATS = {
    "cli": types.ConfigFormat.CLI,
    "netconf-xml": types.ConfigFormat.NETCONF_XML,
    "json": types.ConfigFormat.JSON,
}


class _Host:
    """The host imports, in the shape `access_ports.render.Host` expects."""

    def log(self, level: str, message: str) -> None:
        host.log(_LEVELS[level], message)

    def render_named_template(self, name: str, default: str, variables: str) -> str:
        try:
            return host.render_named_template(name, default, variables)
        except Err as e:
            raise TemplateError(str(e.value)) from None


def _refused(violations: List[Violation]) -> Err[List[types.Violation]]:
    return Err([types.Violation(field=f, message=m) for f, m in violations])


class WitWorld(wit_world.WitWorld):
    """The exports of the `plugin` world."""

    def describe(self) -> types.PluginInfo:
        group, version, kind, plural = access_ports.KIND
        return types.PluginInfo(
            name=access_ports.NAME,
            version=access_ports.VERSION,
            vendor=access_ports.VENDOR,
            description=access_ports.DESCRIPTION,
            kinds=[
                types.ServiceKind(
                    group=group,
                    version=version,
                    kind=kind,
                    plural=plural,
                    spec_schema=access_ports.spec_schema(),
                )
            ],
            platforms=list(access_ports.PLATFORMS),
        )

    def validate(self, service: types.Service, context: types.Context) -> None:
        try:
            access_ports.validate(service, context)
        except Invalid as e:
            raise _refused(e.violations) from None

    def expand(self, service: types.Service, context: types.Context) -> str:
        try:
            return access_ports.expand(service)
        except Invalid as e:
            raise _refused(e.violations) from None

    def render(self, service: types.Service, context: types.Context) -> List[types.DeviceConfig]:
        try:
            configs = access_ports.render(service, context, _Host())
        except Invalid as e:
            raise _refused(e.violations) from None
        return [
            types.DeviceConfig(device=d, format=_FORMATS[f], text=t) for d, f, t in configs
        ]

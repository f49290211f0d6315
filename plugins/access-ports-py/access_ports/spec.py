"""Parsing and checking an `AccessPorts` spec, collecting every violation with its field path.

A port of plugins/access-ports/src/spec.rs: same checks in the same order,
same messages. Works on any objects shaped like the WIT `context` and
`device` records, so it runs natively too.
"""

from dataclasses import dataclass
from typing import Optional, Protocol, Sequence

from . import vlans
from .fields import Fields, Invalid, Violations, describe, check_line, parse_spec
from .jsonvalue import JsonValue
from .ports import PortError, expand_list, natural_key
from .rust_text import debug_str

FIELDS = ("device", "ports", "vlan", "description", "mode", "trunkAllowedVlans", "enabled")
MAX_DESCRIPTION = 240
MAX_PORTS = 4096
PLATFORMS = ("eos", "frr", "netconf")


class Service(Protocol):
    """A WIT `service` (only what the plugin reads)."""

    @property
    def spec(self) -> str: ...
    @property
    def namespace(self) -> str: ...
    @property
    def name(self) -> str: ...


class Device(Protocol):
    """A WIT `device` (only what the plugin reads)."""

    @property
    def name(self) -> str: ...
    @property
    def platform(self) -> str: ...
    @property
    def ports(self) -> Sequence[str]: ...


class Context(Protocol):
    """A WIT `context` (only what the plugin reads)."""

    @property
    def tenant(self) -> str: ...
    @property
    def devices(self) -> Sequence[Device]: ...


@dataclass
class Port:
    """One port of the service and the field it came from (`spec.ports` or `spec.ports[i]`)."""

    name: str
    field: str


@dataclass
class AccessSpec:
    """A parsed spec with defaults filled in; `trunk_allowed` is set exactly in trunk mode."""

    device: str
    ports: list[Port]
    vlan: int
    description: str
    mode: str
    trunk_allowed: Optional[vlans.Ranges]
    enabled: bool


def _parse_ports(value: JsonValue, errs: Violations) -> list[Port]:
    """Parses `spec.ports`; returns the valid ports even when some items are bad."""
    items: list[tuple[str, str]] = []
    if isinstance(value, str):
        items = [("spec.ports", value)]
    elif isinstance(value, list) and not value:
        errs.push("spec.ports", 'spec.ports must list at least one port, e.g. "Ethernet1-4"')
        return []
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str):
                items.append((f"spec.ports[{i}]", item))
            else:
                errs.push(
                    f"spec.ports[{i}]",
                    f'spec.ports[{i}] must be a port name or range such as "Ethernet1-4", '
                    f"got {describe(item)}",
                )
    else:
        errs.push(
            "spec.ports",
            'spec.ports must be a string such as "Ethernet1-4,Ethernet7" or a list of such '
            f"strings, got {describe(value)}",
        )
        return []
    ports: list[Port] = []
    for field, text in items:
        try:
            ports.extend(Port(name, field) for name in expand_list(text))
        except PortError as e:
            errs.push(field, str(e))
        if len(ports) > MAX_PORTS:
            errs.push("spec.ports", f"spec.ports names more than {MAX_PORTS} ports; split the service")
            return []
    out: list[Port] = []
    for port in sorted(ports, key=lambda p: natural_key(p.name)):
        if not out or out[-1].name != port.name:
            out.append(port)
    return out


@dataclass
class _Parts:
    """The fields of a spec that could be read, and the violations found."""

    device: Optional[str]
    ports: list[Port]
    vlan: Optional[int]
    description: str
    mode: str
    allowed: Optional[vlans.Ranges]
    enabled: bool
    errs: Violations

    def build(self) -> AccessSpec:
        """The spec, when nothing was wrong; raises `Invalid` otherwise."""
        if self.device is not None and self.vlan is not None and self.errs.is_empty() and self.ports:
            trunk = None
            if self.mode == "trunk":
                trunk = self.allowed if self.allowed is not None else [(self.vlan, self.vlan)]
            return AccessSpec(
                self.device, self.ports, self.vlan, self.description, self.mode, trunk, self.enabled
            )
        raise Invalid(self.errs.items or [("spec", "spec is incomplete")])


def _parse_parts(obj: dict[str, JsonValue]) -> _Parts:
    f = Fields(obj, "spec")
    errs = Violations()
    f.reject_unknown(FIELDS, errs)
    device = f.required_string("device", "the name of a device granted to the tenant, e.g. leaf1", errs)
    if f.get("ports") is None:
        errs.push("spec.ports", 'spec.ports is required: set it to ports such as "Ethernet1-4,Ethernet7"')
        ports: list[Port] = []
    else:
        ports = _parse_ports(f.get("ports"), errs)
    vlan = f.required_integer("vlan", vlans.VLAN_MIN, vlans.VLAN_MAX, errs)
    description = f.string("description", errs) or ""
    check_line("spec.description", description, MAX_DESCRIPTION, errs)
    mode = "trunk" if f.choice("mode", ("access", "trunk"), errs) == "trunk" else "access"
    items = f.array("trunkAllowedVlans", errs)
    allowed = vlans.parse_list("spec.trunkAllowedVlans", items, errs) if items is not None else None
    if mode == "access" and f.get("trunkAllowedVlans") is not None:
        errs.push(
            "spec.trunkAllowedVlans",
            "spec.trunkAllowedVlans is only allowed with mode trunk; "
            'remove it or set spec.mode to "trunk"',
        )
    enabled = f.boolean("enabled", errs)
    return _Parts(
        device, ports, vlan, description, mode, allowed, True if enabled is None else enabled, errs
    )


def parse(spec: str) -> AccessSpec:
    """Parses `spec` (JSON text) without looking at the context; raises `Invalid`."""
    return _parse_parts(parse_spec(spec)).build()


def check_grants(device: str, ports: list[Port], context: Context, errs: Violations) -> Optional[Device]:
    """Checks the device and ports against the tenant's grants; returns the granted device."""
    tenant = context.tenant
    found = next((d for d in context.devices if d.name == device), None)
    if found is None:
        errs.push("spec.device", f"device {device} is not granted to tenant {tenant}")
        return None
    if found.platform not in PLATFORMS:
        errs.push("spec.device", unsupported_platform(found))
    for port in ports:
        if port.name not in found.ports:
            errs.push(port.field, f"{port.name} on {found.name} is not granted to tenant {tenant}")
    return found


def unsupported_platform(device: Device) -> str:
    """The message for a device of a platform this plugin cannot configure."""
    return (
        f"device {device.name} has platform {debug_str(device.platform)}, which access-ports "
        f"cannot configure; supported platforms: {', '.join(PLATFORMS)}"
    )


def check(spec: str, context: Context) -> tuple[AccessSpec, Device]:
    """Parses `spec` and checks it against the context, reporting every violation."""
    parts = _parse_parts(parse_spec(spec))
    device = None
    if parts.device is not None:
        device = check_grants(parts.device, parts.ports, context, parts.errs)
    parsed = parts.build()
    if device is None:
        raise Invalid([("spec.device", "device not found")])
    return parsed, device

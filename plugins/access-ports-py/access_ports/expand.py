"""The canonical (expanded) `AccessPorts` spec: explicit ports, defaults filled, stable key order.

A port of plugins/access-ports/src/expand.rs; the JSON text is byte for byte
what the Rust plugin writes.
"""

from . import vlans
from .jsonvalue import string_text
from .spec import AccessSpec


def to_json(spec: AccessSpec) -> str:
    """The expanded spec as compact JSON, keys in the Rust struct's order."""
    parts = [
        f'"device":{string_text(spec.device)}',
        '"ports":[' + ",".join(string_text(p.name) for p in spec.ports) + "]",
        f'"vlan":{spec.vlan}',
        f'"mode":{string_text(spec.mode)}',
    ]
    if spec.trunk_allowed is not None:
        items = vlans.to_json(spec.trunk_allowed)
        text = ",".join(str(v) if isinstance(v, int) else string_text(v) for v in items)
        parts.append(f'"trunkAllowedVlans":[{text}]')
    parts.append(f'"description":{string_text(spec.description)}')
    parts.append(f'"enabled":{"true" if spec.enabled else "false"}')
    return "{" + ",".join(parts) + "}"

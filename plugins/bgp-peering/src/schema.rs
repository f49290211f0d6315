//! The OpenAPI v3 schema of the `BgpPeering` spec, for the CustomResourceDefinition.

use serde_json::{Value, json};

/// The schema of `spec`.
#[must_use]
pub fn spec_schema() -> Value {
    let asn = |what: &str| {
        json!({
            "type": "integer",
            "format": "int64",
            "minimum": 1,
            "maximum": 4_294_967_295_u64,
            "description": what,
        })
    };
    json!({
        "type": "object",
        "description": "BGP sessions on one device, with an optional prefix list applied to every neighbor.",
        "required": ["device", "localAsn", "neighbors"],
        "properties": {
            "device": {
                "type": "string",
                "minLength": 1,
                "description": "Name of a device granted to the tenant, e.g. spine1."
            },
            "localAsn": asn("Local AS number (1-4294967295)."),
            "routerId": {
                "type": "string",
                "format": "ipv4",
                "description": "BGP router id, an IPv4 address. Default: chosen by the device."
            },
            "neighbors": {
                "type": "array",
                "minItems": 1,
                "description": "BGP neighbors; sorted by address on expansion. Addresses must be unique.",
                "items": {
                    "type": "object",
                    "required": ["address", "remoteAsn"],
                    "properties": {
                        "address": {
                            "type": "string",
                            "description": "Peer IPv4 or IPv6 address."
                        },
                        "remoteAsn": asn("Peer AS number (1-4294967295)."),
                        "description": {
                            "type": "string",
                            "maxLength": 80,
                            "description": "Neighbor description: one line of printable text."
                        }
                    }
                }
            },
            "prefixList": {
                "type": "object",
                "description": "A prefix list applied to every neighbor.",
                "required": ["entries"],
                "properties": {
                    "name": {
                        "type": "string",
                        "maxLength": 100,
                        "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                        "description": "Name on the device. Default: <NAMESPACE>-<NAME> of the service, upper case."
                    },
                    "direction": {
                        "type": "string",
                        "enum": ["in", "out"],
                        "description": "Filter routes received (in) or advertised (out). Default: out."
                    },
                    "entries": {
                        "type": "array",
                        "minItems": 1,
                        "description": "Entries in order; numbered seq 10, 20, 30... on expansion.",
                        "items": {
                            "type": "object",
                            "required": ["prefix"],
                            "properties": {
                                "seq": {
                                    "type": "integer",
                                    "minimum": 1,
                                    "maximum": 4_294_967_295_u64,
                                    "description": "Sequence number; give it on every entry or on none."
                                },
                                "prefix": {
                                    "type": "string",
                                    "description": "Network prefix (CIDR, no host bits), e.g. 10.0.0.0/8 or 2001:db8::/32."
                                },
                                "action": {
                                    "type": "string",
                                    "enum": ["permit", "deny"],
                                    "description": "Default: permit."
                                },
                                "ge": {
                                    "type": "integer",
                                    "minimum": 0,
                                    "maximum": 128,
                                    "description": "Match prefixes at least this long (prefix length <= ge <= le)."
                                },
                                "le": {
                                    "type": "integer",
                                    "minimum": 0,
                                    "maximum": 128,
                                    "description": "Match prefixes at most this long (le <= 32 for IPv4, 128 for IPv6)."
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}

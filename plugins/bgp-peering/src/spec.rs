//! Parsing and checking a `BgpPeering` spec, collecting every violation with its field path.

use std::net::{IpAddr, Ipv4Addr};

use serde_json::Value;

use naas_plugin_sdk::spec::{Fields, Violations, check_line, describe, parse_spec};
use naas_plugin_sdk::{Context, Device, Service, Violation};

use crate::PLATFORMS;
use crate::prefix_list::{self, PrefixList};

/// The fields a `BgpPeering` spec may have.
pub const FIELDS: [&str; 5] = ["device", "localAsn", "routerId", "neighbors", "prefixList"];
/// The fields of one neighbour.
pub const NEIGHBOR_FIELDS: [&str; 3] = ["address", "remoteAsn", "description"];
/// The longest neighbour description.
pub const MAX_DESCRIPTION: usize = 80;
/// The most neighbours in one service.
pub const MAX_NEIGHBORS: usize = 256;
/// The largest (4-byte) AS number.
pub const ASN_MAX: u64 = 4_294_967_295;

/// One BGP neighbour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbor {
    /// Peer address.
    pub address: IpAddr,
    /// Peer AS number.
    pub remote_asn: u32,
    /// Optional description.
    pub description: Option<String>,
}

/// A parsed `BgpPeering` spec, with defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BgpSpec {
    /// Device name.
    pub device: String,
    /// Local AS number.
    pub local_asn: u32,
    /// BGP router id.
    pub router_id: Option<Ipv4Addr>,
    /// Neighbours, sorted by address (IPv4 first).
    pub neighbors: Vec<Neighbor>,
    /// Prefix list applied to every neighbour.
    pub prefix_list: Option<PrefixList>,
}

fn asn(f: &Fields<'_>, key: &str, errs: &mut Violations) -> Option<u32> {
    f.required_integer(key, 1, ASN_MAX, errs)
        .and_then(|n| u32::try_from(n).ok())
}

fn parse_address(field: &str, text: &str, errs: &mut Violations) -> Option<IpAddr> {
    let Ok(addr) = text.parse::<IpAddr>() else {
        errs.push(
            field,
            format!(
                "{field} {text:?} is not an IPv4 or IPv6 address, e.g. 192.0.2.1 or 2001:db8::1"
            ),
        );
        return None;
    };
    let link_local = matches!(addr, IpAddr::V6(a) if a.is_unicast_link_local());
    if addr.is_unspecified() || addr.is_multicast() || addr.is_loopback() || link_local {
        errs.push(
            field,
            format!("{field} {addr} cannot be a BGP neighbor; use the peer's unicast (global or private) address"),
        );
        return None;
    }
    Some(addr)
}

/// Parses one neighbour; returns its address when readable, and the
/// neighbour when nothing is wrong with it.
fn parse_neighbor(
    i: usize,
    value: &Value,
    errs: &mut Violations,
) -> (Option<IpAddr>, Option<Neighbor>) {
    let path = format!("spec.neighbors[{i}]");
    let Some(map) = value.as_object() else {
        errs.push(
            &path,
            format!(
                "{path} must be an object with address and remoteAsn, got {}",
                describe(value)
            ),
        );
        return (None, None);
    };
    let f = Fields::new(map, &path);
    let before = errs.as_slice().len();
    f.reject_unknown(&NEIGHBOR_FIELDS, errs);
    let address = f
        .required_string("address", "the peer's IP address, e.g. 192.0.2.1", errs)
        .and_then(|a| parse_address(&f.field("address"), a, errs));
    let remote_asn = asn(&f, "remoteAsn", errs);
    let description = f.string("description", errs);
    if let Some(d) = description {
        check_line(&f.field("description"), d, MAX_DESCRIPTION, errs);
    }
    let neighbor = match (address, remote_asn) {
        (Some(address), Some(remote_asn)) if errs.as_slice().len() == before => Some(Neighbor {
            address,
            remote_asn,
            description: description.filter(|d| !d.is_empty()).map(str::to_string),
        }),
        _ => None,
    };
    (address, neighbor)
}

fn parse_neighbors(f: &Fields<'_>, errs: &mut Violations) -> Option<Vec<Neighbor>> {
    let items = match f.array("neighbors", errs) {
        None if f.get("neighbors").is_none() => {
            errs.push(
                "spec.neighbors",
                "spec.neighbors is required: list at least one {address, remoteAsn}",
            );
            return None;
        }
        None => return None,
        Some([]) => {
            errs.push(
                "spec.neighbors",
                "spec.neighbors must list at least one neighbor",
            );
            return None;
        }
        Some(items) if items.len() > MAX_NEIGHBORS => {
            errs.push(
                "spec.neighbors",
                format!(
                    "spec.neighbors has {} neighbors; at most {MAX_NEIGHBORS}",
                    items.len()
                ),
            );
            return None;
        }
        Some(items) => items,
    };
    let before = errs.as_slice().len();
    let mut seen: Vec<(IpAddr, usize)> = Vec::new();
    let mut neighbors = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let (address, neighbor) = parse_neighbor(i, item, errs);
        if let Some(address) = address {
            if let Some((_, first)) = seen.iter().find(|(a, _)| *a == address) {
                errs.push(
                    format!("spec.neighbors[{i}].address"),
                    format!("duplicate neighbor {address}: already at spec.neighbors[{first}]; remove one"),
                );
            }
            seen.push((address, i));
        }
        neighbors.extend(neighbor);
    }
    neighbors.sort_by_key(|n| n.address);
    (errs.as_slice().len() == before).then_some(neighbors)
}

/// The default prefix-list name: `<NAMESPACE>-<NAME>` in upper case.
#[must_use]
pub fn default_list_name(service: &Service) -> String {
    format!("{}-{}", service.namespace, service.name).to_uppercase()
}

/// Parses the service's spec without looking at the context.
///
/// # Errors
/// Every violation found: unknown fields, wrong types, missing fields, bad
/// AS numbers, addresses or prefixes, duplicate neighbours.
pub fn parse(service: &Service) -> Result<BgpSpec, Vec<Violation>> {
    let map = parse_spec(&service.spec)?;
    let f = Fields::new(&map, "spec");
    let mut errs = Violations::new();
    f.reject_unknown(&FIELDS, &mut errs);
    let device = f.required_string(
        "device",
        "the name of a device granted to the tenant, e.g. spine1",
        &mut errs,
    );
    let local_asn = asn(&f, "localAsn", &mut errs);
    let router_id = f.string("routerId", &mut errs).and_then(|text| {
        match text.parse::<Ipv4Addr>() {
            Ok(a) if !a.is_unspecified() && !a.is_multicast() => Some(a),
            _ => {
                errs.push(
                    "spec.routerId",
                    format!("spec.routerId {text:?} must be a non-zero unicast IPv4 address, e.g. 192.0.2.1"),
                );
                None
            }
        }
    });
    let neighbors = parse_neighbors(&f, &mut errs);
    let prefix_list = f
        .object("prefixList", &mut errs)
        .and_then(|m| prefix_list::parse(m, &default_list_name(service), &mut errs));
    match (device, local_asn, neighbors) {
        (Some(device), Some(local_asn), Some(neighbors)) if errs.is_empty() => Ok(BgpSpec {
            device: device.to_string(),
            local_asn,
            router_id,
            neighbors,
            prefix_list,
        }),
        _ => Err(errs.into_vec()),
    }
}

/// Checks that the device is granted and its platform supported.
///
/// # Errors
/// One violation on `spec.device`.
pub fn check_device<'c>(name: &str, context: &'c Context) -> Result<&'c Device, Vec<Violation>> {
    let Some(device) = context.device(name) else {
        return Err(vec![Violation::new(
            "spec.device",
            format!("device {name} is not granted to tenant {}", context.tenant),
        )]);
    };
    if !PLATFORMS.contains(&device.platform.as_str()) {
        return Err(vec![naas_plugin_sdk::render::unsupported_platform(
            "bgp-peering",
            device,
            &PLATFORMS,
        )]);
    }
    Ok(device)
}

/// Parses the spec and checks it against the context, reporting every
/// violation: the device is checked even when other fields are wrong.
///
/// # Errors
/// Every violation of [`parse`] and of [`check_device`].
pub fn check<'c>(
    service: &Service,
    context: &'c Context,
) -> Result<(BgpSpec, &'c Device), Vec<Violation>> {
    match parse(service) {
        Ok(spec) => {
            let device = check_device(&spec.device, context)?;
            Ok((spec, device))
        }
        Err(mut errs) => {
            let map = parse_spec(&service.spec).unwrap_or_default();
            if let Some(name) = map
                .get("device")
                .and_then(Value::as_str)
                .filter(|d| !d.trim().is_empty())
                && let Err(more) = check_device(name, context)
            {
                errs.extend(more);
            }
            Err(errs)
        }
    }
}

//! Prefix lists: CIDR prefixes, `ge`/`le` bounds, sequence numbers and the list's name.

use std::net::IpAddr;

use serde_json::Value;

use naas_plugin_sdk::spec::{Fields, Violations, describe};

/// The fields of `spec.prefixList`.
pub const LIST_FIELDS: [&str; 3] = ["name", "direction", "entries"];
/// The fields of one entry.
pub const ENTRY_FIELDS: [&str; 5] = ["seq", "prefix", "action", "ge", "le"];
/// The longest prefix-list name.
pub const MAX_NAME: usize = 100;
/// The most entries in one list.
pub const MAX_ENTRIES: usize = 1000;

/// A network prefix, with no host bits set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Prefix {
    /// Network address.
    pub addr: IpAddr,
    /// Prefix length.
    pub len: u8,
}

impl Prefix {
    /// 32 for IPv4, 128 for IPv6.
    #[must_use]
    pub fn max_len(&self) -> u8 {
        if self.addr.is_ipv4() { 32 } else { 128 }
    }
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

fn mask(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let m = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            IpAddr::V4((bits & m).into())
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let m = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            IpAddr::V6((bits & m).into())
        }
    }
}

/// Parses `addr/len`, refusing host bits (with the network to use instead).
///
/// # Errors
/// What is wrong, for a message.
pub fn parse_prefix(text: &str) -> Result<Prefix, String> {
    let example = "e.g. 10.0.0.0/8 or 2001:db8::/32";
    let Some((addr, len)) = text.split_once('/') else {
        return Err(format!(
            "{text:?} is not a prefix: write address/length, {example}"
        ));
    };
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| format!("{addr:?} is not an IPv4 or IPv6 address ({example})"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len: u8 = match len.parse::<u8>() {
        Ok(l) if l <= max && len.bytes().all(|b| b.is_ascii_digit()) => l,
        _ => {
            return Err(format!(
                "prefix length {len:?} must be a number from 0 to {max}"
            ));
        }
    };
    let network = mask(addr, len);
    if network != addr {
        return Err(format!(
            "{text} has host bits set; write the network {network}/{len}"
        ));
    }
    Ok(Prefix { addr, len })
}

/// Permit or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Match and accept.
    Permit,
    /// Match and reject.
    Deny,
}

impl Action {
    /// The keyword.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Permit => "permit",
            Self::Deny => "deny",
        }
    }
}

/// One prefix-list entry, with its sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Sequence number.
    pub seq: u32,
    /// The prefix matched.
    pub prefix: Prefix,
    /// Permit or deny.
    pub action: Action,
    /// Shortest matched length.
    pub ge: Option<u8>,
    /// Longest matched length.
    pub le: Option<u8>,
}

/// Where the list applies to the neighbours' routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Routes received.
    In,
    /// Routes advertised.
    Out,
}

impl Direction {
    /// The keyword.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
        }
    }
}

/// A prefix list applied to every neighbour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixList {
    /// List name on the device.
    pub name: String,
    /// In or out.
    pub direction: Direction,
    /// Entries, in sequence order.
    pub entries: Vec<Entry>,
}

fn parse_entry(path: &str, value: &Value, errs: &mut Violations) -> Option<(Option<u32>, Entry)> {
    let Some(map) = value.as_object() else {
        errs.push(
            path,
            format!(
                "{path} must be an object with a prefix, got {}",
                describe(value)
            ),
        );
        return None;
    };
    let f = Fields::new(map, path);
    let before = errs.as_slice().len();
    f.reject_unknown(&ENTRY_FIELDS, errs);
    let seq = f
        .integer("seq", 1, u32::MAX.into(), errs)
        .and_then(|s| u32::try_from(s).ok());
    let prefix = f
        .required_string("prefix", "a network prefix such as 10.0.0.0/8", errs)
        .and_then(|text| match parse_prefix(text) {
            Ok(p) => Some(p),
            Err(e) => {
                errs.push(f.field("prefix"), format!("{}: {e}", f.field("prefix")));
                None
            }
        });
    let action = match f.choice("action", &["permit", "deny"], errs) {
        Some("deny") => Action::Deny,
        _ => Action::Permit,
    };
    let ge = f
        .integer("ge", 0, 128, errs)
        .and_then(|v| u8::try_from(v).ok());
    let le = f
        .integer("le", 0, 128, errs)
        .and_then(|v| u8::try_from(v).ok());
    let prefix = prefix?;
    let max = prefix.max_len();
    let (len, shown) = (prefix.len, prefix.to_string());
    if let Some(ge) = ge.filter(|&g| g < len || g > max) {
        errs.push(
            f.field("ge"),
            format!(
                "{} ({ge}) must be from the prefix length {len} of {shown} to {max}",
                f.field("ge")
            ),
        );
    }
    if let Some(le) = le.filter(|&l| l < len || l > max) {
        errs.push(
            f.field("le"),
            format!(
                "{} ({le}) must be from the prefix length {len} of {shown} to {max}",
                f.field("le")
            ),
        );
    }
    if let (Some(ge), Some(le)) = (ge, le)
        && ge > le
    {
        errs.push(
            f.field("le"),
            format!("{} ({le}) must not be less than ge ({ge})", f.field("le")),
        );
    }
    (errs.as_slice().len() == before).then(|| {
        (
            seq,
            Entry {
                seq: seq.unwrap_or(0),
                prefix,
                action,
                ge,
                le,
            },
        )
    })
}

/// Checks a list name: letters, digits, `_`, `-`, `.`; at most [`MAX_NAME`].
fn check_name(field: &str, name: &str, errs: &mut Violations) {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    if !ok {
        errs.push(
            field,
            format!(
                "prefix-list name {name:?} must be 1 to {MAX_NAME} letters, digits, '_', '-' or '.', \
                 starting with a letter or digit; set {field}"
            ),
        );
    }
}

/// Parses `spec.prefixList`; `default_name` is used when `name` is absent.
pub fn parse(
    map: &serde_json::Map<String, Value>,
    default_name: &str,
    errs: &mut Violations,
) -> Option<PrefixList> {
    let f = Fields::new(map, "spec.prefixList");
    let before = errs.as_slice().len();
    f.reject_unknown(&LIST_FIELDS, errs);
    let name = f.string("name", errs).unwrap_or(default_name).to_string();
    check_name("spec.prefixList.name", &name, errs);
    let direction = match f.choice("direction", &["in", "out"], errs) {
        Some("in") => Direction::In,
        _ => Direction::Out,
    };
    let items = f.array("entries", errs);
    match items {
        None if f.get("entries").is_none() => errs.push(
            "spec.prefixList.entries",
            "spec.prefixList.entries is required: list at least one {prefix: 10.0.0.0/8}",
        ),
        Some([]) => errs.push(
            "spec.prefixList.entries",
            "spec.prefixList.entries must list at least one entry, e.g. {prefix: 10.0.0.0/8}",
        ),
        Some(list) if list.len() > MAX_ENTRIES => errs.push(
            "spec.prefixList.entries",
            format!(
                "spec.prefixList.entries has {} entries; at most {MAX_ENTRIES}",
                list.len()
            ),
        ),
        _ => {}
    }
    let items = items.filter(|l| l.len() <= MAX_ENTRIES).unwrap_or_default();
    let parsed: Vec<_> = items
        .iter()
        .enumerate()
        .map(|(i, v)| parse_entry(&format!("spec.prefixList.entries[{i}]"), v, errs))
        .collect();
    let given = parsed.iter().flatten().filter(|(s, _)| s.is_some()).count();
    if given != 0 && given != items.len() {
        errs.push(
            "spec.prefixList.entries",
            "give seq on every entry or on none (expand numbers them 10, 20, 30...)",
        );
    }
    let mut entries = Vec::with_capacity(parsed.len());
    for (i, (seq, mut entry)) in parsed
        .into_iter()
        .enumerate()
        .filter_map(|(i, p)| p.map(|p| (i, p)))
    {
        let seq = seq.unwrap_or_else(|| u32::try_from((i + 1) * 10).unwrap_or(u32::MAX));
        if let Some(prev) = entries.last().map(|e: &Entry| e.seq).filter(|&p| p >= seq) {
            errs.push(
                format!("spec.prefixList.entries[{i}].seq"),
                format!("spec.prefixList.entries[{i}].seq ({seq}) must be greater than the previous one ({prev})"),
            );
        }
        entry.seq = seq;
        entries.push(entry);
    }
    (errs.as_slice().len() == before).then_some(PrefixList {
        name,
        direction,
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prefixes_and_refuses_host_bits() {
        assert_eq!(
            parse_prefix("10.0.0.0/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            parse_prefix("2001:DB8::/32").unwrap().to_string(),
            "2001:db8::/32"
        );
        assert_eq!(parse_prefix("0.0.0.0/0").unwrap().len, 0);
        assert!(
            parse_prefix("10.0.0.1/8")
                .unwrap_err()
                .contains("write the network 10.0.0.0/8")
        );
        assert!(parse_prefix("10.0.0.0/33").unwrap_err().contains("0 to 32"));
        assert!(parse_prefix("10.0.0.0/+8").is_err());
        assert!(
            parse_prefix("10.0.0.0")
                .unwrap_err()
                .contains("address/length")
        );
        assert!(
            parse_prefix("10.0.0/8")
                .unwrap_err()
                .contains("not an IPv4 or IPv6")
        );
        assert_eq!(parse_prefix("::/0").unwrap().to_string(), "::/0");
    }
}

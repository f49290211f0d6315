//! Port names: expanding ranges such as `Ethernet1-4` and sorting names in natural order.

use std::cmp::Ordering;
use std::fmt;

/// The most ports one range may expand to; guards against `Ethernet1-999999999`.
pub const MAX_RANGE_LEN: u64 = 4096;

/// Why a port list could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortError {
    /// The offending item of the list, as written.
    pub item: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid port {:?}: {}", self.item, self.reason)
    }
}

impl std::error::Error for PortError {}

fn err(item: &str, reason: impl Into<String>) -> PortError {
    PortError {
        item: item.to_string(),
        reason: reason.into(),
    }
}

/// Expands one port item: a port name (`Ethernet7`, `Ethernet1/3`,
/// `ge-0/0/1`, `Port-Channel1`) or a range over its last number
/// (`Ethernet1-4`, `Ethernet1/1-4`). Names that contain a dash cannot be ranges.
///
/// # Errors
/// When the item is empty, has no number at the end, has a reversed range or
/// one longer than [`MAX_RANGE_LEN`], or contains whitespace or commas.
pub fn expand_item(item: &str) -> Result<Vec<String>, PortError> {
    let item_trimmed = item.trim();
    if item_trimmed.is_empty() {
        return Err(err(item, "empty port name"));
    }
    if item_trimmed.contains(|c: char| c.is_whitespace() || c == ',') {
        return Err(err(item, "a port name cannot contain spaces or commas"));
    }
    let (head, end) = match item_trimmed.rsplit_once('-') {
        Some((head, end)) if !end.is_empty() && end.bytes().all(|b| b.is_ascii_digit()) => {
            (head, Some(end))
        }
        Some(_) if is_dashed_name(item_trimmed) => (item_trimmed, None),
        Some(_) => {
            return Err(err(
                item,
                "a range must end in a number, e.g. Ethernet1-4 or Ethernet1/1-4",
            ));
        }
        None => (item_trimmed, None),
    };
    let digits = head.bytes().rev().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(err(
            item,
            "a port name must end in a number, e.g. Ethernet1 or Ethernet1/1",
        ));
    }
    let (prefix, start) = head.split_at(head.len() - digits);
    if prefix.is_empty() || !prefix.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(err(
            item,
            "a port name must start with a letter, e.g. Ethernet1",
        ));
    }
    let Some(end) = end else {
        return Ok(vec![item_trimmed.to_string()]);
    };
    if prefix.contains('-') {
        return Err(err(
            item,
            "only the last number of a port may be a range, and a name that contains '-' \
             (e.g. ge-0/0/1) cannot be a range: list its ports one by one",
        ));
    }
    let parse = |s: &str| {
        s.parse::<u64>()
            .map_err(|_| err(item, "port number is too large"))
    };
    let (first, last) = (parse(start)?, parse(end)?);
    if last < first {
        return Err(err(
            item,
            format!("range is reversed ({first} > {last}); write the lower bound first"),
        ));
    }
    if last - first >= MAX_RANGE_LEN {
        return Err(err(
            item,
            format!("range spans more than {MAX_RANGE_LEN} ports"),
        ));
    }
    Ok((first..=last).map(|n| format!("{prefix}{n}")).collect())
}

/// Whether `item` is a port name that contains a dash but is not a range,
/// such as `ge-0/0/1` or `Port-Channel1`: letters only before the first dash.
fn is_dashed_name(item: &str) -> bool {
    item.split_once('-')
        .is_some_and(|(kind, _)| !kind.is_empty() && kind.bytes().all(|b| b.is_ascii_alphabetic()))
}

/// Expands a comma-separated list of ports and ranges (`Ethernet1-4,Ethernet7`)
/// into port names, sorted in natural order with duplicates removed.
///
/// # Errors
/// The first item that [`expand_item`] refuses.
pub fn expand_list(list: &str) -> Result<Vec<String>, PortError> {
    expand_items(list.split(','))
}

/// Like [`expand_list`], for items already split (each may still be a range or
/// a comma-separated list).
///
/// # Errors
/// The first item that [`expand_item`] refuses.
pub fn expand_items<'a>(
    items: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<String>, PortError> {
    let mut ports = Vec::new();
    for item in items {
        for part in item.split(',') {
            ports.extend(expand_item(part)?);
        }
    }
    sort_natural(&mut ports);
    Ok(ports)
}

/// Sorts names in natural order (`Ethernet2` before `Ethernet10`) and removes
/// duplicates.
pub fn sort_natural(names: &mut Vec<String>) {
    names.sort_by(|a, b| natural_cmp(a, b));
    names.dedup();
}

/// Compares two names in natural order: runs of digits compare as numbers.
#[must_use]
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (trim_zeros(&a[..da]), trim_zeros(&b[..db]));
                let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|&&d| d == b'0').count();
    &digits[zeros.min(digits.len().saturating_sub(1))..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_simple_and_slotted_ranges() {
        assert_eq!(
            expand_list("Ethernet1-3,Ethernet7").unwrap(),
            ["Ethernet1", "Ethernet2", "Ethernet3", "Ethernet7"]
        );
        assert_eq!(
            expand_list("Ethernet1/1-2").unwrap(),
            ["Ethernet1/1", "Ethernet1/2"]
        );
    }

    #[test]
    fn sorts_naturally_and_dedups() {
        assert_eq!(
            expand_list("Ethernet10,Ethernet2,Ethernet1-2,Ethernet1/10,Ethernet1/9").unwrap(),
            [
                "Ethernet1",
                "Ethernet1/9",
                "Ethernet1/10",
                "Ethernet2",
                "Ethernet10"
            ]
        );
    }

    #[test]
    fn refuses_bad_items_with_reasons() {
        let cases = [
            ("Ethernet", "must end in a number"),
            ("Ethernet4-1", "reversed"),
            ("Ethernet1-x", "range must end in a number"),
            ("", "empty"),
            ("1-4", "start with a letter"),
            ("Ethernet1-99999", "more than 4096"),
            ("Eth-1/1-2", "only the last number"),
        ];
        for (item, reason) in cases {
            let e = expand_item(item).unwrap_err();
            assert!(e.reason.contains(reason), "{item}: {e}");
        }
    }

    #[test]
    fn accepts_names_with_dashes_but_not_as_ranges() {
        assert_eq!(expand_list("ge-0/0/1").unwrap(), ["ge-0/0/1"]);
        assert_eq!(
            expand_list("Port-Channel2,Port-Channel10").unwrap(),
            ["Port-Channel2", "Port-Channel10"]
        );
        let e = expand_item("ge-0/0/1-4").unwrap_err();
        assert!(e.reason.contains("list its ports one by one"), "{e}");
        assert!(expand_item("ge-0/0/x").is_err());
        assert!(expand_item("ge-").is_err());
    }

    #[test]
    fn natural_order_handles_leading_zeros_and_prefixes() {
        assert_eq!(natural_cmp("Eth01", "Eth1"), Ordering::Equal);
        assert_eq!(natural_cmp("Eth9", "Eth10"), Ordering::Less);
        assert_eq!(natural_cmp("Ethernet1", "Port-Channel1"), Ordering::Less);
    }

    #[test]
    fn expansion_is_idempotent() {
        let once = expand_list("Ethernet3,Ethernet1-2").unwrap();
        let twice = expand_items(once.iter().map(String::as_str)).unwrap();
        assert_eq!(once, twice);
    }
}

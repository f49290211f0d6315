//! VLAN lists such as `[100, "102-105"]`: parsing, merging and canonical forms.

use serde_json::Value;

use naas_plugin_sdk::spec::{Violations, describe};

/// Lowest usable VLAN id.
pub const VLAN_MIN: u16 = 1;
/// Highest usable VLAN id.
pub const VLAN_MAX: u16 = 4094;

/// Inclusive VLAN ranges, sorted, merged and non-adjacent.
pub type VlanRanges = Vec<(u16, u16)>;

fn parse_id(text: &str) -> Option<u16> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u16>()
        .ok()
        .filter(|v| (VLAN_MIN..=VLAN_MAX).contains(v))
}

fn parse_text(text: &str) -> Option<Vec<(u16, u16)>> {
    text.split(',')
        .map(|part| match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (parse_id(a)?, parse_id(b)?);
                (a <= b).then_some((a, b))
            }
            None => parse_id(part).map(|v| (v, v)),
        })
        .collect()
}

/// Parses a list of VLAN ids and ranges (`100`, `"100"`, `"100-110"`) found
/// at `field`; records a violation on `field[i]` for each bad item.
pub fn parse_list(field: &str, items: &[Value], errs: &mut Violations) -> Option<VlanRanges> {
    if items.is_empty() {
        errs.push(
            field,
            format!("{field} must list at least one VLAN, e.g. [100, \"200-210\"]"),
        );
        return None;
    }
    let mut ranges = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let parsed = match item {
            Value::Number(n) => n
                .as_u64()
                .and_then(|v| u16::try_from(v).ok())
                .filter(|v| (VLAN_MIN..=VLAN_MAX).contains(v))
                .map(|v| vec![(v, v)]),
            Value::String(s) => parse_text(s),
            _ => None,
        };
        match parsed {
            Some(r) => ranges.extend(r),
            None => {
                ok = false;
                errs.push(
                    format!("{field}[{i}]"),
                    format!(
                        "{field}[{i}] must be a VLAN id from {VLAN_MIN} to {VLAN_MAX} or a range \
                         such as \"100-110\" (lower bound first), got {}",
                        describe(item)
                    ),
                );
            }
        }
    }
    ok.then(|| merge(ranges))
}

/// Sorts ranges and merges overlapping or adjacent ones.
#[must_use]
pub fn merge(mut ranges: Vec<(u16, u16)>) -> VlanRanges {
    ranges.sort_unstable();
    let mut out: VlanRanges = Vec::with_capacity(ranges.len());
    for (a, b) in ranges {
        match out.last_mut() {
            Some(last) if u32::from(a) <= u32::from(last.1) + 1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// The canonical JSON list: single VLANs as numbers, runs as `"a-b"` strings.
#[must_use]
pub fn to_json(ranges: &[(u16, u16)]) -> Vec<Value> {
    ranges
        .iter()
        .map(|&(a, b)| {
            if a == b {
                Value::from(a)
            } else {
                Value::from(format!("{a}-{b}"))
            }
        })
        .collect()
}

/// The CLI form used by EOS: `100-105,120`.
#[must_use]
pub fn to_cli(ranges: &[(u16, u16)]) -> String {
    ranges
        .iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> (Option<VlanRanges>, Violations) {
        let mut errs = Violations::new();
        let items = v.as_array().cloned().unwrap_or_default();
        (
            parse_list("spec.trunkAllowedVlans", &items, &mut errs),
            errs,
        )
    }

    #[test]
    fn merges_and_canonicalises() {
        let (r, errs) = parse(json!([120, "100-103", "104", 99, "200-201,300", 120]));
        assert!(errs.is_empty());
        let r = r.unwrap();
        assert_eq!(
            to_json(&r),
            vec![json!("99-104"), json!(120), json!("200-201"), json!(300)]
        );
        assert_eq!(to_cli(&r), "99-104,120,200-201,300");
    }

    #[test]
    fn refuses_bad_items_by_index() {
        let (r, errs) = parse(json!([1, 0, "5-2", "x", 4095, true, 3.5]));
        assert!(r.is_none());
        let fields: Vec<_> = errs.as_slice().iter().map(|v| v.field.clone()).collect();
        assert_eq!(fields.len(), 6);
        assert_eq!(fields[0], "spec.trunkAllowedVlans[1]");
        assert_eq!(fields[5], "spec.trunkAllowedVlans[6]");
    }

    #[test]
    fn refuses_empty_list() {
        let (r, errs) = parse(json!([]));
        assert!(r.is_none());
        assert!(errs.as_slice()[0].message.contains("at least one"));
    }
}

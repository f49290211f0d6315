//! Drift: which lines naas applied are missing from a device, and which lines it removed are back.

use super::ConfigTreeError;
use super::platform::Platform;
use super::tree::ConfigTree;

/// How a device differs from what naas applied, each line given with its
/// sections (`router bgp 65001 > neighbor 10.0.0.2 remote-as 65002`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drift {
    /// Lines naas applied that the device no longer has.
    pub missing: Vec<String>,
    /// Lines naas removed that the device has again.
    pub returned: Vec<String>,
}

impl Drift {
    /// Whether the device holds exactly what naas applied (for naas's lines).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.returned.is_empty()
    }
}

/// Compares `running` with `applied` (naas's config for the device) and
/// `removed` (lines naas took off it). Only naas's lines are looked at.
///
/// # Errors
/// A config that does not parse.
pub fn drift(
    running: &str,
    applied: &str,
    removed: &str,
    platform: &Platform,
) -> Result<Drift, ConfigTreeError> {
    let running = ConfigTree::parse(running, platform)?.root.lineages();
    let applied = ConfigTree::parse(applied, platform)?.root.lineages();
    // Only the lines of `removed` without children: a section header such
    // as `interface Ethernet5` may well stay on the device once naas's
    // lines under it are gone.
    // (Lineages come sorted: a line's children follow it.)
    let removed: Vec<Vec<String>> = ConfigTree::parse(removed, platform)?
        .root
        .lineages()
        .into_iter()
        .collect();
    let removed: Vec<Vec<String>> = removed
        .iter()
        .enumerate()
        .filter(|(i, l)| {
            removed
                .get(i + 1)
                .is_none_or(|next| !(next.len() > l.len() && next.starts_with(l)))
        })
        .map(|(_, l)| l.clone())
        .collect();
    let show = |l: &Vec<String>| l.join(" > ");
    Ok(Drift {
        missing: applied
            .iter()
            .filter(|l| !running.contains(*l))
            .map(show)
            .collect(),
        returned: removed
            .iter()
            .filter(|l| running.contains(*l) && !applied.contains(*l))
            .map(show)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config_tree::FRR;

    #[test]
    fn missing_and_returned_lines_name_their_sections_and_ignore_foreign_lines() {
        let applied = "router bgp 65001\n neighbor 10.0.0.2 remote-as 65002\n neighbor 10.0.0.2 description spine\nexit\n";
        let removed = "ip prefix-list OLD seq 5 permit 10.0.0.0/8\n";
        let running = "hostname r1\nrouter bgp 65001\n neighbor 10.0.0.2 remote-as 65002\n neighbor 10.9.9.9 remote-as 1\nexit\nip prefix-list OLD seq 5 permit 10.0.0.0/8\n";
        let d = drift(running, applied, removed, &FRR).unwrap();
        assert_eq!(
            d.missing,
            ["router bgp 65001 > neighbor 10.0.0.2 description spine"]
        );
        assert_eq!(d.returned, ["ip prefix-list OLD seq 5 permit 10.0.0.0/8"]);
        let in_sync = "router bgp 65001\n neighbor 10.0.0.2 remote-as 65002\n neighbor 10.0.0.2 description spine\nexit\n";
        assert!(drift(in_sync, applied, removed, &FRR).unwrap().is_empty());
        // A removed section: its header alone on the device is no drift, a line under it is.
        let removed = "interface swp5\n description web\nexit\n";
        let header_only = format!("{in_sync}interface swp5\nexit\n");
        assert!(
            drift(&header_only, applied, removed, &FRR)
                .unwrap()
                .is_empty()
        );
        let back = format!("{in_sync}interface swp5\n description web\nexit\n");
        assert_eq!(
            drift(&back, applied, removed, &FRR).unwrap().returned,
            ["interface swp5 > description web"]
        );
    }
}

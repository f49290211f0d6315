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
    let removed = ConfigTree::parse(removed, platform)?.root.lineages();
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
    }
}

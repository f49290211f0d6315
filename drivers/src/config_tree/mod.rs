//! Config trees and remediation: CLI config parsed by indentation, diffed by platform rule tables.
//!
//! After netdevops' hier_config: a config is a tree of lines
//! ([`ConfigTree`]); [`remediation`] gives the commands from running to
//! intended, [`rollback`] the way back, [`future`] the config they would
//! leave, and [`remediation_scoped`] applies naas's rule that only lines naas
//! applied are ever negated. Everything platform-specific (exit words,
//! idempotent settings, ordering, normalisation) is data in a [`Platform`];
//! the algorithm knows no platform.

mod drift;
mod platform;
mod remediation;
mod tree;

#[cfg(test)]
mod tests;

pub use drift::{Drift, drift};
pub use platform::{
    EOS, FRR, IOS, LineSub, MatchRule, OrderRule, Platform, SectionExit, lineage_matches,
};
pub use remediation::{future, remediation, remediation_scoped, remediation_tree, rollback};
pub use tree::{ConfigTree, Node};

/// A config that cannot be parsed into a tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigTreeError {
    /// A line lines up with no open section.
    #[error(
        "config line {line}: indented by {found} spaces, but the other lines of its section are indented by {expected}; indent each section's lines alike"
    )]
    InconsistentIndent {
        /// The line number (from 1).
        line: usize,
        /// Its indentation.
        found: usize,
        /// The indentation of its section's lines.
        expected: usize,
    },
    /// A line is indented with a tab.
    #[error("config line {line}: indented with a tab; indent config lines with spaces")]
    TabIndent {
        /// The line number (from 1).
        line: usize,
    },
}

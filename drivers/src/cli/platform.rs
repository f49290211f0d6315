//! CLI platforms as data: prompts, pager, config mode, error patterns, candidate commands (FRR, EOS, IOS-XE, Junos).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};

use regex::Regex;

use crate::config_tree::{EOS, FRR, IOS, MatchRule, Platform};

/// A platform's regex (prompt or error pattern), compiled once per process.
///
/// The prompts are Unicode-aware (`\w`): compiling one took about 0.5 ms,
/// a third of the driver's CPU per push when each session compiled its own.
/// A clone shares the compiled program.
///
/// # Panics
/// When `pattern` does not compile (a bug in a platform table).
pub(crate) fn compiled(pattern: &'static str) -> Regex {
    static CACHE: LazyLock<Mutex<HashMap<&'static str, Regex>>> = LazyLock::new(Mutex::default);
    CACHE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(pattern)
        .or_insert_with(|| {
            Regex::new(pattern).unwrap_or_else(|e| panic!("platform regex {pattern:?}: {e}"))
        })
        .clone()
}

/// How a platform with a candidate configuration stages, commits and undoes.
/// `{session}` stands for the session name, `{hms}` for `hh:mm:ss` and
/// `{minutes}` for whole minutes (rounded up).
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    /// Enters a private candidate (`configure session {session}`, `configure private`).
    pub enter: &'static str,
    /// Enters the candidate for a confirmed commit (Junos refuses
    /// `commit confirmed` in `configure private`: `configure exclusive`).
    pub enter_confirmed: &'static str,
    /// Commits it.
    pub commit: &'static [&'static str],
    /// Commits it, rolled back by the device unless confirmed in time.
    pub commit_confirmed: &'static [&'static str],
    /// Confirms a confirmed commit, from exec mode.
    pub confirm: &'static [&'static str],
    /// Drops the candidate and leaves config mode.
    pub abort: &'static [&'static str],
}

/// One CLI platform: everything the driver needs to hold a dialog with it.
#[derive(Debug, Clone, Copy)]
pub struct CliPlatform {
    /// Its name, as in `Target::platform` (`frr`, `eos`, `ios`, `junos`).
    pub name: &'static str,
    /// The config tree rules its configs are diffed with.
    pub tree: &'static Platform,
    /// A regex matching the whole last line when the device waits for a command.
    pub prompt: &'static str,
    /// Whether to ask for a pseudo-terminal (CLIs print prompts only with one).
    pub pty: bool,
    /// Commands run once after login (pager off, no line wrapping).
    pub setup: &'static [&'static str],
    /// Prints the running config.
    pub show_running: &'static str,
    /// A prefix the running config (and candidates) carry on every line and
    /// the tree does not (`set ` for Junos' `display set`).
    pub line_prefix: Option<&'static str>,
    /// Enters config mode (platforms without a candidate).
    pub configure: &'static str,
    /// Leaves one section.
    pub exit: &'static str,
    /// Leaves config mode.
    pub end: &'static str,
    /// Commands typed otherwise: a command (without indentation) starting
    /// with the first text is typed as the second (FRR's `no description`
    /// takes no argument).
    pub negation_rewrites: &'static [(&'static str, &'static str)],
    /// Sections the device never deletes whole (FRR refuses `no interface lo`
    /// for a live interface): their negation is typed as the negation of each
    /// of their lines on the device.
    pub kept_sections: &'static [&'static str],
    /// Regexes: an answer with a line matching one means the device rejected the command.
    pub errors: &'static [&'static str],
    /// The candidate commands, or `None` when every config line is live at once.
    pub candidate: Option<Candidate>,
}

impl CliPlatform {
    /// The platform called `name`.
    #[must_use]
    pub fn by_name(name: &str) -> Option<&'static CliPlatform> {
        [&FRR_CLI, &EOS_CLI, &IOS_XE_CLI, &JUNOS_CLI]
            .into_iter()
            .find(|p| p.name == name)
    }

    /// The platform's section-exit words (`exit-address-family`...), which
    /// the driver replaces by its own `exit`s.
    pub(crate) fn is_exit_word(&self, line: &str) -> bool {
        let t = line.trim();
        t == self.exit || self.tree.sectional_exits.iter().any(|s| s.exit == t)
    }

    /// Config text as the tree reads it (without the line prefix).
    pub(crate) fn tree_text(&self, text: &str) -> String {
        match self.line_prefix {
            None => text.to_string(),
            Some(p) => text
                .lines()
                .map(|l| l.strip_prefix(p).unwrap_or(l))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// A remediation line (without indentation) as the command to type:
    /// `set ` before additions on Junos, the platform's rewrites.
    pub(crate) fn command(&self, line: &str) -> String {
        if let Some((_, to)) = self
            .negation_rewrites
            .iter()
            .find(|(from, _)| line.starts_with(from))
        {
            return (*to).to_string();
        }
        match self.line_prefix {
            Some(p) if !line.starts_with(self.tree.negation_prefix) => format!("{p}{line}"),
            _ => line.to_string(),
        }
    }

    /// Whether `line` (a top-level negation) negates a kept section; gives
    /// the section line.
    pub(crate) fn kept_section<'a>(&self, line: &'a str) -> Option<&'a str> {
        let section = line.strip_prefix(self.tree.negation_prefix)?;
        self.kept_sections
            .iter()
            .any(|k| section.starts_with(k))
            .then_some(section)
    }
}

/// FRRouting's vtysh (no candidate: lines apply as they are typed).
pub const FRR_CLI: CliPlatform = CliPlatform {
    name: "frr",
    tree: &FRR,
    prompt: r"^[\w.\-]+(\([\w.\-]+\))?[#>] ?$",
    pty: true,
    setup: &["terminal length 0"],
    show_running: "show running-config",
    line_prefix: None,
    configure: "configure terminal",
    exit: "exit",
    end: "end",
    negation_rewrites: &[("no description ", "no description")],
    kept_sections: &["interface "],
    errors: &[r"^% "],
    candidate: None,
};

/// Arista EOS: configure sessions, `commit timer` for confirmed commits.
pub const EOS_CLI: CliPlatform = CliPlatform {
    name: "eos",
    tree: &EOS,
    prompt: r"^[\w.\-]+(\([\w.\-/]+\))?[#>] ?$",
    pty: true,
    setup: &["terminal length 0", "terminal width 32767"],
    show_running: "show running-config",
    line_prefix: None,
    configure: "configure terminal",
    exit: "exit",
    end: "end",
    negation_rewrites: &[],
    kept_sections: &["interface Ethernet", "interface Management"],
    errors: &[r"^% "],
    candidate: Some(Candidate {
        enter: "configure session {session}",
        enter_confirmed: "configure session {session}",
        commit: &["commit"],
        commit_confirmed: &["commit timer {hms}"],
        confirm: &["configure session {session} commit"],
        abort: &["abort"],
    }),
};

/// Cisco IOS-XE (no candidate).
pub const IOS_XE_CLI: CliPlatform = CliPlatform {
    name: "ios",
    tree: &IOS,
    prompt: r"^[\w.\-]+(\([\w.\-]+\))?[#>] ?$",
    pty: true,
    setup: &["terminal length 0", "terminal width 0"],
    show_running: "show running-config",
    line_prefix: None,
    configure: "configure terminal",
    exit: "exit",
    end: "end",
    negation_rewrites: &[],
    kept_sections: &["interface GigabitEthernet", "interface TenGigabitEthernet"],
    errors: &[r"^% "],
    candidate: None,
};

/// Junos set-style config: lines are `set` paths, negated with `delete`.
pub const JUNOS: Platform = Platform {
    name: "junos",
    indent: 4,
    negation_prefix: "delete ",
    comment_prefixes: &["#"],
    line_subs: &[crate::config_tree::LineSub {
        matches: MatchRule::StartsWith("## "),
        replace: None,
    }],
    idempotent: &[],
    sectional_exits: &[],
    ordering: &[],
    default_weight: 500,
    hidden_defaults: &[],
};

/// Juniper Junos: `configure private` (`configure exclusive` for `commit confirmed N`,
/// which private mode refuses), `show configuration | display set`.
pub const JUNOS_CLI: CliPlatform = CliPlatform {
    name: "junos",
    tree: &JUNOS,
    prompt: r"^[\w.\-]+@[\w.\-]+[#>] ?$",
    pty: true,
    setup: &["set cli screen-length 0", "set cli screen-width 0"],
    show_running: "show configuration | display set | no-more",
    line_prefix: Some("set "),
    configure: "configure private",
    exit: "exit",
    end: "exit configuration-mode",
    negation_rewrites: &[],
    kept_sections: &[],
    errors: &[
        r"^error: ",
        r"^syntax error",
        r"^unknown command",
        r"^\s+\^$",
    ],
    candidate: Some(Candidate {
        enter: "configure private",
        enter_confirmed: "configure exclusive",
        commit: &["commit and-quit"],
        commit_confirmed: &["commit confirmed {minutes} and-quit"],
        confirm: &["configure exclusive", "commit and-quit"],
        abort: &["rollback 0", "exit configuration-mode"],
    }),
};

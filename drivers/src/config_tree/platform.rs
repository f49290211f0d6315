//! Platform behaviour as data: the rule tables of EOS, FRR and IOS.

/// How one line of a lineage is recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchRule {
    /// The line is exactly this text.
    Equals(&'static str),
    /// The line begins with this text.
    StartsWith(&'static str),
    /// The line's first words are these, `*` standing for any one word.
    Words(&'static [&'static str]),
}

impl MatchRule {
    /// The part of `text` this rule matched (what names the setting), or
    /// `None` when `text` does not match.
    pub fn key(&self, text: &str) -> Option<String> {
        match *self {
            MatchRule::Equals(s) => (text == s).then(|| s.to_string()),
            MatchRule::StartsWith(s) => text.starts_with(s).then(|| s.to_string()),
            MatchRule::Words(pattern) => {
                let words: Vec<&str> = text.split_whitespace().take(pattern.len()).collect();
                let all = words.len() == pattern.len()
                    && words.iter().zip(pattern).all(|(w, p)| *p == "*" || w == p);
                all.then(|| words.join(" "))
            }
        }
    }

    /// Whether `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        self.key(text).is_some()
    }
}

/// Whether a lineage (section lines from the top, then the line) matches a
/// path of rules, one rule per level.
pub fn lineage_matches<S: AsRef<str>>(rules: &[MatchRule], lineage: &[S]) -> bool {
    rules.len() == lineage.len()
        && rules
            .iter()
            .zip(lineage)
            .all(|(r, t)| r.matches(t.as_ref()))
}

/// A section that must be left with an exit word before the next command.
#[derive(Debug, Clone, Copy)]
pub struct SectionExit {
    /// The section's lineage.
    pub lineage: &'static [MatchRule],
    /// The word that leaves it (`exit-address-family`).
    pub exit: &'static str,
}

/// Where lines go in a remediation: lower weights first (the default is
/// [`Platform::default_weight`]).
#[derive(Debug, Clone, Copy)]
pub struct OrderRule {
    /// The lines' lineage (negations are matched with their `no `).
    pub lineage: &'static [MatchRule],
    /// Their weight.
    pub weight: i32,
}

/// A substitution applied to every line of a config before parsing.
#[derive(Debug, Clone, Copy)]
pub struct LineSub {
    /// The lines it applies to (matched without their indentation).
    pub matches: MatchRule,
    /// The new text, or `None` to drop the line.
    pub replace: Option<&'static str>,
}

/// One platform's behaviour: only rule tables, which the diff algorithm reads.
#[derive(Debug, Clone, Copy)]
pub struct Platform {
    /// Its name (`eos`, `frr`, `ios`).
    pub name: &'static str,
    /// Spaces per indentation level when printing.
    pub indent: usize,
    /// The word that negates a line (`no `, with its space).
    pub negation_prefix: &'static str,
    /// Lines starting with one of these are comments.
    pub comment_prefixes: &'static [&'static str],
    /// Substitutions that normalise running config (banners, `end`, exit words).
    pub line_subs: &'static [LineSub],
    /// Lines that a new value replaces (no negation of the old one): the last
    /// rule's matched text names the setting (`hostname`, `neighbor 10.0.0.1 description`).
    pub idempotent: &'static [&'static [MatchRule]],
    /// Sections that need an exit word.
    pub sectional_exits: &'static [SectionExit],
    /// Ordering weights; the first matching rule wins.
    pub ordering: &'static [OrderRule],
    /// The weight of lines no rule matches.
    pub default_weight: i32,
    /// Lines the platform accepts but never shows in its running config,
    /// because they state its default (FRR: `no shutdown` on an interface).
    /// Once naas applied one, the device not showing it (nor its negation)
    /// means it is in effect: it is not sent again.
    pub hidden_defaults: &'static [&'static [MatchRule]],
}

impl Platform {
    /// The platform called `name` (`eos`, `frr`, `ios`).
    pub fn by_name(name: &str) -> Option<&'static Platform> {
        [&EOS, &FRR, &IOS].into_iter().find(|p| p.name == name)
    }

    /// The line after this platform's substitutions, or `None` when it is
    /// dropped (comments included). `line` has no indentation.
    pub fn normalise(&self, line: &str) -> Option<String> {
        if self.comment_prefixes.iter().any(|c| line.starts_with(c)) {
            return None;
        }
        match self.line_subs.iter().find(|s| s.matches.matches(line)) {
            Some(sub) => sub.replace.map(str::to_string),
            None => Some(line.to_string()),
        }
    }

    /// The negation of a line: `no X` for `X`, and `X` for `no X`.
    pub fn negate(&self, text: &str) -> String {
        match text.strip_prefix(self.negation_prefix) {
            Some(rest) => rest.to_string(),
            None => format!("{}{text}", self.negation_prefix),
        }
    }

    /// What names the setting of an idempotent line (rule index and matched
    /// text), or `None` when the line is not idempotent.
    pub fn idempotent_key<S: AsRef<str>>(&self, lineage: &[S]) -> Option<(usize, String)> {
        let (last, _) = lineage.split_last()?;
        self.idempotent
            .iter()
            .enumerate()
            .find(|(_, rules)| lineage_matches(rules, lineage))
            .and_then(|(i, rules)| rules.last()?.key(last.as_ref()).map(|k| (i, k)))
    }

    /// The exit word a section needs, if any.
    pub fn exit_for<S: AsRef<str>>(&self, lineage: &[S]) -> Option<&'static str> {
        self.sectional_exits
            .iter()
            .find(|s| lineage_matches(s.lineage, lineage))
            .map(|s| s.exit)
    }

    /// Whether a line is one the platform never shows (see
    /// [`Platform::hidden_defaults`]).
    pub fn is_hidden_default<S: AsRef<str>>(&self, lineage: &[S]) -> bool {
        self.hidden_defaults
            .iter()
            .any(|rules| lineage_matches(rules, lineage))
    }

    /// A line's ordering weight.
    pub fn weight<S: AsRef<str>>(&self, lineage: &[S]) -> i32 {
        self.ordering
            .iter()
            .find(|o| lineage_matches(o.lineage, lineage))
            .map_or(self.default_weight, |o| o.weight)
    }
}

use MatchRule::{Equals, StartsWith, Words};

const BGP: MatchRule = StartsWith("router bgp");
const AF: MatchRule = StartsWith("address-family");
const INTF: MatchRule = StartsWith("interface");

/// Objects that sections refer to go first; their negations go last, once
/// nothing uses them any more.
const ORDERING: &[OrderRule] = &[
    OrderRule {
        lineage: &[StartsWith("vlan")],
        weight: 100,
    },
    OrderRule {
        lineage: &[StartsWith("ip prefix-list")],
        weight: 200,
    },
    OrderRule {
        lineage: &[StartsWith("ipv6 prefix-list")],
        weight: 200,
    },
    OrderRule {
        lineage: &[StartsWith("ip community-list")],
        weight: 200,
    },
    OrderRule {
        lineage: &[StartsWith("ip as-path")],
        weight: 200,
    },
    OrderRule {
        lineage: &[StartsWith("bgp community-list")],
        weight: 200,
    },
    OrderRule {
        lineage: &[StartsWith("bgp as-path")],
        weight: 200,
    },
    OrderRule {
        lineage: &[StartsWith("ip access-list")],
        weight: 200,
    },
    OrderRule {
        lineage: &[StartsWith("route-map")],
        weight: 300,
    },
    // A BGP neighbour exists once it has a remote AS (or a peer group
    // once defined): that line goes before the neighbour's other lines,
    // and its negation (which deletes the neighbour with all its lines)
    // after the negations of theirs.
    OrderRule {
        lineage: &[BGP, Words(&["neighbor", "*", "peer-group"])],
        weight: 440,
    },
    OrderRule {
        lineage: &[BGP, Words(&["neighbor", "*", "remote-as"])],
        weight: 450,
    },
    OrderRule {
        lineage: &[BGP, Words(&["no", "neighbor", "*", "remote-as"])],
        weight: 550,
    },
    OrderRule {
        lineage: &[StartsWith("no route-map")],
        weight: 700,
    },
    OrderRule {
        lineage: &[StartsWith("no ip prefix-list")],
        weight: 800,
    },
    OrderRule {
        lineage: &[StartsWith("no ipv6 prefix-list")],
        weight: 800,
    },
    OrderRule {
        lineage: &[StartsWith("no ip community-list")],
        weight: 800,
    },
    OrderRule {
        lineage: &[StartsWith("no ip as-path")],
        weight: 800,
    },
    OrderRule {
        lineage: &[StartsWith("no bgp community-list")],
        weight: 800,
    },
    OrderRule {
        lineage: &[StartsWith("no bgp as-path")],
        weight: 800,
    },
    OrderRule {
        lineage: &[StartsWith("no ip access-list")],
        weight: 800,
    },
    OrderRule {
        lineage: &[StartsWith("no vlan")],
        weight: 900,
    },
];

/// Settings that a new value replaces, common to the three platforms.
const IDEMPOTENT: &[&[MatchRule]] = &[
    &[StartsWith("hostname")],
    &[StartsWith("ip domain-name")],
    &[StartsWith("ip domain name")],
    &[StartsWith("snmp-server location")],
    &[StartsWith("snmp-server contact")],
    &[StartsWith("logging source-interface")],
    &[StartsWith("ntp source")],
    &[INTF, StartsWith("description")],
    &[INTF, StartsWith("mtu")],
    &[INTF, StartsWith("switchport access vlan")],
    &[INTF, StartsWith("switchport mode")],
    &[INTF, StartsWith("ip ospf cost")],
    &[StartsWith("vlan"), StartsWith("name")],
    &[BGP, StartsWith("bgp router-id")],
    &[BGP, StartsWith("router-id")],
    &[BGP, Words(&["neighbor", "*", "description"])],
    &[BGP, Words(&["neighbor", "*", "remote-as"])],
    &[BGP, Words(&["neighbor", "*", "peer-group"])],
    &[BGP, Words(&["neighbor", "*", "update-source"])],
    &[BGP, StartsWith("maximum-paths")],
    &[BGP, AF, StartsWith("maximum-paths")],
    &[StartsWith("router ospf"), StartsWith("router-id")],
    &[StartsWith("router ospf"), StartsWith("ospf router-id")],
    &[StartsWith("route-map"), StartsWith("description")],
];

/// Lines every platform's running config may carry that are not config.
macro_rules! drop_lines {
    ($($rule:expr),* $(,)?) => {
        &[$(LineSub { matches: $rule, replace: None }),*]
    };
}

/// Arista EOS.
pub const EOS: Platform = Platform {
    name: "eos",
    indent: 3,
    negation_prefix: "no ",
    comment_prefixes: &["!"],
    line_subs: drop_lines![
        Equals("end"),
        StartsWith("Building configuration"),
        StartsWith("Current configuration"),
        Equals("exit-address-family"),
        Equals("exit-peer-policy"),
        Equals("exit-peer-session"),
        Equals("exit"),
    ],
    idempotent: IDEMPOTENT,
    sectional_exits: &[
        SectionExit {
            lineage: &[BGP, AF],
            exit: "exit-address-family",
        },
        SectionExit {
            lineage: &[BGP, StartsWith("vrf"), AF],
            exit: "exit-address-family",
        },
        SectionExit {
            lineage: &[BGP, StartsWith("template peer-policy")],
            exit: "exit-peer-policy",
        },
        SectionExit {
            lineage: &[BGP, StartsWith("template peer-session")],
            exit: "exit-peer-session",
        },
    ],
    ordering: ORDERING,
    default_weight: 500,
    hidden_defaults: &[],
};

/// FRRouting, as `vtysh -c 'show running-config'` prints it.
pub const FRR: Platform = Platform {
    name: "frr",
    indent: 1,
    negation_prefix: "no ",
    comment_prefixes: &["!"],
    line_subs: drop_lines![
        Equals("end"),
        StartsWith("Building configuration"),
        StartsWith("Current configuration"),
        StartsWith("frr version"),
        StartsWith("frr defaults"),
        Equals("exit-address-family"),
        Equals("exit-vrf"),
        Equals("exit-vnc"),
        Equals("exit"),
    ],
    idempotent: IDEMPOTENT,
    sectional_exits: &[
        SectionExit {
            lineage: &[BGP, AF],
            exit: "exit-address-family",
        },
        SectionExit {
            lineage: &[StartsWith("vrf")],
            exit: "exit-vrf",
        },
    ],
    ordering: ORDERING,
    default_weight: 500,
    hidden_defaults: &[
        // An interface is up unless shut down.
        &[INTF, Equals("no shutdown")],
        // With `bgp default ipv4-unicast` (FRR's default), a neighbour is
        // active in IPv4 unicast; an address family with nothing else is
        // not shown at all.
        &[
            BGP,
            Equals("address-family ipv4 unicast"),
            Words(&["neighbor", "*", "activate"]),
        ],
    ],
};

/// Cisco IOS.
pub const IOS: Platform = Platform {
    name: "ios",
    indent: 1,
    negation_prefix: "no ",
    comment_prefixes: &["!"],
    line_subs: drop_lines![
        Equals("end"),
        StartsWith("Building configuration"),
        StartsWith("Current configuration"),
        StartsWith("! Last configuration change"),
        StartsWith("! NVRAM config last updated"),
        StartsWith("ntp clock-period"),
        StartsWith("version "),
        Equals("exit-address-family"),
        Equals("exit"),
    ],
    idempotent: IDEMPOTENT,
    sectional_exits: &[SectionExit {
        lineage: &[BGP, AF],
        exit: "exit-address-family",
    }],
    ordering: ORDERING,
    default_weight: 500,
    hidden_defaults: &[],
};

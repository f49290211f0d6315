//! Config remediation checked against real peers: hier-config (EOS, IOS) and FRR's frr-reload.py.
//!
//! Every case under `tests/data/config_tree/<case>/{running,intended}.<platform>.conf`
//! is remediated by naas and by the peer; both answers, parsed into trees, must
//! hold the same command lines (order is not compared: ours follows the
//! platform's ordering weights). The peers install with:
//!
//! - hier-config: `python3 -m pip install hier-config==3.7.1`;
//! - frr-reload.py: `apt-get install -y frr frr-pythontools` (it runs offline,
//!   no FRR daemon needed).
//!
//! `scripts/test.sh` installs both.
//!
//! Differences with the peers: all of one kind, each listed in
//! [`DIFFERENCES`] (the test fails when the list and the peers disagree).
//! Where a setting such as a description, an access VLAN, a hostname, a BGP
//! router-id or a neighbor's remote-as changes, the peer negates the old value
//! before setting the new one; naas only sets the new one
//! (`Platform::idempotent`). naas is right for its devices: the new value
//! replaces the old one in one command, the negation first takes the port or
//! the BGP process through a needless state (no VLAN, no router-id), and on
//! EOS, IOS and FRR `no neighbor X remote-as` deletes the whole neighbor (all
//! its settings and its session) where setting the new AS keeps them.
//!
//! The test removes exactly those peer lines (a negation of an idempotent
//! setting whose new value, in the same section, naas sends) and checks that
//! every other line agrees. It also checks that the config naas predicts
//! (`future`) for each case is the intended config, and that the rollback
//! restores the running config.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use naas_driver::config_tree::{self, ConfigTree, EOS, FRR, IOS, Node, Platform};

const HIER_CONFIG_INSTALL: &str =
    "python3 -m pip install hier-config==3.7.1 (scripts/test.sh installs it)";
const FRR_RELOAD: &str = "/usr/lib/frr/frr-reload.py";
const FRR_INSTALL: &str =
    "apt-get update && apt-get install -y frr frr-pythontools (scripts/test.sh installs them)";

/// The peer lines naas does not send: (platform, case, line as its lineage
/// joined by " / "). Each is the negation of an old value that naas replaces.
const DIFFERENCES: &[(&str, &str, &str)] = &[
    (
        "eos",
        "bgp_neighbor_change",
        "router bgp 65000 / no neighbor 10.0.0.2 remote-as 65001",
    ),
    (
        "eos",
        "description_change",
        "interface Ethernet1 / no description old uplink",
    ),
    (
        "eos",
        "hostname_router_id",
        "router bgp 65000 / no router-id 10.255.0.1",
    ),
    (
        "eos",
        "vlan_change_and_no_lines",
        "interface Ethernet1 / no switchport access vlan 120",
    ),
    (
        "ios",
        "bgp_neighbor_change",
        "router bgp 65000 / no neighbor 10.0.0.2 description old-peer",
    ),
    (
        "ios",
        "bgp_neighbor_change",
        "router bgp 65000 / no neighbor 10.0.0.2 remote-as 65001",
    ),
    ("ios", "hostname_router_id", "no hostname leaf1"),
    (
        "ios",
        "hostname_router_id",
        "router bgp 65000 / no bgp router-id 10.255.0.1",
    ),
    (
        "ios",
        "vlan_change_and_no_lines",
        "interface GigabitEthernet0/1 / no switchport access vlan 120",
    ),
    (
        "frr",
        "bgp_neighbor_change",
        "router bgp 65000 / no neighbor 10.0.0.2 description old-peer",
    ),
    (
        "frr",
        "bgp_neighbor_change",
        "router bgp 65000 / no neighbor 10.0.0.2 remote-as 65001",
    ),
    (
        "frr",
        "description_change",
        "interface eth0 / no description old uplink",
    ),
    ("frr", "hostname_router_id", "no hostname r1"),
    (
        "frr",
        "hostname_router_id",
        "router bgp 65000 / no bgp router-id 10.255.0.1",
    ),
];

/// A running/intended pair of one platform.
struct Case {
    name: String,
    running: PathBuf,
    intended: PathBuf,
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The cases that have files for `platform`.
fn cases(platform: &Platform) -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/config_tree");
    let mut out: Vec<Case> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|d| d.join(format!("running.{}.conf", platform.name)).exists())
        .map(|d| Case {
            name: d.file_name().unwrap().to_string_lossy().into_owned(),
            running: d.join(format!("running.{}.conf", platform.name)),
            intended: d.join(format!("intended.{}.conf", platform.name)),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The lineages of the leaves of a tree: one per command line.
fn leaves(node: &Node) -> BTreeSet<Vec<String>> {
    fn walk(n: &Node, path: &mut Vec<String>, out: &mut BTreeSet<Vec<String>>) {
        for c in n.children() {
            path.push(c.text().to_string());
            if c.children().is_empty() {
                out.insert(path.clone());
            }
            walk(c, path, out);
            path.pop();
        }
    }
    let mut out = BTreeSet::new();
    walk(node, &mut Vec::new(), &mut out);
    out
}

fn command_leaves(text: &str, platform: &Platform) -> BTreeSet<Vec<String>> {
    leaves(
        &ConfigTree::parse(text, platform)
            .expect("peer output parses")
            .root,
    )
}

/// Drops the peer's negations of idempotent settings whose new value (same
/// section, same setting) naas sends: the one documented difference.
fn without_idempotent_negations(
    theirs: BTreeSet<Vec<String>>,
    ours: &BTreeSet<Vec<String>>,
    platform: &Platform,
    dropped: &mut Vec<String>,
) -> BTreeSet<Vec<String>> {
    let our_keys: BTreeSet<(Vec<String>, (usize, String))> = ours
        .iter()
        .filter_map(|l| Some((l[..l.len() - 1].to_vec(), platform.idempotent_key(l)?)))
        .collect();
    theirs
        .into_iter()
        .filter(|l| {
            let (last, parent) = l.split_last().unwrap();
            let Some(positive) = last.strip_prefix(platform.negation_prefix) else {
                return true;
            };
            let mut lineage = parent.to_vec();
            lineage.push(positive.to_string());
            let replaced = platform
                .idempotent_key(&lineage)
                .is_some_and(|k| our_keys.contains(&(parent.to_vec(), k)));
            if replaced {
                dropped.push(l.join(" / "));
            }
            !replaced
        })
        .collect()
}

/// Compares naas with a peer over every case of a platform.
fn agree_with_peer(platform: &Platform, peer_name: &str, peer: impl Fn(&Case) -> String) {
    let cases = cases(platform);
    assert!(
        cases.len() >= 8,
        "{} cases for {}",
        cases.len(),
        platform.name
    );
    let mut failures = Vec::new();
    let mut differences = BTreeSet::new();
    for case in &cases {
        let ours = config_tree::remediation(&read(&case.running), &read(&case.intended), platform)
            .unwrap();
        let ours_leaves = command_leaves(&ours.join("\n"), platform);
        let theirs_text = peer(case);
        let mut dropped = Vec::new();
        let theirs = without_idempotent_negations(
            command_leaves(&theirs_text, platform),
            &ours_leaves,
            platform,
            &mut dropped,
        );
        for line in dropped {
            differences.insert((case.name.clone(), line));
        }
        if ours_leaves != theirs {
            failures.push(format!(
                "{} {}:\n  only naas: {:?}\n  only {peer_name}: {:?}\n  naas:\n{}\n  {peer_name}:\n{theirs_text}",
                platform.name,
                case.name,
                ours_leaves.difference(&theirs).collect::<Vec<_>>(),
                theirs.difference(&ours_leaves).collect::<Vec<_>>(),
                ours.join("\n"),
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let documented: BTreeSet<(String, String)> = DIFFERENCES
        .iter()
        .filter(|(p, _, _)| *p == platform.name)
        .map(|(_, c, l)| (c.to_string(), l.to_string()))
        .collect();
    assert_eq!(
        differences, documented,
        "the differences with {peer_name} are not those DIFFERENCES documents"
    );
}

/// hier-config's remediation (`dump_simple`), for its platform name.
fn hier_config(platform: &str, case: &Case) -> String {
    let probe = Command::new("python3")
        .args(["-c", "import hier_config"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        panic!("the peer hier-config is missing: {HIER_CONFIG_INSTALL}");
    }
    let script = "import sys\n\
        from hier_config import get_hconfig, Platform, WorkflowRemediation\n\
        p = getattr(Platform, sys.argv[1])\n\
        r = get_hconfig(p, open(sys.argv[2]).read())\n\
        i = get_hconfig(p, open(sys.argv[3]).read())\n\
        print('\\n'.join(WorkflowRemediation(r, i).remediation_config.dump_simple()))\n";
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(platform)
        .arg(&case.running)
        .arg(&case.intended)
        .output()
        .expect("running python3");
    assert!(
        out.status.success(),
        "hier-config on {}: {}",
        case.name,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// frr-reload.py's "Lines To Delete" and "Lines To Add", as one text.
fn frr_reload(case: &Case) -> String {
    if !Path::new(FRR_RELOAD).exists() {
        panic!("the peer {FRR_RELOAD} is missing: {FRR_INSTALL}");
    }
    let out = Command::new("python3")
        .arg(FRR_RELOAD)
        .args(["--test", "--input"])
        .arg(&case.running)
        .arg(&case.intended)
        .output()
        .expect("running frr-reload.py");
    assert!(
        out.status.success(),
        "frr-reload.py on {}: {}",
        case.name,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| {
            !matches!(l.trim(), "Lines To Delete" | "Lines To Add") && !l.starts_with("===")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn eos_remediation_agrees_with_hier_config() {
    agree_with_peer(&EOS, "hier-config", |c| hier_config("ARISTA_EOS", c));
}

#[test]
fn ios_remediation_agrees_with_hier_config() {
    agree_with_peer(&IOS, "hier-config", |c| hier_config("CISCO_IOS", c));
}

#[test]
fn frr_remediation_agrees_with_frr_reload() {
    agree_with_peer(&FRR, "frr-reload.py", frr_reload);
}

#[test]
fn future_of_the_remediation_is_the_intended_config() {
    for platform in [&EOS, &FRR, &IOS] {
        for case in cases(platform) {
            let (running, intended) = (read(&case.running), read(&case.intended));
            let rem = config_tree::remediation(&running, &intended, platform).unwrap();
            let future = config_tree::future(&running, &rem, platform).unwrap();
            let lineages = |t: &str| ConfigTree::parse(t, platform).unwrap().root.lineages();
            assert_eq!(
                lineages(&future),
                lineages(&intended),
                "{} {}: remediation {rem:#?}\nfuture:\n{future}",
                platform.name,
                case.name
            );
            // And the rollback brings the running config back, but for the
            // positive lines of the `no` lines the remediation added (`no lldp
            // transmit` rolled back is `lldp transmit`, which is what the device
            // then does, whether or not it prints it).
            let back = config_tree::rollback(&running, &intended, platform).unwrap();
            let restored = lineages(&config_tree::future(&future, &back, platform).unwrap());
            let (running, intended) = (lineages(&running), lineages(&intended));
            assert!(
                restored.is_superset(&running),
                "{} {}: rollback lost lines",
                platform.name,
                case.name
            );
            for extra in restored.difference(&running) {
                let (last, parent) = extra.split_last().unwrap();
                let mut negated = parent.to_vec();
                negated.push(platform.negate(last));
                assert!(
                    intended.contains(&negated),
                    "{} {}: rollback left {extra:?}",
                    platform.name,
                    case.name
                );
            }
        }
    }
}

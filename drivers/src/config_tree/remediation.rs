//! Remediation, rollback, scoped remediation and the future config, platform-blind.

use std::collections::HashSet;

use super::ConfigTreeError;
use super::platform::Platform;
use super::tree::{ConfigTree, Node};

/// Which halves of a diff to compute.
#[derive(Clone, Copy)]
struct Mode {
    negate: bool,
    add: bool,
}

/// The idempotency keys of a section's children, for one map look-up per line.
fn keys_of<'a>(
    section: &'a Node,
    lineage: &mut Vec<&'a str>,
    p: &Platform,
) -> HashSet<(usize, String)> {
    section
        .children()
        .iter()
        .filter_map(|c| {
            lineage.push(c.text());
            let k = p.idempotent_key(lineage);
            lineage.pop();
            k
        })
        .collect()
}

/// Whether a line is replaced by a line of the same setting in `wanted_keys`.
fn replaced<'a>(
    line: &'a str,
    lineage: &mut Vec<&'a str>,
    wanted_keys: &HashSet<(usize, String)>,
    p: &Platform,
) -> bool {
    lineage.push(line);
    let key = p.idempotent_key(lineage);
    lineage.pop();
    key.is_some_and(|k| wanted_keys.contains(&k))
}

/// The commands of one section that turn `run` into `want`, into `out`.
fn diff<'a>(
    run: &'a Node,
    want: &'a Node,
    lineage: &mut Vec<&'a str>,
    p: &Platform,
    mode: Mode,
    out: &mut Node,
) {
    if mode.negate {
        let wanted_keys = keys_of(want, lineage, p);
        for rc in run.children() {
            if want.child(rc.text()).is_none() && !replaced(rc.text(), lineage, &wanted_keys, p) {
                // A section goes away whole with its own line's negation.
                out.merge_child(Node::new(p.negate(rc.text())));
            }
        }
    }
    for wc in want.children() {
        match run.child(wc.text()) {
            Some(rc) => {
                if wc.children().is_empty() && rc.children().is_empty() {
                    continue;
                }
                let mut sub = Node::new(wc.text());
                lineage.push(wc.text());
                diff(rc, wc, lineage, p, mode, &mut sub);
                lineage.pop();
                if !sub.children().is_empty() {
                    out.merge_child(sub);
                }
            }
            None if mode.add => out.merge_child(wc.clone()),
            None => {}
        }
    }
}

/// Whether every line of the device's section `device` (at any depth) is one
/// that `ours` holds, so that negating the section touches nothing foreign.
fn covers(ours: &Node, device: &Node) -> bool {
    device
        .children()
        .iter()
        .all(|d| ours.child(d.text()).is_some_and(|o| covers(o, d)))
}

/// The negations of the lines of `old` that `new` no longer has and that are
/// still on the device (`run`); a section with foreign lines keeps them.
fn scoped_negations<'a>(
    old: &'a Node,
    new: Option<&'a Node>,
    run: &'a Node,
    lineage: &mut Vec<&'a str>,
    p: &Platform,
    out: &mut Node,
) {
    let wanted_keys = new.map(|n| keys_of(n, lineage, p)).unwrap_or_default();
    for oc in old.children() {
        let Some(rc) = run.child(oc.text()) else {
            continue;
        };
        let next = match new.and_then(|n| n.child(oc.text())) {
            Some(nc) => Some(nc),
            None if replaced(oc.text(), lineage, &wanted_keys, p) => continue,
            None if covers(oc, rc) => {
                out.merge_child(Node::new(p.negate(oc.text())));
                continue;
            }
            None => None,
        };
        if oc.children().is_empty() {
            continue;
        }
        let mut sub = Node::new(oc.text());
        lineage.push(oc.text());
        scoped_negations(oc, next, rc, lineage, p, &mut sub);
        lineage.pop();
        if !sub.children().is_empty() {
            out.merge_child(sub);
        }
    }
}

/// Sorts every level of a remediation by the platform's ordering weights.
fn order(node: &mut Node, lineage: &mut Vec<String>, p: &Platform) {
    node.sort_children_by_key(|c| {
        lineage.push(c.text().to_string());
        let w = p.weight(lineage);
        lineage.pop();
        w
    });
    for c in node.children_mut() {
        lineage.push(c.text().to_string());
        order(c, lineage, p);
        lineage.pop();
    }
}

/// The commands of a remediation tree, indented, with the exit words the
/// platform's sections need.
fn emit<'a>(node: &'a Node, lineage: &mut Vec<&'a str>, p: &Platform, out: &mut Vec<String>) {
    let pad = " ".repeat(lineage.len() * p.indent);
    for c in node.children() {
        out.push(format!("{pad}{}", c.text()));
        if c.children().is_empty() {
            continue;
        }
        lineage.push(c.text());
        emit(c, lineage, p, out);
        if let Some(exit) = p.exit_for(lineage) {
            out.push(format!("{pad}{exit}"));
        }
        lineage.pop();
    }
}

/// Orders a remediation tree and prints it as commands.
fn commands(mut tree: Node, p: &Platform) -> Vec<String> {
    order(&mut tree, &mut Vec::new(), p);
    let mut out = Vec::new();
    emit(&tree, &mut Vec::new(), p, &mut out);
    out
}

/// The remediation of two parsed trees, as a tree of commands.
pub fn remediation_tree(running: &ConfigTree, intended: &ConfigTree, platform: &Platform) -> Node {
    let mut out = Node::new("");
    let mode = Mode {
        negate: true,
        add: true,
    };
    diff(
        &running.root,
        &intended.root,
        &mut Vec::new(),
        platform,
        mode,
        &mut out,
    );
    out
}

/// The commands that turn `running` into `intended`: new lines under the
/// section lines that enter their section, negations of the lines that go
/// away (a section with one line), new values of idempotent settings with no
/// negation of the old, ordered by the platform's weights, with its exit words.
pub fn remediation(
    running: &str,
    intended: &str,
    platform: &Platform,
) -> Result<Vec<String>, ConfigTreeError> {
    let running = ConfigTree::parse(running, platform)?;
    let intended = ConfigTree::parse(intended, platform)?;
    Ok(commands(
        remediation_tree(&running, &intended, platform),
        platform,
    ))
}

/// The commands that turn the device back from `intended` to `running`.
pub fn rollback(
    running: &str,
    intended: &str,
    platform: &Platform,
) -> Result<Vec<String>, ConfigTreeError> {
    remediation(intended, running, platform)
}

/// The remediation under naas's scope rule: add the lines of
/// `new_intended` missing from `running`; negate only the lines of
/// `old_intended` (what naas applied before) that `new_intended` drops and
/// that are still on the device. Lines no service rendered are never touched,
/// and a section holding such lines is not negated whole.
pub fn remediation_scoped(
    running: &str,
    old_intended: &str,
    new_intended: &str,
    platform: &Platform,
) -> Result<Vec<String>, ConfigTreeError> {
    let running = ConfigTree::parse(running, platform)?;
    let old = ConfigTree::parse(old_intended, platform)?;
    let new = ConfigTree::parse(new_intended, platform)?;
    let mut out = Node::new("");
    scoped_negations(
        &old.root,
        Some(&new.root),
        &running.root,
        &mut Vec::new(),
        platform,
        &mut out,
    );
    let mode = Mode {
        negate: false,
        add: true,
    };
    let wanted = without_settled_defaults(
        &new.root,
        Some(&old.root),
        Some(&running.root),
        &mut Vec::new(),
        platform,
    );
    diff(
        &running.root,
        &wanted,
        &mut Vec::new(),
        platform,
        mode,
        &mut out,
    );
    Ok(commands(out, platform))
}

/// `want` without the lines the device never shows ([`Platform::hidden_defaults`])
/// that naas applied before (`old`) and that the device (`run`) shows
/// neither as such nor negated: they are in effect, and sending them again
/// would change nothing. A section left empty by that, applied before and
/// not shown by the device, goes too (FRR hides an address family with
/// nothing but default lines).
fn without_settled_defaults<'a>(
    want: &'a Node,
    old: Option<&'a Node>,
    run: Option<&'a Node>,
    lineage: &mut Vec<&'a str>,
    p: &Platform,
) -> Node {
    let mut out = Node::new(want.text());
    for wc in want.children() {
        let oc = old.and_then(|o| o.child(wc.text()));
        let rc = run.and_then(|r| r.child(wc.text()));
        let settled = oc.is_some() && rc.is_none();
        lineage.push(wc.text());
        if wc.children().is_empty() {
            let negated_on_device = run.is_some_and(|r| r.child(&p.negate(wc.text())).is_some());
            if !(settled && !negated_on_device && p.is_hidden_default(lineage)) {
                out.merge_child(wc.clone());
            }
        } else {
            let sub = without_settled_defaults(wc, oc, rc, lineage, p);
            if !(settled && sub.children().is_empty()) {
                out.merge_child(sub);
            }
        }
        lineage.pop();
    }
    out
}

/// Applies remediation commands to one section.
fn apply(cur: &mut Node, rem: &Node, lineage: &mut Vec<String>, p: &Platform) {
    // Settings in this section by idempotency key, to replace old values.
    let mut by_key: std::collections::HashMap<(usize, String), Vec<String>> = Default::default();
    for c in cur.children() {
        lineage.push(c.text().to_string());
        if let Some(k) = p.idempotent_key(lineage) {
            by_key.entry(k).or_default().push(c.text().to_string());
        }
        lineage.pop();
    }
    let mut removed = HashSet::new();
    let mut added = Vec::new();
    for rc in rem.children() {
        let opposite = p.negate(rc.text());
        if cur.child(&opposite).is_some() && !removed.contains(&opposite) {
            removed.insert(opposite);
            if rc.text().starts_with(p.negation_prefix) {
                continue;
            }
        }
        lineage.push(rc.text().to_string());
        if let Some(k) = p.idempotent_key(lineage) {
            for old in by_key.get(&k).into_iter().flatten() {
                if old != rc.text() {
                    removed.insert(old.clone());
                }
            }
        }
        lineage.pop();
        added.push(rc);
    }
    cur.remove_children(&removed);
    for rc in added {
        let child = cur.child_or_insert(rc.text());
        lineage.push(rc.text().to_string());
        apply(child, rc, lineage, p);
        lineage.pop();
    }
}

/// The config that results from applying `remediation` (as [`remediation`]
/// prints it) to `running`: negated lines and sections go, idempotent settings
/// take their new value, new lines go at the end of their section.
pub fn future(
    running: &str,
    remediation: &[String],
    platform: &Platform,
) -> Result<String, ConfigTreeError> {
    let mut tree = ConfigTree::parse(running, platform)?;
    let rem = ConfigTree::parse(&remediation.join("\n"), platform)?;
    apply(&mut tree.root, &rem.root, &mut Vec::new(), platform);
    Ok(tree.to_text(platform))
}

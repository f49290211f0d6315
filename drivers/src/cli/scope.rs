//! Scoping helpers: a config's lines as lineages, a config cut to some lines, kept sections typed line by line.

use std::collections::BTreeSet;

use super::platform::CliPlatform;
use crate::config_tree::{ConfigTree, Node};

/// The lineages of a config.
pub(crate) fn lineages(text: &str, p: &CliPlatform) -> Result<BTreeSet<Vec<String>>, String> {
    ConfigTree::parse(&p.tree_text(text), p.tree)
        .map(|t| t.root.lineages())
        .map_err(|e| e.to_string())
}

/// The lines of `text` whose lineage is in `keep`, as config text.
pub(crate) fn restrict(
    text: &str,
    keep: &BTreeSet<Vec<String>>,
    p: &CliPlatform,
) -> Result<String, String> {
    let mut root = Node::new("");
    for lineage in lineages(text, p)?.intersection(keep) {
        let mut node = &mut root;
        for line in lineage {
            node = node.child_or_insert(line);
        }
    }
    Ok(ConfigTree { root }.to_text(p.tree))
}

/// Types the negation of a kept section as the negation of each of its
/// lines on the device (`running`), under the section line.
pub(crate) fn expand_kept(
    commands: Vec<String>,
    running: &str,
    p: &CliPlatform,
) -> Result<Vec<String>, String> {
    if !commands.iter().any(|c| p.kept_section(c).is_some()) {
        return Ok(commands);
    }
    let tree = ConfigTree::parse(&p.tree_text(running), p.tree).map_err(|e| e.to_string())?;
    let pad = " ".repeat(p.tree.indent);
    let mut out = Vec::with_capacity(commands.len());
    for c in commands {
        match p.kept_section(&c).and_then(|s| tree.root.child(s)) {
            Some(section) => {
                out.push(section.text().to_string());
                for child in section.children() {
                    out.push(format!("{pad}{}", p.tree.negate(child.text())));
                }
            }
            None => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::FRR_CLI;

    #[test]
    fn restrict_keeps_the_chosen_lines_under_their_sections() {
        let config = "router bgp 65001\n neighbor 10.0.0.2 remote-as 65002\n neighbor 10.0.0.9 remote-as 65009\nip route 10.7.0.0/24 Null0\n";
        let keep: BTreeSet<Vec<String>> = [vec![
            "router bgp 65001".to_string(),
            "neighbor 10.0.0.2 remote-as 65002".to_string(),
        ]]
        .into();
        assert_eq!(
            restrict(config, &keep, &FRR_CLI).unwrap(),
            "router bgp 65001\n neighbor 10.0.0.2 remote-as 65002\n"
        );
        assert_eq!(lineages(config, &FRR_CLI).unwrap().len(), 4);
    }

    #[test]
    fn a_kept_section_is_negated_line_by_line() {
        let running = "interface lo\n description a\n ip address 10.1.1.1/32\n";
        let out = expand_kept(
            vec![
                "no interface lo".into(),
                "no ip route 10.7.0.0/24 Null0".into(),
            ],
            running,
            &FRR_CLI,
        )
        .unwrap();
        assert_eq!(
            out,
            [
                "interface lo",
                " no description a",
                " no ip address 10.1.1.1/32",
                "no ip route 10.7.0.0/24 Null0"
            ]
        );
        // FRR types `no description` without its argument.
        assert_eq!(FRR_CLI.command("no description a"), "no description");
    }
}

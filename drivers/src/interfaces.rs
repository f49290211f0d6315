//! The interfaces a rendered config touches, read by the host itself (not trusted to plugins): CLI `interface <name>` sections, Junos `set interfaces <name>`, and ietf-interfaces `<interface><name>` in NETCONF XML.

use crate::config_tree::{ConfigTree, FRR, Platform};

/// The interfaces a CLI config for `platform` configures: its top-level
/// `interface <name>` sections and `set|delete interfaces <name> …` lines,
/// in order, each once.
///
/// # Errors
/// A config that does not parse into a tree (the message says where).
pub fn of_cli(text: &str, platform: &str) -> Result<Vec<String>, String> {
    let p = Platform::by_name(platform).unwrap_or(&FRR);
    let tree = ConfigTree::parse(text, p).map_err(|e| e.to_string())?;
    let mut out: Vec<String> = Vec::new();
    for line in tree.root.children() {
        let words: Vec<&str> = line.text().split_whitespace().collect();
        let name = match words.as_slice() {
            ["interface", name, ..] => *name,
            ["set" | "delete", "interfaces", name, ..] => *name,
            _ => continue,
        };
        if !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    }
    Ok(out)
}

/// The interfaces a NETCONF config configures: the `<name>` of every
/// `<interface>` inside an `<interfaces>` element (ietf-interfaces, any
/// namespace prefix), in order, each once.
///
/// # Errors
/// XML that does not parse (DTDs are refused).
pub fn of_xml(text: &str) -> Result<Vec<String>, String> {
    // A fragment may hold several top-level elements: wrap it.
    let wrapped = format!("<naas-config>{text}</naas-config>");
    let doc = roxmltree::Document::parse(&wrapped).map_err(|e| format!("not XML: {e}"))?;
    let mut out: Vec<String> = Vec::new();
    for node in doc.descendants().filter(|n| {
        n.has_tag_name("interface")
            && n.parent_element()
                .is_some_and(|p| p.tag_name().name() == "interfaces")
    }) {
        let Some(name) = node
            .children()
            .find(|c| c.is_element() && c.tag_name().name() == "name")
            .and_then(|c| c.text())
        else {
            continue;
        };
        let name = name.trim();
        if !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_sections_and_set_lines_name_their_interfaces_once() {
        let eos = "! comment\ninterface Ethernet1\n   description a\ninterface Ethernet1/2\n   shutdown\nrouter bgp 65001\n   neighbor 10.0.0.1 remote-as 1\ninterface Ethernet1\n   mtu 9000\n";
        assert_eq!(of_cli(eos, "eos").unwrap(), ["Ethernet1", "Ethernet1/2"]);
        let junos = "set interfaces ge-0/0/1 description x\ndelete interfaces ge-0/0/2 unit 0\nset protocols bgp group x\n";
        assert_eq!(of_cli(junos, "junos").unwrap(), ["ge-0/0/1", "ge-0/0/2"]);
        assert!(
            of_cli("router bgp 1\n neighbor x\n", "frr")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn xml_interfaces_by_name_in_any_namespace() {
        let xml = r#"<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces">
  <interface><name>Ethernet1/1</name><description>x</description></interface>
  <interface><name> Ethernet1/2 </name></interface>
</interfaces>
<if:interfaces xmlns:if="urn:ietf:params:xml:ns:yang:ietf-interfaces"><if:interface><if:name>eth9</if:name></if:interface></if:interfaces>"#;
        assert_eq!(of_xml(xml).unwrap(), ["Ethernet1/1", "Ethernet1/2", "eth9"]);
        assert!(of_xml("<a>").unwrap_err().starts_with("not XML"));
        assert!(of_xml("<!DOCTYPE x [<!ENTITY e \"y\">]><a>&e;</a>").is_err());
    }
}

//! A small owned XML element tree for config data: parse a fragment (children of `<config>`), compare, write back.
//!
//! Parsing uses `roxmltree` (namespace-aware, no dependencies of its own);
//! the tree keeps what NETCONF config needs: each element's namespace, local
//! name, attributes, text of leaves and the namespace prefixes its text uses
//! (identityref values such as `ianaift:ethernetCsmacd`). Comments and
//! processing instructions are dropped.

use std::collections::BTreeMap;

/// The NETCONF base namespace.
pub const NC_NS: &str = "urn:ietf:params:xml:ns:netconf:base:1.0";
/// The namespace of the predeclared `xml:` prefix.
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// One XML element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Namespace URI ("" for none).
    pub ns: String,
    /// Local name.
    pub name: String,
    /// Attributes: (namespace URI, local name) → value.
    pub attrs: BTreeMap<(String, String), String>,
    /// Prefix → URI for prefixes used in the text (`ianaift:ethernetCsmacd`).
    pub text_ns: BTreeMap<String, String>,
    /// Trimmed text of a leaf ("" for containers).
    pub text: String,
    /// Child elements in document order.
    pub children: Vec<Element>,
}

impl Element {
    /// A new element without attributes, text or children.
    #[must_use]
    pub fn new(ns: &str, name: &str) -> Self {
        Self {
            ns: ns.to_string(),
            name: name.to_string(),
            attrs: BTreeMap::new(),
            text_ns: BTreeMap::new(),
            text: String::new(),
            children: Vec::new(),
        }
    }

    /// Whether it has no child elements (a leaf, possibly empty).
    #[must_use]
    pub fn is_leaf(&self) -> bool {
        self.children.is_empty()
    }

    /// The first child named `name` (any namespace).
    #[must_use]
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Writes the element as XML; `parent_ns` is the default namespace in scope.
    pub fn write(&self, parent_ns: &str, out: &mut String) {
        self.open_tag(parent_ns, out);
        if self.children.is_empty() && self.text.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        escape_into(&self.text, false, out);
        for child in &self.children {
            child.write(&self.ns, out);
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
    }

    /// `<name` with its namespace declarations and attributes, unclosed.
    fn open_tag(&self, parent_ns: &str, out: &mut String) {
        out.push('<');
        out.push_str(&self.name);
        if self.ns != parent_ns {
            out.push_str(" xmlns=\"");
            escape_into(&self.ns, true, out);
            out.push('"');
        }
        for (prefix, uri) in &self.text_ns {
            out.push_str(&format!(" xmlns:{prefix}=\""));
            escape_into(uri, true, out);
            out.push('"');
        }
        // Namespaced attributes: `nc:` for NETCONF's (operation), `xml:` as
        // predeclared, a generated prefix for others (YANG's insert/key/value).
        let mut declared: Vec<&str> = Vec::new();
        for ((ns, name), value) in &self.attrs {
            out.push(' ');
            if ns == NC_NS {
                out.push_str("nc:");
            } else if ns == XML_NS {
                out.push_str("xml:");
            } else if !ns.is_empty() {
                let i = declared.iter().position(|d| d == ns).unwrap_or_else(|| {
                    declared.push(ns);
                    declared.len() - 1
                });
                out.push_str(&format!("naas{i}:"));
            }
            out.push_str(name);
            out.push_str("=\"");
            escape_into(value, true, out);
            out.push('"');
        }
        if self.attrs.keys().any(|(ns, _)| ns == NC_NS) {
            out.push_str(&format!(" xmlns:nc=\"{NC_NS}\""));
        }
        for (i, ns) in declared.iter().enumerate() {
            out.push_str(&format!(" xmlns:naas{i}=\""));
            escape_into(ns, true, out);
            out.push('"');
        }
    }
}

/// Writes `elements` as one XML fragment (no default namespace in scope).
#[must_use]
pub fn write_fragment(elements: &[Element]) -> String {
    let mut out = String::new();
    for e in elements {
        e.write("", &mut out);
    }
    out
}

/// Parses a fragment: zero or more top-level elements (the children of `<config>`).
///
/// # Errors
/// The parser's message when it is not well-formed XML.
pub fn parse_fragment(xml: &str) -> Result<Vec<Element>, String> {
    if xml.trim().is_empty() {
        return Ok(Vec::new());
    }
    // A wrapper gives the fragment one root; it declares no namespace, so
    // unprefixed top-level elements keep their own.
    let wrapped = format!("<naas-fragment>{xml}</naas-fragment>");
    let doc = roxmltree::Document::parse(&wrapped).map_err(|e| e.to_string())?;
    Ok(doc
        .root_element()
        .children()
        .filter(roxmltree::Node::is_element)
        .map(|n| from_node(&n))
        .collect())
}

/// Parses a whole document and returns its root element.
///
/// # Errors
/// The parser's message when it is not well-formed XML.
pub fn parse_document(xml: &str) -> Result<Element, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| e.to_string())?;
    Ok(from_node(&doc.root_element()))
}

fn from_node(node: &roxmltree::Node<'_, '_>) -> Element {
    let tag = node.tag_name();
    let mut e = Element::new(tag.namespace().unwrap_or(""), tag.name());
    for a in node.attributes() {
        e.attrs.insert(
            (
                a.namespace().unwrap_or("").to_string(),
                a.name().to_string(),
            ),
            a.value().to_string(),
        );
    }
    let mut text = String::new();
    for child in node.children() {
        if child.is_element() {
            e.children.push(from_node(&child));
        } else if child.is_text() {
            text.push_str(child.text().unwrap_or(""));
        }
    }
    if e.children.is_empty() {
        e.text = text.trim().to_string();
        if let Some((prefix, _)) = e.text.split_once(':')
            && !prefix.is_empty()
            && !prefix.contains(char::is_whitespace)
            && let Some(uri) = node.lookup_namespace_uri(Some(prefix))
        {
            e.text_ns.insert(prefix.to_string(), uri.to_string());
        }
    }
    e
}

/// Escapes `&`, `<`, `>` (and `"` in attributes).
pub fn escape_into(text: &str, attribute: bool, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

/// `text` escaped for element content.
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(text, false, &mut out);
    out
}

/// A readable, indented rendering (one element or leaf per line), for diffs.
#[must_use]
pub fn pretty(elements: &[Element]) -> String {
    fn walk(e: &Element, depth: usize, parent_ns: &str, out: &mut String) {
        out.push_str(&"  ".repeat(depth));
        if e.is_leaf() {
            e.write(parent_ns, out);
            out.push('\n');
            return;
        }
        e.open_tag(parent_ns, out);
        out.push_str(">\n");
        for c in &e.children {
            walk(c, depth + 1, &e.ns, out);
        }
        out.push_str(&"  ".repeat(depth));
        out.push_str(&format!("</{}>\n", e.name));
    }
    let mut out = String::new();
    for e in elements {
        walk(e, 0, "", &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_namespaces_text_prefixes_and_writes_back() {
        let xml = r#"<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces">
            <interface><name>eth1 &amp; co</name>
              <type xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">ianaift:ethernetCsmacd</type>
            </interface></interfaces>"#;
        let tree = parse_fragment(xml).unwrap();
        assert_eq!(tree.len(), 1);
        let itf = &tree[0].children[0];
        assert_eq!(itf.ns, "urn:ietf:params:xml:ns:yang:ietf-interfaces");
        assert_eq!(itf.child("name").unwrap().text, "eth1 & co");
        let ty = itf.child("type").unwrap();
        assert_eq!(
            ty.text_ns.get("ianaift").map(String::as_str),
            Some("urn:ietf:params:xml:ns:yang:iana-if-type")
        );
        let written = write_fragment(&tree);
        assert!(written.contains("<name>eth1 &amp; co</name>"), "{written}");
        assert_eq!(
            parse_fragment(&written).unwrap(),
            tree,
            "round trip: {written}"
        );
    }

    #[test]
    fn other_namespaced_attributes_survive_a_round_trip() {
        let xml = r#"<list xmlns="urn:x" xmlns:yang="urn:ietf:params:xml:ns:yang:1" yang:insert="after" yang:key="[k='1']" xml:lang="en"><k>2</k></list>"#;
        let tree = parse_fragment(xml).unwrap();
        let written = write_fragment(&tree);
        assert_eq!(parse_fragment(&written).unwrap(), tree, "{written}");
        assert!(written.contains(r#"naas0:insert="after""#), "{written}");
    }

    #[test]
    fn pretty_puts_one_element_or_leaf_per_line() {
        let tree = parse_fragment(r#"<a xmlns="urn:a"><b><c>1</c><d/></b></a>"#).unwrap();
        assert_eq!(
            pretty(&tree),
            "<a xmlns=\"urn:a\">\n  <b>\n    <c>1</c>\n    <d/>\n  </b>\n</a>\n"
        );
        assert_eq!(parse_fragment(&pretty(&tree)).unwrap(), tree);
    }

    #[test]
    fn a_dtd_from_the_device_is_refused() {
        let laughs = r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><rpc-reply>&b;</rpc-reply>"#;
        assert!(parse_document(laughs).is_err());
    }

    #[test]
    fn empty_and_broken_fragments() {
        assert!(parse_fragment("  ").unwrap().is_empty());
        assert!(parse_fragment("<a><b></a>").is_err());
    }

    #[test]
    fn operation_attribute_declares_the_nc_prefix() {
        let mut e = Element::new("urn:x", "leaf");
        e.attrs
            .insert((NC_NS.into(), "operation".into()), "remove".into());
        let out = write_fragment(&[e]);
        assert_eq!(
            out,
            format!(r#"<leaf xmlns="urn:x" nc:operation="remove" xmlns:nc="{NC_NS}"/>"#)
        );
        let back = parse_fragment(&out).unwrap();
        assert_eq!(
            back[0]
                .attrs
                .get(&(NC_NS.into(), "operation".into()))
                .unwrap(),
            "remove"
        );
    }
}

//! Edit-config payloads: Replace removes exactly naas's stale elements; rollback edits back to what the device had.
//!
//! Without the YANG schema, elements are matched by identity: namespace and
//! local name, plus for list entries their key leaves. A list entry is an
//! element with a `name` child (the ietf-interfaces convention), an element in
//! [`KEYS`], or one repeated among its siblings (keyed by its first leaf:
//! RFC 7950 §7.8.5 puts key leaves first). Anything else is a container,
//! matched by name alone: an unknown single-entry list is then treated as a
//! container, which may leave a stale entry but never removes more than naas
//! applied. Repeated leaves (leaf-lists) are matched by value.

use super::xml::{Element, NC_NS};

/// List entries whose key is not a `name` leaf: (element local name, key leaves).
pub const KEYS: &[(&str, &[&str])] = &[
    // ietf-ip addresses and neighbours.
    ("address", &["ip"]),
    ("neighbor", &["ip"]),
];

/// The `nc:operation` of an element, if any.
#[must_use]
pub fn operation(e: &Element) -> Option<&str> {
    e.attrs
        .get(&(NC_NS.to_string(), "operation".to_string()))
        .map(String::as_str)
}

/// The key leaf names of `e` when it is a list entry (`repeated`: its name
/// occurs more than once among its siblings).
fn key_names(e: &Element, repeated: bool) -> Option<Vec<String>> {
    if e.is_leaf() {
        return None;
    }
    if let Some((_, keys)) = KEYS.iter().find(|(n, _)| *n == e.name)
        && keys.iter().all(|k| e.child(k).is_some())
    {
        return Some(keys.iter().map(|k| (*k).to_string()).collect());
    }
    if e.child("name").is_some_and(Element::is_leaf) {
        return Some(vec!["name".into()]);
    }
    if repeated
        && let Some(first) = e.children.first()
        && first.is_leaf()
    {
        return Some(vec![first.name.clone()]);
    }
    None
}

/// Identity of `e` among siblings: (ns, name, key values or leaf-list value).
fn identity(e: &Element, repeated: bool) -> (String, String, Vec<String>) {
    let key = if e.is_leaf() {
        if repeated {
            vec![e.text.clone()]
        } else {
            Vec::new()
        }
    } else {
        key_names(e, repeated)
            .unwrap_or_default()
            .iter()
            .map(|k| e.child(k).map(|c| c.text.clone()).unwrap_or_default())
            .collect()
    };
    (e.ns.clone(), e.name.clone(), key)
}

/// Whether (ns, name) of `e` occurs more than once in `a` or in `b`.
fn repeated(e: &Element, a: &[Element], b: &[Element]) -> bool {
    let count = |list: &[Element]| {
        list.iter()
            .filter(|x| x.ns == e.ns && x.name == e.name)
            .count()
    };
    count(a) > 1 || count(b) > 1
}

/// The element in `list` with the same identity as `e` (siblings `others`).
fn find<'a>(e: &Element, list: &'a [Element], others: &[Element]) -> Option<&'a Element> {
    let rep = repeated(e, list, others);
    let id = identity(e, rep);
    list.iter().find(|x| identity(x, rep) == id)
}

/// `e` reduced to what names it: its key leaves (list entry) or its value (leaf-list).
fn skeleton(e: &Element, repeated: bool) -> Element {
    let mut s = Element {
        children: Vec::new(),
        text: String::new(),
        attrs: Default::default(),
        text_ns: Default::default(),
        ..e.clone()
    };
    if e.is_leaf() && repeated {
        s.text = e.text.clone();
        s.text_ns = e.text_ns.clone();
    }
    for k in key_names(e, repeated).unwrap_or_default() {
        if let Some(leaf) = e.child(&k) {
            s.children.push(leaf.clone());
        }
    }
    s
}

fn with_operation(mut e: Element, op: &str) -> Element {
    e.attrs
        .insert((NC_NS.to_string(), "operation".to_string()), op.to_string());
    e
}

/// The removals that make naas's part exactly `candidate`: every element of
/// `applied` with no counterpart in `candidate`, as a skeleton marked
/// `nc:operation="remove"`, under the (keyed) path of its ancestors.
#[must_use]
pub fn removals(applied: &[Element], candidate: &[Element]) -> Vec<Element> {
    let mut out = Vec::new();
    for a in applied {
        let rep = repeated(a, applied, candidate);
        match find(a, candidate, applied) {
            None => out.push(with_operation(skeleton(a, rep), "remove")),
            Some(c) if !a.is_leaf() && !c.is_leaf() => {
                let inner = removals(&a.children, &c.children);
                if !inner.is_empty() {
                    let mut path = skeleton(a, rep);
                    path.children.extend(inner);
                    out.push(path);
                }
            }
            Some(_) => {}
        }
    }
    out
}

/// Merges the trees of `extra` into `target` (same identity → merge children).
pub fn merge_into(target: &mut Vec<Element>, extra: Vec<Element>) {
    for e in extra {
        let existing = if operation(&e).is_some() {
            None
        } else {
            let rep = repeated(&e, target, &[]);
            let id = identity(&e, rep);
            target.iter().position(|x| identity(x, rep) == id)
        };
        match existing {
            Some(i) if !target[i].is_leaf() => {
                let keys: Vec<String> = key_names(&e, false).unwrap_or_default();
                let children: Vec<Element> = e
                    .children
                    .into_iter()
                    .filter(|c| operation(c).is_some() || !keys.contains(&c.name))
                    .collect();
                merge_into(&mut target[i].children, children);
            }
            // A leaf loaded again: the later value wins.
            Some(i) => target[i] = e,
            None => target.push(e),
        }
    }
}

/// The edit-config payload of a Replace: the candidate plus the removals.
#[must_use]
pub fn replace_payload(applied: &[Element], candidate: &[Element]) -> Vec<Element> {
    let mut payload = candidate.to_vec();
    merge_into(&mut payload, removals(applied, candidate));
    payload
}

/// The edit that undoes `payload` on a device whose config was `before`:
/// elements it added are removed, elements it changed or removed get their
/// old content back. Elements the payload never touched are left alone.
#[must_use]
pub fn restore(payload: &[Element], before: &[Element]) -> Vec<Element> {
    let mut out = Vec::new();
    for p in payload {
        let removed = operation(p) == Some("remove") || operation(p) == Some("delete");
        let rep = repeated(p, payload, before);
        match find(p, before, payload) {
            None if removed => {}
            None => out.push(with_operation(skeleton(p, rep), "remove")),
            Some(b) if removed || p.is_leaf() || b.is_leaf() => out.push(b.clone()),
            Some(b) => {
                let inner = restore(&p.children, &b.children);
                let mut path = skeleton(p, rep);
                let keys: Vec<String> = path.children.iter().map(|c| c.name.clone()).collect();
                let changes: Vec<Element> = inner
                    .into_iter()
                    .filter(|c| operation(c).is_some() || !keys.contains(&c.name))
                    .collect();
                if !changes.is_empty() {
                    path.children.extend(changes);
                    out.push(path);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netconf::xml::{parse_fragment, write_fragment};

    const IF: &str = "urn:ietf:params:xml:ns:yang:ietf-interfaces";

    fn interfaces(entries: &[(&str, &str)]) -> String {
        let body: String = entries
            .iter()
            .map(|(n, d)| {
                format!("<interface><name>{n}</name><description>{d}</description></interface>")
            })
            .collect();
        format!(r#"<interfaces xmlns="{IF}">{body}</interfaces>"#)
    }

    #[test]
    fn replace_removes_exactly_the_entries_naas_dropped() {
        let applied =
            parse_fragment(&interfaces(&[("eth1", "a"), ("eth2", "b"), ("eth3", "b")])).unwrap();
        let candidate = parse_fragment(&interfaces(&[("eth1", "a2")])).unwrap();
        let payload = replace_payload(&applied, &candidate);
        let text = write_fragment(&payload);
        assert_eq!(
            text,
            format!(
                r#"<interfaces xmlns="{IF}"><interface><name>eth1</name><description>a2</description></interface><interface nc:operation="remove" xmlns:nc="{NC_NS}"><name>eth2</name></interface><interface nc:operation="remove" xmlns:nc="{NC_NS}"><name>eth3</name></interface></interfaces>"#
            )
        );
    }

    #[test]
    fn dropped_leaf_is_removed_changed_leaf_is_merged() {
        let applied = parse_fragment(&interfaces(&[("eth1", "a")])).unwrap();
        let candidate = parse_fragment(&format!(
            r#"<interfaces xmlns="{IF}"><interface><name>eth1</name></interface></interfaces>"#
        ))
        .unwrap();
        let r = write_fragment(&removals(&applied, &candidate));
        assert_eq!(
            r,
            format!(
                r#"<interfaces xmlns="{IF}"><interface><name>eth1</name><description nc:operation="remove" xmlns:nc="{NC_NS}"/></interface></interfaces>"#
            )
        );
        // Same elements, other values: nothing to remove.
        let changed = parse_fragment(&interfaces(&[("eth1", "z")])).unwrap();
        assert!(removals(&applied, &changed).is_empty());
        // Nothing applied before: nothing to remove.
        assert!(removals(&[], &changed).is_empty());
    }

    #[test]
    fn leaf_lists_match_by_value_and_other_keys_come_from_the_table() {
        let applied = parse_fragment(
            r#"<sys xmlns="urn:s"><server>a</server><server>b</server><address><ip>10.0.0.1</ip><len>24</len></address></sys>"#,
        )
        .unwrap();
        let candidate = parse_fragment(
            r#"<sys xmlns="urn:s"><server>b</server><address><ip>10.0.0.2</ip><len>24</len></address></sys>"#,
        )
        .unwrap();
        let r = write_fragment(&removals(&applied, &candidate));
        assert_eq!(
            r,
            format!(
                r#"<sys xmlns="urn:s"><server nc:operation="remove" xmlns:nc="{NC_NS}">a</server><address nc:operation="remove" xmlns:nc="{NC_NS}"><ip>10.0.0.1</ip></address></sys>"#
            )
        );
    }

    #[test]
    fn a_changed_container_leaf_never_removes_the_container() {
        let applied =
            parse_fragment(r#"<system xmlns="urn:s"><hostname>a</hostname></system>"#).unwrap();
        let candidate =
            parse_fragment(r#"<system xmlns="urn:s"><hostname>b</hostname></system>"#).unwrap();
        assert!(removals(&applied, &candidate).is_empty());
    }

    #[test]
    fn restore_undoes_adds_changes_and_removals() {
        let before = parse_fragment(&interfaces(&[
            ("eth1", "old"),
            ("eth2", "b"),
            ("eth9", "not naas"),
        ]))
        .unwrap();
        // naas changed eth1, removed eth2, added eth3.
        let applied = parse_fragment(&interfaces(&[("eth1", "old"), ("eth2", "b")])).unwrap();
        let candidate = parse_fragment(&interfaces(&[("eth1", "new"), ("eth3", "c")])).unwrap();
        let payload = replace_payload(&applied, &candidate);
        let undo = write_fragment(&restore(&payload, &before));
        assert_eq!(
            undo,
            format!(
                r#"<interfaces xmlns="{IF}"><interface><name>eth1</name><description>old</description></interface><interface nc:operation="remove" xmlns:nc="{NC_NS}"><name>eth3</name></interface><interface><name>eth2</name><description>b</description></interface></interfaces>"#
            )
        );
    }
}

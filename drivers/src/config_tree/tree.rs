//! The config tree: CLI text parsed into sections by indentation, in line order.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::ConfigTreeError;
use super::platform::Platform;

/// One line of configuration and the lines indented under it, in their order.
///
/// Children are also indexed by their text, so that finding a line in a
/// section costs one map look-up, not a scan of the section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    text: String,
    children: Vec<Node>,
    index: HashMap<String, usize>,
}

impl Node {
    /// A line with no children (the root of a tree has an empty text).
    pub fn new(text: impl Into<String>) -> Self {
        Node {
            text: text.into(),
            ..Node::default()
        }
    }

    /// The line, without its indentation.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The lines of this section, in order.
    pub fn children(&self) -> &[Node] {
        &self.children
    }

    /// The child line whose text is `text`, if any.
    pub fn child(&self, text: &str) -> Option<&Node> {
        self.index.get(text).map(|&i| &self.children[i])
    }

    /// The child line whose text is `text`, added at the end when missing.
    pub fn child_or_insert(&mut self, text: &str) -> &mut Node {
        let i = match self.index.get(text) {
            Some(&i) => i,
            None => {
                self.index.insert(text.to_string(), self.children.len());
                self.children.push(Node::new(text));
                self.children.len() - 1
            }
        };
        &mut self.children[i]
    }

    /// Adds `node` (with its children) as a child, merging it into an
    /// existing child of the same text.
    pub fn merge_child(&mut self, node: Node) {
        if let Some(&i) = self.index.get(&node.text) {
            let existing = &mut self.children[i];
            for c in node.children {
                existing.merge_child(c);
            }
        } else {
            self.index.insert(node.text.clone(), self.children.len());
            self.children.push(node);
        }
    }

    /// Removes the children whose text is in `texts` (one pass over the section).
    pub fn remove_children(&mut self, texts: &HashSet<String>) {
        if texts.is_empty() {
            return;
        }
        self.children.retain(|c| !texts.contains(&c.text));
        self.reindex();
    }

    /// Sorts the children by `key`, keeping the order of equal keys.
    pub fn sort_children_by_key<K: Ord>(&mut self, key: impl FnMut(&Node) -> K) {
        self.children.sort_by_cached_key(key);
        self.reindex();
    }

    /// Mutable access to the children, for changes that keep their texts.
    pub(crate) fn children_mut(&mut self) -> &mut [Node] {
        &mut self.children
    }

    fn reindex(&mut self) {
        self.index.clear();
        for (i, c) in self.children.iter().enumerate() {
            self.index.insert(c.text.clone(), i);
        }
    }

    /// Every line below this node as its lineage (the section lines above it,
    /// then the line itself): the tree's content, whatever the order.
    pub fn lineages(&self) -> BTreeSet<Vec<String>> {
        fn walk(n: &Node, path: &mut Vec<String>, out: &mut BTreeSet<Vec<String>>) {
            for c in &n.children {
                path.push(c.text.clone());
                out.insert(path.clone());
                walk(c, path, out);
                path.pop();
            }
        }
        let mut out = BTreeSet::new();
        walk(self, &mut Vec::new(), &mut out);
        out
    }

    /// The lines below this node, indented by `indent` spaces per level.
    pub fn lines(&self, indent: usize) -> Vec<String> {
        fn walk(n: &Node, depth: usize, indent: usize, out: &mut Vec<String>) {
            for c in &n.children {
                out.push(format!("{}{}", " ".repeat(depth * indent), c.text));
                walk(c, depth + 1, indent, out);
            }
        }
        let mut out = Vec::new();
        walk(self, 0, indent, &mut out);
        out
    }
}

/// A whole configuration: a root [`Node`] whose children are the top-level lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigTree {
    /// The root (empty text); its children are the top-level lines.
    pub root: Node,
}

/// One open section while parsing: its indentation and its children's.
struct Level {
    indent: Option<usize>,
    child_indent: Option<usize>,
}

impl ConfigTree {
    /// Parses CLI text into a tree: a line belongs to the nearest line above it
    /// that is indented less. Blank lines, the platform's comment lines and the
    /// lines its substitutions drop are skipped; a line repeated in one section
    /// is kept once.
    pub fn parse(text: &str, platform: &Platform) -> Result<Self, ConfigTreeError> {
        let mut root = Node::new("");
        let mut levels = vec![Level {
            indent: None,
            child_indent: None,
        }];
        // Child indices from the root to the section the last line opened.
        let mut path: Vec<usize> = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let line_no = n + 1;
            let line = raw.trim_end();
            let body = line.trim_start_matches(' ');
            if body.is_empty() {
                continue;
            }
            if body.starts_with('\t') {
                return Err(ConfigTreeError::TabIndent { line: line_no });
            }
            let Some(body) = platform.normalise(body) else {
                continue;
            };
            let indent = line.len() - line.trim_start_matches(' ').len();
            while levels.len() > 1 && levels.last().and_then(|l| l.indent) >= Some(indent) {
                levels.pop();
                path.pop();
            }
            let top = levels.last_mut().expect("the root level is never popped");
            match top.child_indent {
                Some(expected) if expected != indent => {
                    return Err(ConfigTreeError::InconsistentIndent {
                        line: line_no,
                        found: indent,
                        expected,
                    });
                }
                Some(_) => {}
                None => top.child_indent = Some(indent),
            }
            let mut parent = &mut root;
            for &i in &path {
                parent = &mut parent.children[i];
            }
            parent.child_or_insert(&body);
            path.push(parent.index[&body]);
            levels.push(Level {
                indent: Some(indent),
                child_indent: None,
            });
        }
        Ok(ConfigTree { root })
    }

    /// The configuration as text, indented by the platform's indentation step.
    pub fn to_text(&self, platform: &Platform) -> String {
        let mut out = self.root.lines(platform.indent).join("\n");
        if !out.is_empty() {
            out.push('\n');
        }
        out
    }
}

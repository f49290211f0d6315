//! Template overrides: a deployment's own texts for a plugin's named templates, from a ConfigMap or a directory.
//!
//! A plugin renders its templates by name (`render-named-template`); the
//! operator gives it the keys of the ConfigMap its `Plugin` names in
//! `spec.templates`, and `naas render --templates DIR` the files of
//! `DIR/<plugin name>/`. Both are bounded before the host reads them into an
//! evaluation: at most [`MAX_TEMPLATES`] templates of [`MAX_TEMPLATE_BYTES`]
//! each.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Most overrides one plugin may have.
pub const MAX_TEMPLATES: usize = 256;
/// Largest override text, in bytes (a ConfigMap holds at most 1 MiB in all).
pub const MAX_TEMPLATE_BYTES: usize = 1 << 20;

/// Where a set of overrides came from; names it in every message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverrideSource {
    /// A ConfigMap: one key per template.
    ConfigMap {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// A directory: one file per template.
    Directory(PathBuf),
}

impl OverrideSource {
    /// Where the override `template` lives: `ConfigMap ns/name, key eos.j2`
    /// or `file DIR/eos.j2`.
    #[must_use]
    pub fn locate(&self, template: &str) -> String {
        match self {
            OverrideSource::ConfigMap { namespace, name } => {
                format!("ConfigMap {namespace}/{name}, key {template}")
            }
            OverrideSource::Directory(dir) => {
                format!("file {}", dir.join(template).display())
            }
        }
    }
}

impl fmt::Display for OverrideSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OverrideSource::ConfigMap { namespace, name } => {
                write!(f, "ConfigMap {namespace}/{name}")
            }
            OverrideSource::Directory(dir) => write!(f, "directory {}", dir.display()),
        }
    }
}

/// Overrides that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum OverrideError {
    /// Too many templates.
    #[error("{origin}: {count} templates, more than the limit of {MAX_TEMPLATES}")]
    TooMany {
        /// Where.
        origin: OverrideSource,
        /// How many.
        count: usize,
    },
    /// One template is too large.
    #[error("{}: {size} bytes, more than the limit of {MAX_TEMPLATE_BYTES}", .origin.locate(.template))]
    TooLarge {
        /// Where.
        origin: OverrideSource,
        /// The template name.
        template: String,
        /// Its size.
        size: u64,
    },
    /// A file could not be read.
    #[error("cannot read template override {}: {error}", .path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// A file is not UTF-8.
    #[error("template override {} is not UTF-8 text", .path.display())]
    NotText {
        /// The file.
        path: PathBuf,
    },
}

/// One plugin's template overrides, by template name. Empty by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateOverrides {
    source: Option<OverrideSource>,
    templates: BTreeMap<String, String>,
}

impl TemplateOverrides {
    /// Overrides from `source` (e.g. a ConfigMap's data).
    ///
    /// # Errors
    /// More than [`MAX_TEMPLATES`] templates, or one larger than [`MAX_TEMPLATE_BYTES`].
    pub fn new(
        source: OverrideSource,
        templates: BTreeMap<String, String>,
    ) -> Result<Self, OverrideError> {
        if templates.len() > MAX_TEMPLATES {
            return Err(OverrideError::TooMany {
                origin: source,
                count: templates.len(),
            });
        }
        if let Some((name, text)) = templates.iter().find(|(_, t)| t.len() > MAX_TEMPLATE_BYTES) {
            return Err(OverrideError::TooLarge {
                template: name.clone(),
                size: text.len() as u64,
                origin: source,
            });
        }
        Ok(Self {
            source: Some(source),
            templates,
        })
    }

    /// The templates, by name.
    #[must_use]
    pub fn templates(&self) -> &BTreeMap<String, String> {
        &self.templates
    }

    /// The files of `dir` (not its subdirectories), each named by its template
    /// name. A directory that does not exist gives no overrides.
    ///
    /// # Errors
    /// An unreadable file, one that is not UTF-8, or the limits of [`TemplateOverrides::new`].
    pub fn from_dir(dir: &Path) -> Result<Self, OverrideError> {
        let source = OverrideSource::Directory(dir.to_path_buf());
        let read_err = |path: &Path| {
            let path = path.to_path_buf();
            move |error| OverrideError::Read { path, error }
        };
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(read_err(dir)(e)),
        };
        let mut templates = BTreeMap::new();
        for entry in entries {
            let entry = entry.map_err(read_err(dir))?;
            let path = entry.path();
            let meta = entry.metadata().map_err(read_err(&path))?;
            if !meta.is_file() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            if templates.len() == MAX_TEMPLATES {
                return Err(OverrideError::TooMany {
                    origin: source,
                    count: MAX_TEMPLATES + 1,
                });
            }
            if meta.len() > MAX_TEMPLATE_BYTES as u64 {
                return Err(OverrideError::TooLarge {
                    origin: source,
                    template: name,
                    size: meta.len(),
                });
            }
            let bytes = std::fs::read(&path).map_err(read_err(&path))?;
            let text = String::from_utf8(bytes).map_err(|_| OverrideError::NotText { path })?;
            templates.insert(name, text);
        }
        Self::new(source, templates)
    }

    /// The override of template `name`, if any.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.templates.get(name).map(String::as_str)
    }

    /// Where the override `name` lives (see [`OverrideSource::locate`]).
    #[must_use]
    pub fn locate(&self, name: &str) -> String {
        self.source
            .as_ref()
            .map_or_else(|| format!("template {name}"), |s| s.locate(name))
    }

    /// The overridden template names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.templates.keys().map(String::as_str)
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_dir_reads_files_skips_hidden_and_subdirs_and_bounds_size() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("eos.j2"), "x {{ a }}").unwrap();
        std::fs::write(dir.path().join(".hidden"), "no").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let o = TemplateOverrides::from_dir(dir.path()).unwrap();
        assert_eq!(o.names().collect::<Vec<_>>(), ["eos.j2"]);
        assert_eq!(o.get("eos.j2"), Some("x {{ a }}"));
        assert!(
            o.locate("eos.j2").ends_with("/eos.j2"),
            "{}",
            o.locate("eos.j2")
        );
        assert!(
            TemplateOverrides::from_dir(&dir.path().join("missing"))
                .unwrap()
                .is_empty()
        );
        std::fs::write(
            dir.path().join("big.j2"),
            vec![b'a'; MAX_TEMPLATE_BYTES + 1],
        )
        .unwrap();
        let e = TemplateOverrides::from_dir(dir.path()).unwrap_err();
        assert!(e.to_string().contains("big.j2"), "{e}");
        std::fs::remove_file(dir.path().join("big.j2")).unwrap();
        std::fs::write(dir.path().join("bin.j2"), [0xff, 0xfe]).unwrap();
        let e = TemplateOverrides::from_dir(dir.path()).unwrap_err();
        assert!(e.to_string().contains("not UTF-8"), "{e}");
    }

    #[test]
    fn configmap_source_names_the_key() {
        let source = OverrideSource::ConfigMap {
            namespace: "naas-system".into(),
            name: "ap-templates".into(),
        };
        let o =
            TemplateOverrides::new(source.clone(), [("eos.j2".into(), "t".into())].into()).unwrap();
        assert_eq!(
            o.locate("eos.j2"),
            "ConfigMap naas-system/ap-templates, key eos.j2"
        );
        let many = (0..=MAX_TEMPLATES)
            .map(|i| (format!("t{i}"), String::new()))
            .collect();
        assert!(matches!(
            TemplateOverrides::new(source, many),
            Err(OverrideError::TooMany { .. })
        ));
    }
}

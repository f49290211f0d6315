//! `naas plugin new`: scaffolds a plugin project (Rust, Python or JavaScript) that builds and passes its own fixtures.

use std::path::{Path, PathBuf};

/// The contract every scaffold carries a copy of.
const WIT: &str = include_str!("../../wit/plugin.wit");

/// A scaffold file: its path in the project and its text, with placeholders.
type File = (&'static str, &'static str);

const COMMON: &[File] = &[
    ("wit/plugin.wit", WIT),
    (
        "fixtures/context.yaml",
        include_str!("../scaffold/common/fixtures/context.yaml"),
    ),
    (
        "fixtures/basic/service.yaml",
        include_str!("../scaffold/common/fixtures/basic/service.yaml"),
    ),
    (
        "fixtures/basic/expected.yaml",
        include_str!("../scaffold/common/fixtures/basic/expected.yaml"),
    ),
    (
        "fixtures/not-granted/service.yaml",
        include_str!("../scaffold/common/fixtures/not-granted/service.yaml"),
    ),
    (
        "fixtures/not-granted/expected.yaml",
        include_str!("../scaffold/common/fixtures/not-granted/expected.yaml"),
    ),
    (
        "templates/config.j2",
        include_str!("../scaffold/common/templates/config.j2"),
    ),
];

const RUST: &[File] = &[
    ("Cargo.toml", include_str!("../scaffold/rust/Cargo.toml")),
    ("build.sh", include_str!("../scaffold/rust/build.sh")),
    ("src/lib.rs", include_str!("../scaffold/rust/src/lib.rs")),
    ("README.md", include_str!("../scaffold/rust/README.md")),
    (".gitignore", "/target\n"),
];

const PYTHON: &[File] = &[
    ("app.py", include_str!("../scaffold/python/app.py")),
    ("build.sh", include_str!("../scaffold/python/build.sh")),
    ("README.md", include_str!("../scaffold/python/README.md")),
    (".gitignore", "/build\n/_template.py\n__pycache__/\n"),
];

const JS: &[File] = &[
    ("app.js", include_str!("../scaffold/js/app.js")),
    ("build.sh", include_str!("../scaffold/js/build.sh")),
    (
        "bundle.config.js",
        include_str!("../scaffold/js/bundle.config.js"),
    ),
    ("package.json", include_str!("../scaffold/js/package.json")),
    ("README.md", include_str!("../scaffold/js/README.md")),
    (
        ".gitignore",
        "/build\n/node_modules\n/templates/config.j2.js\n",
    ),
];

/// The languages a plugin can be scaffolded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Rust with wit-bindgen, built for wasm32-wasip2.
    Rust,
    /// Python, built with componentize-py.
    Python,
    /// JavaScript, built with jco componentize (ComponentizeJS).
    Js,
}

/// Why a scaffold could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// The name cannot become a plugin, crate and kind name.
    #[error("invalid plugin name {name:?}: {reason}")]
    Name {
        /// The name given.
        name: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The target directory exists and is not empty.
    #[error("{0} already exists and is not empty; choose another name or --dir")]
    Exists(PathBuf),
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The names derived from a plugin name such as `vlan-service`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// The plugin name, e.g. `vlan-service`.
    pub name: String,
    /// The Rust crate / file stem, e.g. `vlan_service`.
    pub ident: String,
    /// The Kubernetes kind, e.g. `VlanService`.
    pub kind: String,
    /// The plural, e.g. `vlanservices`.
    pub plural: String,
}

impl Names {
    /// Derives the names; the plugin name must be lower-case words separated
    /// by dashes, starting with a letter.
    ///
    /// # Errors
    /// When the name does not have that shape.
    pub fn new(name: &str) -> Result<Self, ScaffoldError> {
        let bad = |reason| ScaffoldError::Name {
            name: name.to_string(),
            reason,
        };
        if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(bad("it must start with a lower-case letter"));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            || name.ends_with('-')
            || name.contains("--")
        {
            return Err(bad(
                "use lower-case letters, digits and single dashes, e.g. vlan-service",
            ));
        }
        let kind: String = name
            .split('-')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect();
        Ok(Self {
            name: name.to_string(),
            ident: name.replace('-', "_"),
            plural: format!("{}s", kind.to_ascii_lowercase()),
            kind,
        })
    }

    fn fill(&self, text: &str) -> String {
        text.replace("__NAME__", &self.name)
            .replace("__CRATE__", &self.ident)
            .replace("__KIND__", &self.kind)
            .replace("__PLURAL__", &self.plural)
    }
}

/// Writes a new plugin project for `lang` into `dir` (which must not exist
/// or be empty) and returns the files written.
///
/// # Errors
/// An invalid name, a non-empty directory, or a write failure.
pub fn scaffold(lang: Lang, name: &str, dir: &Path) -> Result<Vec<PathBuf>, ScaffoldError> {
    let names = Names::new(name)?;
    if dir.read_dir().is_ok_and(|mut d| d.next().is_some()) {
        return Err(ScaffoldError::Exists(dir.to_path_buf()));
    }
    let files = match lang {
        Lang::Rust => RUST,
        Lang::Python => PYTHON,
        Lang::Js => JS,
    };
    let mut written = Vec::new();
    for (rel, text) in COMMON.iter().chain(files) {
        let path = dir.join(rel);
        let write_err = |source| ScaffoldError::Write {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(write_err)?;
        }
        std::fs::write(&path, names.fill(text)).map_err(write_err)?;
        if rel.ends_with(".sh") {
            make_executable(&path).map_err(write_err)?;
        }
        written.push(path);
    }
    Ok(written)
}

fn make_executable(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    }
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_derive_kind_plural_and_ident() {
        let n = Names::new("vlan-service").unwrap();
        assert_eq!(
            (n.kind.as_str(), n.plural.as_str(), n.ident.as_str()),
            ("VlanService", "vlanservices", "vlan_service")
        );
        for bad in ["Vlan", "1vlan", "vlan-", "vlan--x", "vlan_x", ""] {
            assert!(Names::new(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn refuses_a_non_empty_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keep"), "x").unwrap();
        let e = scaffold(Lang::Rust, "x", dir.path()).unwrap_err();
        assert!(matches!(e, ScaffoldError::Exists(_)), "{e}");
    }

    #[test]
    fn fills_every_placeholder() {
        let dir = tempfile::tempdir().unwrap();
        for (i, lang) in [Lang::Rust, Lang::Python, Lang::Js].into_iter().enumerate() {
            let files = scaffold(lang, "vlan-service", &dir.path().join(format!("p{i}"))).unwrap();
            for f in files {
                let text = std::fs::read_to_string(&f).unwrap();
                for token in ["__NAME__", "__CRATE__", "__KIND__", "__PLURAL__"] {
                    assert!(!text.contains(token), "{} keeps {token}", f.display());
                }
            }
        }
    }
}

//! The state directory of `naas push`: per device, what naas applied there per service, one JSON file per device, written atomically.
//!
//! `<dir>/<device>.json` holds `{"device": "<name>", "data": {"<Kind.namespace.name>": "<config>"}}`:
//! the shape of the operator's `naas-applied-<device>` ConfigMaps (the
//! `naas.io/device` annotation and `data`). A device with no naas config
//! has no file. Files are replaced atomically (a temporary file, synced,
//! renamed), and only after a successful transaction. The directory is
//! private (0700): it holds device configs. A push holds an exclusive
//! lock on `<dir>/.lock` while it reads, pushes and records, so two pushes
//! on one state directory never interleave.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::applied::Fragments;
use crate::fsutil::{create_private_dir, write_atomic};

/// Why the state directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A file or the directory could not be read, written or locked.
    #[error("state {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A state file is not a record naas wrote.
    #[error(
        "state file {path} is damaged: {detail}; restore it (it records what naas applied to the device) or remove it and clean the device by hand"
    )]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A device name that cannot name a file.
    #[error(
        "device name {0:?} cannot name a state file (letters, digits, '.', '_' and '-' only, not starting with '.')"
    )]
    DeviceName(String),
}

/// One device's record, as stored.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    device: String,
    data: Fragments,
}

/// A state directory (see the module docs).
#[derive(Debug, Clone)]
pub struct StateStore {
    dir: PathBuf,
}

/// An exclusive lock on a state directory, released on drop.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

impl StateStore {
    /// The store in `dir` (created on the first write).
    #[must_use]
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Its directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates the directory if needed and takes its exclusive lock,
    /// waiting for another push to finish.
    ///
    /// # Errors
    /// The directory or lock file cannot be created or locked.
    pub fn lock(&self) -> Result<StateLock, StateError> {
        create_private_dir(&self.dir).map_err(|e| self.io(&self.dir, e))?;
        let path = self.dir.join(".lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| self.io(&path, e))?;
        file.lock().map_err(|e| self.io(&path, e))?;
        Ok(StateLock { _file: file })
    }

    fn path_of(&self, device: &str) -> Result<PathBuf, StateError> {
        let valid = !device.is_empty()
            && !device.starts_with('.')
            && device
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid {
            return Err(StateError::DeviceName(device.to_string()));
        }
        Ok(self.dir.join(format!("{device}.json")))
    }

    fn io(&self, path: &Path, source: std::io::Error) -> StateError {
        StateError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// What naas applied to `device`, by service key (empty when nothing).
    ///
    /// # Errors
    /// An unreadable or damaged file, naming it.
    pub fn load(&self, device: &str) -> Result<Fragments, StateError> {
        let path = self.path_of(device)?;
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Fragments::new()),
            Err(e) => return Err(self.io(&path, e)),
        };
        let corrupt = |detail: String| StateError::Corrupt {
            path: path.display().to_string(),
            detail,
        };
        let record: Record = serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
        if record.device != device {
            return Err(corrupt(format!(
                "it is the record of device {:?}, not {device:?}",
                record.device
            )));
        }
        Ok(record.data)
    }

    /// Every device's record, by device name.
    ///
    /// # Errors
    /// An unreadable directory, or an unreadable or damaged file.
    pub fn load_all(&self) -> Result<BTreeMap<String, Fragments>, StateError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(e) => return Err(self.io(&self.dir, e)),
        };
        let mut all = BTreeMap::new();
        for entry in entries {
            let entry = entry.map_err(|e| self.io(&self.dir, e))?;
            let name = entry.file_name();
            let Some(device) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if device.starts_with('.') {
                continue;
            }
            let fragments = self.load(device)?;
            if !fragments.is_empty() {
                all.insert(device.to_string(), fragments);
            }
        }
        Ok(all)
    }

    /// Records what naas applied to `device`: atomically replaces its file,
    /// or removes it when `fragments` is empty.
    ///
    /// # Errors
    /// The directory or file cannot be written.
    pub fn save(&self, device: &str, fragments: &Fragments) -> Result<(), StateError> {
        let path = self.path_of(device)?;
        if fragments.is_empty() {
            return match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(self.io(&path, e)),
                _ => Ok(()),
            };
        }
        create_private_dir(&self.dir).map_err(|e| self.io(&self.dir, e))?;
        let record = Record {
            device: device.to_string(),
            data: fragments.clone(),
        };
        let mut text = serde_json::to_string_pretty(&record).map_err(|e| StateError::Corrupt {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
        text.push('\n');
        write_atomic(&path, text.as_bytes()).map_err(|e| self.io(&path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::applied::fragments;

    #[test]
    fn records_round_trip_and_an_empty_record_removes_the_file() {
        let root = tempfile::tempdir().unwrap();
        let store = StateStore::new(root.path().join("state"));
        assert!(
            store.load("r1").unwrap().is_empty(),
            "no file: nothing applied"
        );
        assert!(store.load_all().unwrap().is_empty());
        let f = fragments(&[("BgpPeering.t.up", "router bgp 65001\n")]);
        store.save("r1", &f).unwrap();
        store.save("r2", &fragments(&[("A.t.x", "x\n")])).unwrap();
        assert_eq!(store.load("r1").unwrap(), f);
        let all = store.load_all().unwrap();
        assert_eq!(all.keys().collect::<Vec<_>>(), ["r1", "r2"]);
        // The operator's ConfigMap shape: the device, and data by service key.
        let text = std::fs::read_to_string(store.dir().join("r1.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["device"], "r1");
        assert_eq!(v["data"]["BgpPeering.t.up"], "router bgp 65001\n");
        store.save("r2", &Fragments::new()).unwrap();
        assert!(!store.dir().join("r2.json").exists());
        assert_eq!(store.load_all().unwrap().len(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.dir()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "device configs stay private");
        }
    }

    #[test]
    fn a_write_replaces_the_whole_file_and_leaves_no_temporary_file() {
        let root = tempfile::tempdir().unwrap();
        let store = StateStore::new(root.path());
        let big = "x".repeat(1 << 20);
        store.save("r1", &fragments(&[("A.t.a", &big)])).unwrap();
        store
            .save("r1", &fragments(&[("A.t.a", "small\n")]))
            .unwrap();
        assert_eq!(store.load("r1").unwrap()["A.t.a"], "small\n");
        let names: Vec<String> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["r1.json"], "no temporary file left");
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_it() {
        let root = tempfile::tempdir().unwrap();
        let store = StateStore::new(root.path());
        let path = root.path().join("r1.json");
        for (text, expect) in [
            ("{\"device\": \"r1\", \"data\": {\"A.t.a\": ", "EOF"),
            ("", "EOF"),
            ("[1, 2]", "invalid type"),
            (
                "{\"device\": \"r9\", \"data\": {}}",
                "record of device \"r9\"",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            for e in [store.load("r1").unwrap_err(), store.load_all().unwrap_err()] {
                let msg = e.to_string();
                assert!(matches!(e, StateError::Corrupt { .. }), "{msg}");
                assert!(msg.contains(&path.display().to_string()), "{msg}");
                assert!(msg.contains(expect), "{text:?}: {msg}");
            }
        }
    }

    #[test]
    fn device_names_that_escape_the_directory_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let store = StateStore::new(root.path());
        for name in ["../r1", "a/b", ".hidden", ""] {
            let e = store
                .save(name, &fragments(&[("A.t.a", "a\n")]))
                .unwrap_err();
            assert!(matches!(e, StateError::DeviceName(_)), "{name}: {e}");
        }
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
    }

    #[test]
    fn the_lock_is_exclusive() {
        let root = tempfile::tempdir().unwrap();
        let store = StateStore::new(root.path().join("s"));
        let held = store.lock().unwrap();
        let file = File::options()
            .write(true)
            .open(store.dir().join(".lock"))
            .unwrap();
        assert!(file.try_lock().is_err(), "a second push waits");
        drop(held);
        file.try_lock().expect("free once the first push is done");
    }
}

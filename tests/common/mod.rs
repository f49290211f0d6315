//! Shared helpers for the integration tests: locating the built plugins and the fixtures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use naas::runtime::{Limits, Plugin, Runtime, RuntimeConfig};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

/// Where `cargo` put build outputs (honours `CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                repo_root().join(d)
            }
        }
        None => repo_root().join("target"),
    }
}

/// The component built by `scripts/build-plugins.sh` for crate `name`
/// (e.g. `access_ports`).
pub fn plugin_path(name: &str) -> PathBuf {
    let path = target_dir()
        .join("wasm32-wasip2/release")
        .join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing: run scripts/build-plugins.sh (scripts/test.sh does) before the tests",
        path.display()
    );
    path
}

/// A component built by `scripts/build-polyglot.sh` (`access_ports_py`,
/// `access_ports_js`).
pub fn polyglot_path(name: &str) -> PathBuf {
    let path = target_dir().join("polyglot").join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing: run scripts/build-polyglot.sh (scripts/test.sh does) before the tests",
        path.display()
    );
    path
}

/// A fixture under `tests/data/`.
pub fn data(rel: &str) -> PathBuf {
    repo_root().join("tests/data").join(rel)
}

/// One runtime per test binary. Its compiled-artifact cache lives beside the
/// build outputs and survives runs: artifacts are keyed by component digest
/// and engine hash, so a rebuilt plugin or engine never reuses a stale one,
/// and the 12-18 MB Python/JS components are compiled once per machine, not
/// once per test binary. (Tests of compiling itself use their own temp dirs.)
pub fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        Runtime::new(&RuntimeConfig {
            cache_dir: Some(target_dir().join("naas-test-cache")),
            ..RuntimeConfig::default()
        })
        .expect("runtime")
    })
}

/// Loads a built plugin with default limits into the shared runtime.
pub fn load(name: &str) -> Plugin {
    runtime()
        .load_file(&plugin_path(name), Limits::default())
        .unwrap_or_else(|e| panic!("loading {name}: {e}"))
}

/// What a measured child process did.
#[derive(Debug)]
pub struct Measured {
    /// Its exit status.
    pub status: std::process::ExitStatus,
    /// Its standard output, as lossy UTF-8.
    pub stdout: String,
    /// Its standard error, as lossy UTF-8.
    pub stderr: String,
    /// Its peak resident memory (`ru_maxrss` from `wait4`), in KiB.
    pub max_rss_kib: u64,
    /// Wall-clock time from spawn to exit.
    pub elapsed: std::time::Duration,
}

/// Runs `program args…` in the repository root and measures its peak memory
/// (of that child alone, through `wait4`) and its wall-clock time.
#[allow(clippy::zombie_processes)] // reaped by wait4, which std does not know
pub fn run_measured(program: &str, args: &[&str]) -> Measured {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};

    let started = std::time::Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .current_dir(repo_root())
        .env_remove("NAAS_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning the child");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    let mut status = 0;
    // SAFETY: plain FFI call with valid pointers; it reaps our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid, "wait4: {}", std::io::Error::last_os_error());
    let elapsed = started.elapsed();
    Measured {
        status: std::process::ExitStatus::from_raw(status),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        elapsed,
    }
}

/// Runs the `naas` binary with `--cache-dir cache` and `args`, in the repository root.
pub fn naas(cache: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_naas"))
        .args(["--cache-dir", cache.to_str().unwrap()])
        .args(args)
        .current_dir(repo_root())
        .env_remove("NAAS_LOG")
        .output()
        .expect("running naas")
}

/// A throwaway CA (`ca.crt`) and a serving certificate for 127.0.0.1
/// (`tls.crt`, `tls.key`) in `dir`, made with openssl.
pub fn tls_certificates(dir: &Path) {
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("running openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(&[
        &["req", "-x509"][..],
        &ec,
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=naas-test-ca",
        ],
    ]
    .concat());
    run(&[
        &["req"][..],
        &ec,
        &[
            "-keyout",
            "tls.key",
            "-out",
            "tls.csr",
            "-subj",
            "/CN=naas-webhook",
        ],
    ]
    .concat());
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").expect("write san.ext");
    run(&[
        "x509",
        "-req",
        "-in",
        "tls.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "tls.crt",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    ]);
}

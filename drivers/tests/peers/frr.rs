//! FRR daemons (zebra, staticd, bgpd) in a network namespace of their own, sockets in a temp dir, reached through sshd.
//!
//! zebra writes to the kernel routing table of its namespace only; the host's
//! is never touched. bgpd listens on no port (`-p 0`): nothing leaves the machine.

use std::path::Path;
use std::process::Command;

use super::sshd::{self, Sshd};
use super::{TempDir, run, set_mode, unique_name};

/// Whether FRR is installed.
pub fn available() -> bool {
    super::installed("/usr/lib/frr/zebra") && super::installed("/usr/bin/vtysh")
}

/// FRR running in its own namespace.
pub struct Frr {
    ns: String,
    dir: TempDir,
    pids: Vec<i32>,
}

impl Frr {
    /// Starts zebra, staticd and bgpd in a new namespace `naas-t-<pid>-<n>`.
    pub fn start() -> Self {
        Self::start_daemons(&["zebra", "staticd", "bgpd"])
    }

    /// Starts these daemons (zebra first) in a new namespace.
    pub fn start_daemons(daemons: &[&str]) -> Self {
        assert!(
            available(),
            "FRR missing: apt-get install -y frr (scripts/test.sh installs it)"
        );
        let ns = unique_name();
        run("ip", &["netns", "add", &ns]);
        let dir = TempDir::new();
        // The daemons run as user frr and write their pid files and sockets here.
        set_mode(dir.path(), 0o777);
        let d = dir.path().to_str().expect("utf-8").to_string();
        // An empty vtysh.conf of our own: the login cannot read /etc/frr.
        std::fs::write(dir.path().join("vtysh.conf"), "").expect("write vtysh.conf");
        set_mode(&dir.path().join("vtysh.conf"), 0o644);
        let mut frr = Self {
            ns,
            dir,
            pids: Vec::new(),
        };
        for &daemon in daemons {
            let mut args = vec![
                "netns".to_string(),
                "exec".into(),
                frr.ns.clone(),
                format!("/usr/lib/frr/{daemon}"),
                "-d".into(),
                "-z".into(),
                format!("{d}/zserv.api"),
                "--vty_socket".into(),
                d.clone(),
                "-i".into(),
                format!("{d}/{daemon}.pid"),
                "-f".into(),
                "/dev/null".into(),
                "-P".into(),
                "0".into(),
                "--log".into(),
                format!("file:{d}/{daemon}.log"),
            ];
            if daemon == "bgpd" {
                args.extend(["-p".into(), "0".into()]);
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run("ip", &args);
            let pid_file = frr.dir.path().join(format!("{daemon}.pid"));
            let pid = wait_pid(&pid_file);
            frr.pids.push(pid);
            let vty = frr.dir.path().join(format!("{daemon}.vty"));
            wait_for(&vty);
        }
        frr
    }

    /// The daemons' PIDs.
    pub fn pids(&self) -> &[i32] {
        &self.pids
    }

    /// The socket dir.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The namespace's name.
    pub fn namespace(&self) -> &str {
        &self.ns
    }

    /// The command an SSH login runs to land in this FRR's CLI.
    pub fn vtysh_command(&self) -> String {
        let d = self.dir.path().display();
        format!("/usr/bin/vtysh --vty_socket {d} --config_dir {d}")
    }

    /// Runs vtysh commands directly (not through SSH), in config mode when
    /// `configure`, and returns the output.
    pub fn vtysh(&self, commands: &[&str]) -> String {
        let d = self.dir.path().to_str().expect("utf-8");
        let mut cmd = Command::new("/usr/bin/vtysh");
        cmd.args(["--vty_socket", d, "--config_dir", d]);
        for c in commands {
            cmd.args(["-c", c]);
        }
        let out = cmd.output().expect("run vtysh");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Configures lines directly (`configure terminal` then each line).
    pub fn configure(&self, lines: &[&str]) {
        let mut all = vec!["configure terminal"];
        all.extend_from_slice(lines);
        self.vtysh(&all);
    }

    /// `show running-config`, read directly.
    pub fn running(&self) -> String {
        self.vtysh(&["show running-config"])
    }
}

impl Drop for Frr {
    fn drop(&mut self) {
        for pid in self.pids.drain(..).rev() {
            super::stop_pid(pid);
        }
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.ns])
            .output();
    }
}

fn wait_for(path: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !path.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{} did not appear",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn wait_pid(path: &Path) -> i32 {
    wait_for(path);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(pid) = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return pid;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no pid in {}",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A device: FRR in a namespace behind its own sshd.
pub struct FrrDevice {
    /// The SSH front (dropped first: sessions end before the daemons).
    pub sshd: Sshd,
    /// The router.
    pub frr: Frr,
}

impl FrrDevice {
    /// Starts FRR and an sshd whose logins land in its vtysh.
    pub fn start() -> Self {
        sshd::ensure_user(&["frrvty"]);
        let frr = Frr::start();
        let sshd = Sshd::start(&format!("ForceCommand {}", frr.vtysh_command()));
        Self { sshd, frr }
    }
}

/// Whether both peers are installed (for the benchmark, which skips loudly).
pub fn device_available() -> bool {
    available() && sshd::available()
}

//! `naas diff` and `naas push` through the binary against real FRR behind real OpenSSH: services added, changed and pruned, a transaction across three devices that one refuses, and a wrong host key.
//!
//! Reuses the driver tests' peers (`drivers/tests/peers/`): each test
//! starts FRR in a network namespace of its own behind an sshd on
//! 127.0.0.1 whose logins land in vtysh. They need root and
//! `apt-get install -y frr openssh-server` (`scripts/test.sh` installs
//! both); without them each test says so on stderr and returns. Every
//! assertion reads the devices back with `show running-config` or reads
//! the state directory.

mod common;
#[path = "../drivers/tests/peers/mod.rs"]
mod peers;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use peers::frr::FrrDevice;

/// Whether the real peers can run here; says why not on stderr.
fn peers_available(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if !root || !peers::frr::device_available() {
        eprintln!(
            "SKIPPED {test}: needs root and FRR + OpenSSH (apt-get install -y frr openssh-server; scripts/test.sh does)"
        );
        return false;
    }
    true
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A work directory with a devices file for FRR devices, manifests, a
/// state directory and a plugin cache.
struct Site {
    dir: tempfile::TempDir,
    devices: Vec<(String, FrrDevice)>,
}

impl Site {
    /// Starts one FRR device per name and writes `devices.yaml` (r1 logs in
    /// with a password file, the others with a private key file).
    fn start(names: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let devices = names
            .iter()
            .map(|n| ((*n).to_string(), FrrDevice::start()))
            .collect();
        let site = Self { dir, devices };
        site.write_devices(&BTreeMap::new());
        site
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn device(&self, name: &str) -> &FrrDevice {
        &self.devices.iter().find(|(n, _)| n == name).unwrap().1
    }

    /// Writes `devices.yaml`; `host_keys` overrides a device's host key.
    fn write_devices(&self, host_keys: &BTreeMap<&str, String>) {
        let mut yaml = String::from("devices:\n");
        for (i, (name, dev)) in self.devices.iter().enumerate() {
            let credential = if i == 0 {
                std::fs::write(
                    self.path("password"),
                    format!("{}\n", peers::sshd::PASSWORD),
                )
                .unwrap();
                "passwordFile: password".to_string()
            } else {
                let key = format!("{name}.key");
                std::fs::write(self.path(&key), &dev.sshd.client_key).unwrap();
                peers::set_mode(&self.path(&key), 0o600);
                format!("privateKeyFile: {key}")
            };
            let host_key = host_keys
                .get(name.as_str())
                .cloned()
                .unwrap_or_else(|| dev.sshd.host_key.clone());
            yaml.push_str(&format!(
                "  - name: {name}\n    platform: frr\n    address: 127.0.0.1\n    port: {port}\n    \
                 username: {user}\n    {credential}\n    hostKey: \"{host_key}\"\n    \
                 grants:\n      - {{tenant: tenant-a, ports: [swp1-4]}}\n",
                port = dev.sshd.port(),
                user = peers::sshd::USER,
            ));
        }
        std::fs::write(self.path("devices.yaml"), yaml).unwrap();
    }

    /// Writes a manifest file.
    fn manifest(&self, name: &str, yaml: &str) {
        std::fs::write(self.path(name), yaml).unwrap();
    }

    /// Runs `naas <command>` with both plugins, the devices file, the state
    /// directory, these manifests and `extra` flags.
    fn naas(&self, command: &str, files: &[&str], extra: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_naas"));
        cmd.current_dir(self.dir.path())
            .env_remove("NAAS_LOG")
            .env_remove("NAAS_STATE_DIR")
            .arg("--cache-dir")
            .arg(self.path("cache"))
            .arg(command)
            .arg("--plugin")
            .arg(common::plugin_path("bgp_peering"))
            .arg("--plugin")
            .arg(common::plugin_path("access_ports"))
            .args(["--devices", "devices.yaml", "--state", "state"]);
        for f in files {
            cmd.args(["-f", f]);
        }
        cmd.args(extra).output().expect("run naas")
    }

    /// Runs `naas` and insists it succeeds; returns its stdout.
    fn ok(&self, command: &str, files: &[&str], extra: &[&str]) -> String {
        let out = self.naas(command, files, extra);
        assert!(
            out.status.success(),
            "naas {command} {files:?} {extra:?} failed:\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// Every file of the state directory and its bytes.
    fn state(&self) -> BTreeMap<String, Vec<u8>> {
        let Ok(entries) = std::fs::read_dir(self.path("state")) else {
            return BTreeMap::new();
        };
        entries
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .filter(|(name, _)| !name.starts_with('.'))
            .collect()
    }

    /// Every device's running config.
    fn running(&self) -> BTreeMap<String, String> {
        self.devices
            .iter()
            .map(|(n, d)| (n.clone(), d.frr.running()))
            .collect()
    }
}

/// The block `naas diff`/`push` printed for `device` (the lines after its
/// `# device: …` header, up to the next header).
fn block<'a>(output: &'a str, device: &str) -> (&'a str, String) {
    let header = format!("# {device}: ");
    let start = output
        .find(&header)
        .unwrap_or_else(|| panic!("no {header:?} in\n{output}"));
    let rest = &output[start..];
    let (head, body) = rest.split_once('\n').unwrap();
    let end = body.find("\n# ").map_or(body.len(), |i| i + 1);
    (head, body[..end].to_string())
}

fn bgp(name: &str, device: &str, asn: u32, description: &str) -> String {
    format!(
        "apiVersion: network.naas.io/v1alpha1\nkind: BgpPeering\nmetadata: {{name: {name}, namespace: tenant-a}}\n\
         spec:\n  device: {device}\n  localAsn: {asn}\n  neighbors:\n    \
         - {{address: 192.0.2.1, remoteAsn: 65010, description: {description}}}\n"
    )
}

fn access(description: &str) -> String {
    format!(
        "apiVersion: network.naas.io/v1alpha1\nkind: AccessPorts\nmetadata: {{name: web, namespace: tenant-a}}\n\
         spec:\n  device: r1\n  ports: swp1-2\n  vlan: 120\n  description: {description}\n"
    )
}

fn assert_contains(haystack: &str, needles: &[&str]) {
    for n in needles {
        assert!(haystack.contains(n), "{n:?} missing from\n{haystack}");
    }
}

#[test]
fn diff_push_change_and_prune_two_services_on_one_frr() {
    if !peers_available("diff_push_change_and_prune_two_services_on_one_frr") {
        return;
    }
    let site = Site::start(&["r1"]);
    let r1 = site.device("r1");
    // Configured by hand before naas: never to be touched, even inside
    // the BGP instance naas configures too.
    r1.frr.configure(&["ip route 10.7.0.0/24 Null0"]);
    r1.frr
        .configure(&["router bgp 65001", "neighbor 10.0.0.9 remote-as 65009"]);
    let by_hand = r1.frr.running();
    site.manifest("bgp.yaml", &bgp("upstream", "r1", 65001, "transit-a"));
    site.manifest("access.yaml", &access("web servers"));
    let both = ["bgp.yaml", "access.yaml"];

    // 1. diff, then push: both services' lines on the device.
    let diff = site.ok("diff", &both, &[]);
    eprintln!("naas diff:\n{diff}");
    let (head, body) = block(&diff, "r1");
    assert!(head.contains("would send"), "{diff}");
    assert!(
        head.contains("AccessPorts.tenant-a.web added")
            && head.contains("BgpPeering.tenant-a.upstream added"),
        "{head}"
    );
    assert_contains(
        &body,
        &[
            "neighbor 192.0.2.1 remote-as 65010",
            "interface swp1\n description web servers",
        ],
    );
    assert!(diff.contains("nothing was pushed"), "{diff}");
    assert_eq!(r1.frr.running(), by_hand, "a diff pushes nothing");
    assert!(site.state().is_empty(), "a diff records nothing");

    let pushed = site.ok("push", &both, &[]);
    eprintln!("naas push:\n{pushed}");
    assert!(block(&pushed, "r1").0.contains(": sent"), "{pushed}");
    let running = r1.frr.running();
    assert_contains(
        &running,
        &[
            "router bgp 65001",
            " neighbor 10.0.0.9 remote-as 65009",
            " neighbor 192.0.2.1 remote-as 65010",
            " neighbor 192.0.2.1 description transit-a",
            "interface swp1\n description web servers",
            "interface swp2\n description web servers",
            "ip route 10.7.0.0/24 Null0",
        ],
    );
    let record: serde_json::Value =
        serde_json::from_slice(&site.state()["r1.json"]).expect("a JSON record");
    assert_eq!(record["device"], "r1");
    assert_eq!(
        record["data"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["AccessPorts.tenant-a.web", "BgpPeering.tenant-a.upstream"]
    );
    // In sync: nothing to send.
    let again = site.ok("diff", &both, &[]);
    assert!(block(&again, "r1").0.contains("no change"), "{again}");
    // One of naas's lines removed by hand: diff shows it, push puts it back.
    r1.frr.configure(&["interface swp2", "no description"]);
    let drift = site.ok("diff", &both, &[]);
    let (head, body) = block(&drift, "r1");
    assert_eq!(head, "# r1: would send", "no service changed: {drift}");
    assert_eq!(
        body, "interface swp2\n description web servers\n",
        "{drift}"
    );
    site.ok("push", &both, &[]);
    assert_eq!(r1.frr.running(), running, "back as pushed");

    // 2. One service changes: only its changed lines are sent.
    site.manifest("access.yaml", &access("web tier"));
    let diff = site.ok("diff", &both, &[]);
    eprintln!("naas diff after a change:\n{diff}");
    let (head, body) = block(&diff, "r1");
    assert!(head.contains("AccessPorts.tenant-a.web changed"), "{head}");
    assert!(!head.contains("BgpPeering"), "{head}");
    assert_eq!(
        body, "interface swp1\n description web tier\ninterface swp2\n description web tier\n",
        "only the description: {diff}"
    );
    let before = r1.frr.running();
    site.ok("push", &both, &[]);
    assert_eq!(
        r1.frr.running(),
        before.replace("description web servers", "description web tier"),
        "the new line, the old one gone, nothing else changed"
    );

    // 3. BgpPeering leaves the manifests: --prune removes exactly its lines.
    let diff = site.ok("diff", &["access.yaml"], &[]);
    assert!(
        block(&diff, "r1").0.contains("no change"),
        "without --prune a service absent from the manifests stays: {diff}"
    );
    let diff = site.ok("diff", &["access.yaml"], &["--prune"]);
    assert!(
        block(&diff, "r1")
            .0
            .contains("BgpPeering.tenant-a.upstream removed"),
        "{diff}"
    );
    let pruned = site.ok("push", &["access.yaml"], &["--prune"]);
    eprintln!("naas push --prune:\n{pruned}");
    let running = r1.frr.running();
    assert!(!running.contains("192.0.2.1"), "{running}");
    assert!(!running.contains("transit-a"), "{running}");
    assert_contains(
        &running,
        &[
            "router bgp 65001\n neighbor 10.0.0.9 remote-as 65009",
            "interface swp1\n description web tier",
            "interface swp2\n description web tier",
            "ip route 10.7.0.0/24 Null0",
        ],
    );
    let record: serde_json::Value = serde_json::from_slice(&site.state()["r1.json"]).unwrap();
    assert_eq!(
        record["data"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["AccessPorts.tenant-a.web"]
    );
}

#[test]
fn a_device_that_refuses_a_line_leaves_all_three_devices_and_the_state_unchanged() {
    if !peers_available(
        "a_device_that_refuses_a_line_leaves_all_three_devices_and_the_state_unchanged",
    ) {
        return;
    }
    let site = Site::start(&["r1", "r2", "r3"]);
    let files = ["r1.yaml", "r2.yaml", "r3.yaml"];
    let write = |description: &str| {
        for (i, f) in files.iter().enumerate() {
            let device = format!("r{}", i + 1);
            site.manifest(
                f,
                &bgp(&format!("peer-{device}"), &device, 65001, description),
            );
        }
    };
    write("first");
    site.ok("push", &files, &[]);
    let running = site.running();
    for (device, config) in &running {
        assert!(config.contains("description first"), "{device}:\n{config}");
    }
    let state = site.state();
    assert_eq!(
        state.keys().collect::<Vec<_>>(),
        ["r1.json", "r2.json", "r3.json"]
    );

    // A template override renders, on r2 only, a line FRR refuses (a
    // neighbor description before its remote-as).
    let original =
        std::fs::read_to_string(common::repo_root().join("plugins/bgp-peering/templates/frr.j2"))
            .unwrap();
    let overridden = original.replacen(
        "router bgp {{ local_asn }}\n",
        "router bgp {{ local_asn }}\n{% if device.name == \"r2\" %}\n neighbor 10.99.0.1 description refused-by-frr\n{% endif %}\n",
        1,
    );
    assert_ne!(overridden, original, "the template has the anchor line");
    std::fs::create_dir_all(site.path("templates/bgp-peering")).unwrap();
    std::fs::write(site.path("templates/bgp-peering/frr.j2"), overridden).unwrap();
    write("second");
    let out = site.naas("push", &files, &["--templates", "templates"]);
    let stderr = text(&out.stderr);
    eprintln!("naas push (r2 refuses):\n{stderr}");
    assert!(!out.status.success(), "{stderr}");
    assert_contains(
        &stderr,
        &[
            "device r2",
            "neighbor 10.99.0.1 description refused-by-frr",
            "% Specify remote-as",
            "rolled back: r1, r3",
            "state directory is unchanged",
        ],
    );
    assert_eq!(site.running(), running, "no device keeps a change");
    assert_eq!(site.state(), state, "the state is unchanged");
}

#[test]
fn a_wrong_host_key_is_refused_naming_the_device_and_nothing_is_pushed() {
    if !peers_available("a_wrong_host_key_is_refused_naming_the_device_and_nothing_is_pushed") {
        return;
    }
    let site = Site::start(&["r1", "r2"]);
    // r2's entry holds r1's key: another machine answers at its address.
    let wrong = site.device("r1").sshd.host_key.clone();
    site.write_devices(&[("r2", wrong)].into());
    site.manifest("r1.yaml", &bgp("peer-r1", "r1", 65001, "one"));
    site.manifest("r2.yaml", &bgp("peer-r2", "r2", 65001, "two"));
    let running = site.running();
    for command in ["diff", "push"] {
        let out = site.naas(command, &["r1.yaml", "r2.yaml"], &[]);
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{command}: {stderr}");
        assert_contains(
            &stderr,
            &["device r2: host key mismatch", "nothing was committed"],
        );
        assert!(!stderr.contains("device r1"), "{stderr}");
    }
    assert_eq!(site.running(), running, "nothing pushed anywhere");
    assert!(site.state().is_empty(), "nothing recorded");
}

/// Needs no device: a device without the fields a push needs is refused
/// before anything is contacted, naming the device and the field.
#[test]
fn a_device_without_an_address_is_refused_naming_it_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("devices.yaml"),
        "devices:\n  - {name: r1, platform: frr, grants: [{tenant: tenant-a, ports: [swp1-4]}]}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("access.yaml"), access("web")).unwrap();
    let run = |command: &str, devices: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_naas"));
        cmd.current_dir(dir.path())
            .env_remove("NAAS_STATE_DIR")
            .arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .arg(command)
            .arg("--plugin")
            .arg(common::plugin_path("access_ports"))
            .args(["-f", "access.yaml"]);
        if devices {
            cmd.args(["--devices", "devices.yaml"]);
        }
        cmd.output().unwrap()
    };
    for command in ["diff", "push"] {
        let out = run(command, true);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("devices.yaml: devices[0].address: device r1 has no address"),
            "{stderr}"
        );
        let out = run(command, false);
        assert!(
            text(&out.stderr).contains("need --devices"),
            "{}",
            text(&out.stderr)
        );
    }
    assert!(
        !Path::new(&dir.path().join(".naas/state/r1.json")).exists(),
        "nothing recorded"
    );
}

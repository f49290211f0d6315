//! The SSH CLI driver against a real FRR behind a real OpenSSH server, each test with its own peers.
//!
//! Needs root (network namespaces, a test user) and
//! `apt-get install -y openssh-server frr`: `scripts/test.sh` must install
//! both. Each test starts FRR (zebra, staticd, bgpd) in a network namespace
//! of its own and an sshd on 127.0.0.1 whose logins land in that FRR's
//! vtysh; everything is stopped by PID and the namespace deleted on drop.
//! Every assertion reads the device back (`show running-config`).

mod peers;

use std::time::{Duration, Instant};

use naas_driver::cli::{CliDriver, CliOptions};
use naas_driver::ssh::SshOptions;
use naas_driver::{Driver, DriverError, LoadMode};
use peers::frr::FrrDevice;

fn driver() -> CliDriver {
    CliDriver::new(CliOptions {
        ssh: SshOptions {
            connect_timeout: Duration::from_secs(10),
            keepalive: None,
        },
        command_timeout: Duration::from_secs(10),
        max_sessions: 8,
    })
}

const BGP: &str = "router bgp 65001
 neighbor 10.0.0.2 remote-as 65002
 neighbor 10.0.0.2 description to-spine1
interface lo
 description loopback-naas
";

#[tokio::test(flavor = "multi_thread")]
async fn pushes_bgp_and_interface_then_sends_only_a_changed_line() {
    let dev = FrrDevice::start();
    let d = driver();
    let mut s = d
        .open(&dev.sshd.password_target("leaf1", "frr", 0))
        .await
        .unwrap();
    let replace = |applied: &str| LoadMode::Replace {
        applied: applied.into(),
    };
    s.load(&replace(""), BGP).await.unwrap();
    let diff = s.diff().await.unwrap();
    assert!(diff.contains("router bgp 65001\n"), "{diff}");
    s.commit(None).await.unwrap();
    let running = dev.frr.running();
    for line in BGP.lines() {
        assert!(running.contains(line), "{line:?} missing from\n{running}");
    }
    // Nothing changed: nothing to send.
    s.load(&replace(BGP), BGP).await.unwrap();
    assert_eq!(s.diff().await.unwrap(), "");
    let changed = BGP.replace("to-spine1", "to-spine9");
    s.load(&replace(BGP), &changed).await.unwrap();
    assert_eq!(
        s.diff().await.unwrap(),
        "router bgp 65001\n neighbor 10.0.0.2 description to-spine9\n"
    );
    s.commit(None).await.unwrap();
    let running = dev.frr.running();
    assert!(
        running.contains(" neighbor 10.0.0.2 description to-spine9"),
        "{running}"
    );
    assert!(!running.contains("to-spine1"), "{running}");
    assert_eq!(s.running_config().await.unwrap().trim(), running.trim());
}

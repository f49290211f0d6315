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

#[tokio::test(flavor = "multi_thread")]
async fn removing_one_service_keeps_the_other_and_lines_naas_never_applied() {
    let dev = FrrDevice::start();
    // Configured by someone else, before naas: never to be touched.
    dev.frr
        .configure(&["router bgp 65001", "neighbor 10.0.0.9 remote-as 65009"]);
    let a = "router bgp 65001\n neighbor 10.0.0.2 remote-as 65002\n neighbor 10.0.0.2 description svc-a\n";
    let b =
        "router bgp 65001\n neighbor 10.0.0.3 remote-as 65003\ninterface lo\n description svc-b\n";
    let both = format!("{a}{b}");
    let d = driver();
    let mut s = d.open(&dev.sshd.key_target("leaf1", "frr")).await.unwrap();
    s.load(
        &LoadMode::Replace {
            applied: String::new(),
        },
        &both,
    )
    .await
    .unwrap();
    s.commit(None).await.unwrap();
    let running = dev.frr.running();
    for l in [
        "neighbor 10.0.0.2 description svc-a",
        "neighbor 10.0.0.3 remote-as 65003",
        " description svc-b",
        "neighbor 10.0.0.9 remote-as 65009",
    ] {
        assert!(running.contains(l), "{l:?} missing from\n{running}");
    }
    // Service b goes away: only its lines are negated.
    s.load(
        &LoadMode::Replace {
            applied: both.clone(),
        },
        a,
    )
    .await
    .unwrap();
    let diff = s.diff().await.unwrap();
    assert_eq!(
        diff,
        "router bgp 65001\n no neighbor 10.0.0.3 remote-as 65003\ninterface lo\n no description\n",
        "only b's lines, nothing of 10.0.0.9"
    );
    s.commit(None).await.unwrap();
    let running = dev.frr.running();
    assert!(!running.contains("10.0.0.3"), "{running}");
    assert!(!running.contains("svc-b"), "{running}");
    for l in [
        "neighbor 10.0.0.2 remote-as 65002",
        "neighbor 10.0.0.2 description svc-a",
        "neighbor 10.0.0.9 remote-as 65009",
    ] {
        assert!(running.contains(l), "{l:?} missing from\n{running}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_line_names_the_device_and_line_and_the_lines_before_it_are_rolled_back() {
    let dev = FrrDevice::start();
    dev.frr.configure(&["ip route 10.7.0.0/24 Null0"]);
    let before = dev.frr.running();
    let d = driver();
    let mut s = d
        .open(&dev.sshd.password_target("leaf1", "frr", 0))
        .await
        .unwrap();
    // Lines FRR accepts, then one it rejects (no remote-as yet), then more.
    let candidate = "interface lo\n description pushed-before\nrouter bgp 65001\n neighbor 10.0.0.2 remote-as 65002\n neighbor 10.0.0.3 description no-such-peer\n neighbor 10.0.0.4 remote-as 65004\n";
    s.load(
        &LoadMode::Replace {
            applied: String::new(),
        },
        candidate,
    )
    .await
    .unwrap();
    let diff = s.diff().await.unwrap();
    let at = |l: &str| {
        diff.find(l)
            .unwrap_or_else(|| panic!("{l:?} not in\n{diff}"))
    };
    assert!(
        at("description pushed-before") < at("no-such-peer"),
        "typed before the bad line"
    );
    assert!(
        at("remote-as 65002") < at("no-such-peer"),
        "typed before the bad line"
    );
    let e = s.commit(None).await.unwrap_err();
    match &e {
        DriverError::ConfigRejected {
            device,
            line,
            message,
        } => {
            assert_eq!(device, "leaf1");
            assert_eq!(line, "neighbor 10.0.0.3 description no-such-peer");
            assert!(
                message.contains("% Specify remote-as"),
                "the device's own message: {message}"
            );
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert!(e.to_string().contains("leaf1"), "{e}");
    let after = dev.frr.running();
    assert_eq!(
        after, before,
        "the lines before the rejected one are rolled back"
    );
    assert!(after.contains("ip route 10.7.0.0/24 Null0"));
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_password_is_an_auth_error_naming_the_device() {
    let dev = FrrDevice::start();
    let before = dev.frr.running();
    let mut t = dev.sshd.password_target("leaf1", "frr", 0);
    t.secret = naas_driver::Secret::Password("not-the-password".into());
    let e = driver().open(&t).await.map(|_| ()).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, DriverError::Connect { .. }), "{e:?}");
    assert!(
        text.contains("leaf1") && text.contains("authentication failed"),
        "{text}"
    );
    assert!(
        !text.contains("not-the-password"),
        "never print secrets: {text}"
    );
    assert_eq!(dev.frr.running(), before);
}

/// The SHA256 fingerprint ssh-keygen prints for a public key line.
fn keygen_fingerprint(line: &str, dir: &std::path::Path) -> String {
    let path = dir.join("fp.pub");
    std::fs::write(&path, format!("{line}\n")).unwrap();
    let out = peers::run(
        "ssh-keygen",
        &["-l", "-E", "sha256", "-f", path.to_str().unwrap()],
    );
    out.split_whitespace().nth(1).unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_and_changed_host_keys_are_refused_with_both_fingerprints() {
    let mut dev = FrrDevice::start();
    let before = dev.frr.running();
    let tmp = peers::TempDir::new();
    // A key this server never had.
    let (_, other) = peers::sshd::keygen(&tmp.path().join("other"));
    let mut t = dev.sshd.password_target("leaf1", "frr", 0);
    t.host_key = Some(other.clone());
    let e = driver().open(&t).await.map(|_| ()).unwrap_err();
    let server_fp = keygen_fingerprint(&dev.sshd.host_key, tmp.path());
    assert_eq!(
        e,
        DriverError::HostKeyMismatch {
            device: "leaf1".into(),
            expected: keygen_fingerprint(&other, tmp.path()),
            found: server_fp.clone(),
        }
    );
    assert!(
        e.to_string().contains("spec.hostKey"),
        "says what to do: {e}"
    );
    // The device is replaced: the key the Device holds is now stale.
    let stale = dev.sshd.password_target("leaf1", "frr", 0);
    driver().open(&stale).await.expect("the right key logs in");
    dev.sshd.change_host_key();
    let e = driver().open(&stale).await.map(|_| ()).unwrap_err();
    assert_eq!(
        e,
        DriverError::HostKeyMismatch {
            device: "leaf1".into(),
            expected: server_fp,
            found: keygen_fingerprint(&dev.sshd.host_key, tmp.path()),
        }
    );
    assert_eq!(dev.frr.running(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listener_that_never_answers_times_out_naming_the_device() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accept and hold connections without a word.
    let held = tokio::spawn(async move {
        let mut conns = Vec::new();
        while let Ok((c, _)) = listener.accept().await {
            conns.push(c);
        }
    });
    let d = CliDriver::new(CliOptions {
        ssh: SshOptions {
            connect_timeout: Duration::from_secs(1),
            keepalive: None,
        },
        ..CliOptions::default()
    });
    let t = naas_driver::Target {
        device: "mute1".into(),
        address: "127.0.0.1".into(),
        port,
        platform: "frr".into(),
        username: "u".into(),
        secret: naas_driver::Secret::Password("p".into()),
        host_key: None,
    };
    let start = Instant::now();
    let e = d.open(&t).await.map(|_| ()).unwrap_err();
    // Bounded far above the 1 s timeout: the timeout is what is tested.
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    let text = e.to_string();
    assert!(matches!(e, DriverError::Connect { .. }), "{e:?}");
    assert!(
        text.contains("mute1") && text.contains("within 1s"),
        "{text}"
    );
    held.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn after_sshd_dies_the_session_reconnects_and_rollback_restores() {
    let mut dev = FrrDevice::start();
    dev.frr.configure(&["ip route 10.7.0.0/24 Null0"]);
    let before = dev.frr.running();
    let d = driver();
    let mut s = d
        .open(&dev.sshd.password_target("leaf1", "frr", 0))
        .await
        .unwrap();
    s.load(&LoadMode::Merge, BGP).await.unwrap();
    s.commit(None).await.unwrap();
    assert!(dev.frr.running().contains("description to-spine1"));
    // sshd and the session's login die; the device comes back.
    dev.sshd.restart();
    s.rollback().await.unwrap();
    assert_eq!(dev.frr.running(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_session_per_device_at_a_time() {
    let dev = FrrDevice::start();
    let d = CliDriver::new(CliOptions {
        ssh: SshOptions {
            connect_timeout: Duration::from_secs(1),
            keepalive: None,
        },
        ..CliOptions::default()
    });
    let t = dev.sshd.password_target("leaf1", "frr", 0);
    let first = d.open(&t).await.unwrap();
    let e = d.open(&t).await.map(|_| ()).unwrap_err();
    assert_eq!(
        e,
        DriverError::LockHeld {
            device: "leaf1".into()
        }
    );
    assert!(
        dev.sshd.session_processes() > 0,
        "the first session is logged in"
    );
    drop(first);
    let second = d
        .open(&t)
        .await
        .expect("free again once the first session is gone");
    drop(second);
    // Dropping a session logs out: the device serves no login after.
    let deadline = Instant::now() + Duration::from_secs(10);
    while dev.sshd.session_processes() > 0 {
        assert!(
            Instant::now() < deadline,
            "a dropped session stays logged in"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unconfirmed_commit_is_rolled_back_by_the_session() {
    let dev = FrrDevice::start();
    let before = dev.frr.running();
    let d = driver();
    let mut s = d
        .open(&dev.sshd.password_target("leaf1", "frr", 0))
        .await
        .unwrap();
    s.load(&LoadMode::Merge, BGP).await.unwrap();
    s.commit(Some(Duration::from_millis(300))).await.unwrap();
    assert!(dev.frr.running().contains("to-spine1"));
    // No confirm: the session types the way back when the time is up.
    let deadline = Instant::now() + Duration::from_secs(20);
    while dev.frr.running() != before {
        assert!(
            Instant::now() < deadline,
            "not rolled back:\n{}",
            dev.frr.running()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Confirmed in time: it stays.
    s.load(&LoadMode::Merge, BGP).await.unwrap();
    s.commit(Some(Duration::from_secs(2))).await.unwrap();
    s.confirm().await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(dev.frr.running().contains("to-spine1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_global_session_bound_holds_across_devices() {
    let dev = FrrDevice::start();
    let d = CliDriver::new(CliOptions {
        ssh: SshOptions {
            connect_timeout: Duration::from_secs(1),
            keepalive: None,
        },
        max_sessions: 1,
        ..CliOptions::default()
    });
    let a = d
        .open(&dev.sshd.password_target("leaf1", "frr", 0))
        .await
        .unwrap();
    let other = dev.sshd.password_target("leaf2", "frr", 0);
    let e = d.open(&other).await.map(|_| ()).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("leaf2") && text.contains("1 SSH session slots"),
        "{text}"
    );
    drop(a);
    d.open(&other).await.expect("a slot is free again");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_device_that_prompts_then_never_answers_is_a_command_timeout() {
    peers::sshd::ensure_user(&[]);
    // A "router" that shows a prompt once and then reads nothing.
    let sshd = peers::sshd::Sshd::start("ForceCommand /bin/sh -c 'printf \"r1# \"; exec sleep 60'");
    let d = CliDriver::new(CliOptions {
        command_timeout: Duration::from_secs(1),
        ..CliOptions::default()
    });
    let start = Instant::now();
    let e = d
        .open(&sshd.password_target("r1", "frr", 0))
        .await
        .map(|_| ())
        .unwrap_err();
    // Bounded far above the 1 s timeout: the timeout is what is tested.
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        e,
        DriverError::CommandTimeout {
            device: "r1".into(),
            command: "terminal length 0".into(),
            timeout: Duration::from_secs(1),
        }
    );
}

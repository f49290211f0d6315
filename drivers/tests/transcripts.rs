//! The CLI driver's dialogs with EOS, IOS-XE and Junos, replayed from transcripts (no SSH, no device).
//!
//! Each transcript under `tests/data/transcripts/` is what a terminal shows
//! for one session; the replay fails on any command the transcript does not
//! hold next, and each test checks that the whole transcript was used, so the
//! tests prove the exact commands typed: merge, replace (naas's lines only),
//! confirmed commits, and the device's rejection messages. The transcripts
//! were written from the vendors' documented CLI output (their headers say
//! so), not captured from devices.

use std::time::Duration;

use naas_driver::cli::{CliPlatform, CliSession, ReplayShell};
use naas_driver::{DriverError, LoadMode, Session};

async fn replay(platform: &str, transcript: &str) -> (CliSession, ReplayShell) {
    let platform = CliPlatform::by_name(platform).expect("platform");
    let path = format!(
        "{}/tests/data/transcripts/{transcript}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let shell = ReplayShell::new(&text, platform.prompt);
    let session = CliSession::over(
        "dev1",
        platform,
        Box::new(shell.clone()),
        Duration::from_millis(200),
        "naas",
    )
    .await
    .expect("banner and setup replay");
    (session, shell)
}

fn all_used(shell: &ReplayShell) {
    assert!(
        shell.remaining().is_empty(),
        "commands the driver never sent: {:?}",
        shell.remaining()
    );
}

#[tokio::test]
async fn eos_replace_touches_only_naas_lines_then_merge_adds() {
    let (mut s, shell) = replay("eos", "eos-replace-merge.txt").await;
    let applied = "interface Ethernet1\n   description uplink-old\nrouter bgp 65001\n   neighbor 10.0.0.2 remote-as 65002\n";
    let candidate = "interface Ethernet1\n   description uplink-new\nrouter bgp 65001\n   neighbor 10.0.0.3 remote-as 65003\n";
    s.load(
        &LoadMode::Replace {
            applied: applied.into(),
        },
        candidate,
    )
    .await
    .unwrap();
    assert_eq!(
        s.diff().await.unwrap(),
        "router bgp 65001\n   neighbor 10.0.0.3 remote-as 65003\n   no neighbor 10.0.0.2 remote-as 65002\ninterface Ethernet1\n   description uplink-new\n"
    );
    s.commit(None).await.unwrap();
    // Merge: only the missing lines.
    s.load(
        &LoadMode::Merge,
        "interface Ethernet2\n   description set-by-hand\nvlan 10\n   name blue\n",
    )
    .await
    .unwrap();
    assert_eq!(s.diff().await.unwrap(), "vlan 10\n   name blue\n");
    s.commit(None).await.unwrap();
    all_used(&shell);
}

#[tokio::test]
async fn eos_confirmed_commit_uses_the_timer_and_a_rejection_aborts_the_session() {
    let (mut s, shell) = replay("eos", "eos-confirmed-reject.txt").await;
    s.load(
        &LoadMode::Merge,
        "interface Ethernet1\n   description to-spine1\n",
    )
    .await
    .unwrap();
    s.commit(Some(Duration::from_secs(300))).await.unwrap();
    s.confirm().await.unwrap();
    s.load(
        &LoadMode::Merge,
        "interface Ethernet1\n   speed forced 40gfull-duplex\n",
    )
    .await
    .unwrap();
    let e = s.commit(None).await.unwrap_err();
    assert_eq!(
        e,
        DriverError::ConfigRejected {
            device: "dev1".into(),
            line: "speed forced 40gfull-duplex".into(),
            message: "% Invalid input".into(),
        }
    );
    all_used(&shell);
}

#[tokio::test]
async fn ios_merge_then_a_rejection_restores_what_the_commit_changed_then_a_command_times_out() {
    let (mut s, shell) = replay("ios", "ios-merge-reject-restore.txt").await;
    let mine = "interface GigabitEthernet2\n description to-core\n";
    s.load(&LoadMode::Merge, mine).await.unwrap();
    s.commit(None).await.unwrap();
    let candidate = format!(
        "router bgp 65001\n neighbor 10.0.0.2 remote-as 65002\n neighbor 10.0.0.2 description to-peer\n{mine} ip adress 10.1.0.1 255.255.255.0\n"
    );
    s.load(
        &LoadMode::Replace {
            applied: mine.into(),
        },
        &candidate,
    )
    .await
    .unwrap();
    let e = s.commit(None).await.unwrap_err();
    match &e {
        DriverError::ConfigRejected {
            device,
            line,
            message,
        } => {
            assert_eq!(device, "dev1");
            assert_eq!(line, "ip adress 10.1.0.1 255.255.255.0");
            assert!(
                message.ends_with("% Invalid input detected at '^' marker."),
                "{message}"
            );
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    let e = s.running_config().await.unwrap_err();
    assert_eq!(
        e,
        DriverError::CommandTimeout {
            device: "dev1".into(),
            command: "show running-config".into(),
            timeout: Duration::from_millis(200),
        }
    );
    all_used(&shell);
}

#[tokio::test]
async fn junos_replace_with_commit_confirmed_then_a_syntax_error_rolls_the_candidate_back() {
    let (mut s, shell) = replay("junos", "junos-replace-confirmed-reject.txt").await;
    let applied = "set interfaces ge-0/0/0 description uplink-old\nset protocols bgp group spines neighbor 10.0.0.2 peer-as 65002\n";
    let candidate = "set interfaces ge-0/0/0 description uplink-new\nset protocols bgp group spines neighbor 10.0.0.3 peer-as 65003\n";
    s.load(
        &LoadMode::Replace {
            applied: applied.into(),
        },
        candidate,
    )
    .await
    .unwrap();
    s.commit(Some(Duration::from_secs(241))).await.unwrap();
    s.confirm().await.unwrap();
    s.load(
        &LoadMode::Merge,
        "set interfaces ge-0/0/0 unit 0 family inet adress 10.0.0.1/24\n",
    )
    .await
    .unwrap();
    let e = s.commit(None).await.unwrap_err();
    match &e {
        DriverError::ConfigRejected { line, message, .. } => {
            assert_eq!(
                line,
                "set interfaces ge-0/0/0 unit 0 family inet adress 10.0.0.1/24"
            );
            assert!(message.contains("syntax error."), "{message}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    all_used(&shell);
}

#[tokio::test]
async fn junos_configuration_locked_by_another_user_is_lock_held() {
    let (mut s, shell) = replay("junos", "junos-locked.txt").await;
    s.load(&LoadMode::Merge, "set system ntp server 10.0.0.1\n")
        .await
        .unwrap();
    assert_eq!(s.diff().await.unwrap(), "set system ntp server 10.0.0.1\n");
    let e = s.commit(Some(Duration::from_secs(60))).await.unwrap_err();
    assert_eq!(
        e,
        DriverError::LockHeld {
            device: "dev1".into()
        }
    );
    all_used(&shell);
}

//! The NETCONF driver against a real server (edits, Replace, errors, auth, framing, timeouts): Debian netconfd behind OpenSSH.
//!
//! Needs root (a test user) and `apt-get install -y netconfd openssh-server`:
//! `scripts/test.sh` must install both. Each test starts its own netconfd and
//! sshd (stopped by PID on drop) and reads every result back from the device
//! with `<get-config>`, in the same session and, where it matters, in a new
//! one. Commit, confirm, rollback and discard are in `netconf_commit.rs`.

mod peers;

use std::time::{Duration, Instant};

use naas_driver::ssh::SshOptions;
use naas_driver::{Driver, DriverError, LoadMode, NetconfDriver, NetconfOptions, Secret, Session};
use peers::netconfd::{
    IF, Netconfd, driver, fresh_read, interfaces, itf, map, push, read_interfaces,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_config_commit_and_read_back() {
    let nc = Netconfd::start("candidate");
    let target = nc.key_target("leaf1");
    let mut s = driver()
        .open(&target)
        .await
        .expect("open with a private key");
    assert_eq!(s.diff().await.unwrap(), "", "nothing loaded yet");
    let config = interfaces(&[itf("eth1", Some("uplink")), itf("eth2", None)]);
    s.load(&LoadMode::Merge, &config).await.expect("load");
    let diff = s.diff().await.unwrap();
    assert!(
        diff.contains("+") && diff.contains("eth1") && diff.contains("uplink"),
        "{diff}"
    );
    // Loaded, not committed: running has nothing yet.
    assert!(fresh_read(&target).await.is_empty());
    s.commit(None).await.expect("commit");
    assert_eq!(
        s.diff().await.unwrap(),
        "",
        "candidate equals running after commit"
    );
    let want = map(&[("eth1", "uplink"), ("eth2", "")]);
    assert_eq!(read_interfaces(&mut s).await, want);
    assert_eq!(
        fresh_read(&target).await,
        want,
        "another session sees the commit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace_removes_exactly_one_services_elements() {
    let nc = Netconfd::start("candidate");
    let target = nc.target("leaf4");
    // Something naas never applied.
    push(&target, &interfaces(&[itf("eth9", Some("operator's own"))])).await;
    // naas's part: service A owns eth1 and eth2, service B owns eth3.
    let a = [itf("eth1", Some("svc-a")), itf("eth2", Some("svc-a"))];
    let b = [itf("eth3", Some("svc-b"))];
    let applied = interfaces(&[a[0].clone(), a[1].clone(), b[0].clone()]);
    let mut s = driver().open(&target).await.unwrap();
    s.load(
        &LoadMode::Replace {
            applied: String::new(),
        },
        &applied,
    )
    .await
    .unwrap();
    s.commit(None).await.unwrap();
    assert_eq!(fresh_read(&target).await.len(), 4);

    // Service A is deleted: naas's part is now B's alone.
    let candidate = interfaces(&b);
    s.load(
        &LoadMode::Replace {
            applied: applied.clone(),
        },
        &candidate,
    )
    .await
    .unwrap();
    let diff = s.diff().await.unwrap();
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| l.starts_with(['-', '+']) && !l.starts_with("---") && !l.starts_with("+++"))
        .collect();
    assert!(
        changed.iter().all(|l| l.starts_with('-')),
        "only removals: {diff}"
    );
    let changed = changed.concat();
    assert!(
        changed.contains("eth1") && changed.contains("eth2"),
        "{diff}"
    );
    assert!(
        !changed.contains("eth3") && !changed.contains("eth9"),
        "only A's entries change: {diff}"
    );
    s.commit(None).await.unwrap();
    assert_eq!(
        fresh_read(&target).await,
        map(&[("eth3", "svc-b"), ("eth9", "operator's own")])
    );

    // A leaf naas applied and no longer wants is removed, the entry stays.
    let applied = candidate;
    let candidate = interfaces(&[itf("eth3", None)]);
    s.load(&LoadMode::Replace { applied }, &candidate)
        .await
        .unwrap();
    s.commit(None).await.unwrap();
    assert_eq!(
        fresh_read(&target).await,
        map(&[("eth3", ""), ("eth9", "operator's own")])
    );

    // naas's record names an entry someone already deleted from the device:
    // removing it is not an error (remove, not delete).
    let applied = interfaces(&[itf("eth3", None), itf("gone", None)]);
    s.load(
        &LoadMode::Replace { applied },
        &interfaces(&[itf("eth3", None)]),
    )
    .await
    .expect("removing an absent entry");
    s.commit(None).await.unwrap();
    assert_eq!(
        fresh_read(&target).await,
        map(&[("eth3", ""), ("eth9", "operator's own")])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_edits_name_the_element_and_change_nothing() {
    let nc = Netconfd::start("candidate");
    let target = nc.target("leaf6");
    push(&target, &interfaces(&[itf("eth1", Some("ok"))])).await;
    let mut s = driver().open(&target).await.unwrap();
    // A bad value, next to a good change that must not land either.
    let bad_value = format!(
        r#"<interfaces xmlns="{IF}">{}<interface><name>eth3</name><enabled>maybe</enabled></interface></interfaces>"#,
        itf("eth2", None)
    );
    let e = s.load(&LoadMode::Merge, &bad_value).await.unwrap_err();
    let DriverError::ConfigRejected {
        device,
        line,
        message,
    } = &e
    else {
        panic!("{e:?}");
    };
    assert_eq!(device, "leaf6");
    assert!(line.contains("eth3") && line.contains("enabled"), "{line}");
    assert!(
        message.contains("invalid value") && message.contains("maybe"),
        "{message}"
    );
    assert_eq!(s.diff().await.unwrap(), "", "the candidate is unchanged");

    let unknown = format!(
        r#"<interfaces xmlns="{IF}"><interface><name>eth4</name><bogus>1</bogus></interface></interfaces>"#
    );
    let e = s.load(&LoadMode::Merge, &unknown).await.unwrap_err();
    assert!(
        matches!(&e, DriverError::ConfigRejected { message, .. } if message.contains("unknown")),
        "{e:?}"
    );
    // Not XML at all never reaches the device.
    let e = s.load(&LoadMode::Merge, "<interfaces>").await.unwrap_err();
    assert!(e.to_string().contains("not well-formed"), "{e}");
    s.commit(None).await.unwrap();
    assert_eq!(fresh_read(&target).await, map(&[("eth1", "ok")]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_host_key_and_wrong_password() {
    let nc = Netconfd::start("candidate");
    let mut target = nc.target("leaf7");
    let (_, other_key) = peers::sshd::keygen(&nc.dir().join("other"));
    target.host_key = Some(other_key);
    let Err(e) = driver().open(&target).await else {
        panic!("opened with the wrong host key");
    };
    assert!(
        matches!(&e, DriverError::HostKeyMismatch { device, .. } if device == "leaf7"),
        "{e:?}"
    );
    let mut target = nc.target("leaf7");
    target.secret = Secret::Password("not-the-password".into());
    let Err(e) = driver().open(&target).await else {
        panic!("opened with a wrong password");
    };
    assert!(
        matches!(&e, DriverError::Connect { device, reason } if device == "leaf7" && reason.contains("authentication failed")),
        "{e:?}"
    );
    assert!(!e.to_string().contains("not-the-password"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_checks_validate_and_a_missing_mandatory_leaf() {
    let nc = Netconfd::start("candidate");
    let target = nc.target("leaf9");
    let mut s = driver().connect(&target).await.expect("open");
    assert!(s.uses_candidate());
    s.load(&LoadMode::Merge, &interfaces(&[itf("eth1", Some("ok"))]))
        .await
        .unwrap();
    s.validate().await.expect("a valid candidate validates");
    s.discard().await.unwrap();
    // No <type>: the YANG model makes it mandatory; the device names it.
    let missing_type = format!(
        r#"<interfaces xmlns="{IF}"><interface><name>eth2</name></interface></interfaces>"#
    );
    let e = s.load(&LoadMode::Merge, &missing_type).await.unwrap_err();
    let DriverError::ConfigRejected {
        device,
        line,
        message,
    } = &e
    else {
        panic!("{e:?}");
    };
    assert_eq!(device, "leaf9");
    assert!(line.ends_with("if:type"), "{line}");
    assert!(message.contains("not found"), "{message}");
    assert_eq!(s.diff().await.unwrap(), "");
    assert!(fresh_read(&target).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_unlocked_candidate_is_discarded_before_locking() {
    use naas_driver::netconf::client::Client;
    let nc = Netconfd::start("candidate");
    let target = nc.target("leaf10");
    // Another client edits the candidate without a lock and leaves it so.
    let conn = naas_driver::ssh::connect(&target, &SshOptions::default())
        .await
        .unwrap();
    let channel = conn.subsystem("netconf").await.unwrap();
    let mut other = Client::start(
        channel.into_stream(),
        "leaf10",
        Duration::from_secs(30),
        Default::default(),
    )
    .await
    .unwrap();
    let stale = interfaces(&[itf("stale0", None)]);
    other
        .call(
            "edit-config",
            &format!(
                "<edit-config><target><candidate/></target><config>{stale}</config></edit-config>"
            ),
        )
        .await
        .unwrap();
    let mut s = driver().open(&target).await.unwrap();
    s.load(&LoadMode::Merge, &interfaces(&[itf("eth1", None)]))
        .await
        .expect("load after discarding the stale candidate");
    s.commit(None).await.unwrap();
    assert_eq!(
        fresh_read(&target).await,
        map(&[("eth1", "")]),
        "the stale edit was not committed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_times_out_naming_the_rpc() {
    let nc = Netconfd::start("candidate");
    let target = nc.target("leaf11");
    let quick = NetconfDriver::new(NetconfOptions {
        rpc_timeout: Duration::from_secs(2),
        ..NetconfOptions::default()
    });
    let mut s = quick.open(&target).await.unwrap();
    nc.pause();
    let started = Instant::now();
    let e = s.running_config().await.unwrap_err();
    nc.resume();
    assert_eq!(
        e,
        DriverError::CommandTimeout {
            device: "leaf11".into(),
            command: "get-config".into(),
            timeout: Duration::from_secs(2),
        }
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "bounded by the RPC timeout"
    );
    // The late reply is skipped: the session goes on with the next RPC.
    s.load(&LoadMode::Merge, &interfaces(&[itf("eth1", None)]))
        .await
        .expect("load after a timeout");
    s.commit(None).await.unwrap();
    assert_eq!(fresh_read(&target).await, map(&[("eth1", "")]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_base10_server_gets_end_of_message_framing() {
    use naas_driver::netconf::framing::Framing;
    use naas_driver::netconf::rpc::{BASE_1_0, BASE_1_1};
    let nc = Netconfd::start_with("candidate", &["--protocols=netconf1.0"]);
    let target = nc.target("leaf12");
    let mut s = driver().connect(&target).await.expect("open");
    let caps = s.capabilities().to_vec();
    assert!(caps.iter().any(|c| c == BASE_1_0), "{caps:?}");
    assert!(!caps.iter().any(|c| c == BASE_1_1), "{caps:?}");
    assert_eq!(s.framing(), Framing::EndOfMessage);
    s.load(
        &LoadMode::Merge,
        &interfaces(&[itf("eth1", Some("base 1.0"))]),
    )
    .await
    .unwrap();
    s.commit(None).await.unwrap();
    assert_eq!(fresh_read(&target).await, map(&[("eth1", "base 1.0")]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_timings() {
    let nc = Netconfd::start("candidate");
    let target = nc.target("leaf14");
    let mut opens = Vec::new();
    let mut pushes = Vec::new();
    let mut applied = String::new();
    for i in 0..20 {
        let entries: Vec<String> = (0..10)
            .map(|j| itf(&format!("eth{j}"), Some(&format!("push {i}"))))
            .collect();
        let config = interfaces(&entries);
        let t = Instant::now();
        let mut s = driver().open(&target).await.unwrap();
        opens.push(t.elapsed());
        let t = Instant::now();
        s.load(&LoadMode::Replace { applied }, &config)
            .await
            .unwrap();
        assert_ne!(s.diff().await.unwrap(), "");
        s.commit(Some(Duration::from_secs(60))).await.unwrap();
        s.confirm().await.unwrap();
        pushes.push(t.elapsed());
        applied = config;
    }
    let read = fresh_read(&target).await;
    assert_eq!(read.len(), 10);
    assert!(read.values().all(|d| d == "push 19"), "{read:?}");
    for (what, mut v) in [("open", opens), ("push", pushes)] {
        v.sort();
        println!(
            "netconf {what}: p50 {:?}, max {:?} over {} runs",
            v[v.len() / 2],
            v[v.len() - 1],
            v.len()
        );
        assert!(
            v[v.len() - 1] < Duration::from_secs(30),
            "{what} took {v:?}"
        );
    }
}

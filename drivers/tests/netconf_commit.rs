//! The NETCONF driver's commits against a real server: confirmed commit, confirm, cancel-commit, restore, discard, locks.
//!
//! Needs root (a test user) and `apt-get install -y netconfd openssh-server`
//! (`scripts/test.sh` installs both). Each test starts its own netconfd and
//! sshd (stopped by PID on drop) and reads results back in fresh sessions,
//! as another client would see them.

mod peers;

use std::time::{Duration, Instant};

use naas_driver::{Driver, DriverError, LoadMode};
use peers::netconfd::{Netconfd, driver, fresh_read, interfaces, itf, map, push};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmed_commit_confirmed_stays_unconfirmed_reverts() {
    let nc = Netconfd::start("candidate");
    let target = nc.target("leaf2");
    let mut s = driver().open(&target).await.expect("open with a password");
    s.load(&LoadMode::Merge, &interfaces(&[itf("eth1", Some("kept"))]))
        .await
        .unwrap();
    s.commit(Some(Duration::from_secs(3)))
        .await
        .expect("confirmed commit");
    s.confirm().await.expect("confirming commit");
    // Well past the confirm timeout: still there.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(fresh_read(&target).await, map(&[("eth1", "kept")]));

    // Not confirmed: the device restores the config by itself.
    s.load(
        &LoadMode::Merge,
        &interfaces(&[itf("eth2", Some("temporary"))]),
    )
    .await
    .unwrap();
    s.commit(Some(Duration::from_secs(2)))
        .await
        .expect("confirmed commit");
    assert_eq!(
        fresh_read(&target).await,
        map(&[("eth1", "kept"), ("eth2", "temporary")]),
        "applied while waiting for confirmation"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = fresh_read(&target).await;
        if now == map(&[("eth1", "kept")]) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never reverted: {now:?}\n{}",
            nc.log()
        );
        // yuma123 checks its confirm timer only when idle for a while: poll slowly.
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_cancels_a_pending_confirmed_commit_and_restores_after_one() {
    let nc = Netconfd::start("candidate");
    let target = nc.target("leaf3");
    push(&target, &interfaces(&[itf("eth1", Some("before"))])).await;

    let mut s = driver().open(&target).await.unwrap();
    let change = interfaces(&[itf("eth1", Some("after")), itf("eth2", None)]);
    s.load(&LoadMode::Merge, &change).await.unwrap();
    s.commit(Some(Duration::from_secs(120))).await.unwrap();
    assert_eq!(
        fresh_read(&target).await,
        map(&[("eth1", "after"), ("eth2", "")])
    );
    s.rollback().await.expect("cancel-commit");
    assert_eq!(fresh_read(&target).await, map(&[("eth1", "before")]));

    // A plain commit, then rollback: the driver edits back what it changed.
    push(&target, &interfaces(&[itf("eth9", Some("not naas"))])).await;
    s.load(&LoadMode::Merge, &change).await.unwrap();
    s.commit(None).await.unwrap();
    assert_eq!(
        fresh_read(&target).await,
        map(&[("eth1", "after"), ("eth2", ""), ("eth9", "not naas")])
    );
    s.rollback().await.expect("restore");
    assert_eq!(
        fresh_read(&target).await,
        map(&[("eth1", "before"), ("eth9", "not naas")])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discard_drops_the_candidate_and_the_lock() {
    let nc = Netconfd::start("candidate");
    let target = nc.target("leaf5");
    let mut s = driver().open(&target).await.unwrap();
    s.load(&LoadMode::Merge, &interfaces(&[itf("eth1", None)]))
        .await
        .unwrap();
    // Locked: another session cannot load.
    let mut other = driver().open(&target).await.unwrap();
    let e = other
        .load(&LoadMode::Merge, &interfaces(&[itf("eth2", None)]))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        DriverError::LockHeld {
            device: "leaf5".into()
        }
    );
    assert_ne!(s.diff().await.unwrap(), "");
    s.discard().await.expect("discard");
    assert_eq!(s.diff().await.unwrap(), "");
    s.commit(None).await.unwrap();
    assert!(
        fresh_read(&target).await.is_empty(),
        "nothing was committed"
    );
    // The lock is free again.
    other
        .load(&LoadMode::Merge, &interfaces(&[itf("eth2", None)]))
        .await
        .expect("load after the discard");
    other.commit(None).await.unwrap();
    assert_eq!(fresh_read(&target).await, map(&[("eth2", "")]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_session_frees_the_lock_and_reverts_an_unconfirmed_commit() {
    let nc = Netconfd::start("candidate");
    let target = nc.target("leaf13");
    push(&target, &interfaces(&[itf("eth1", Some("base"))])).await;
    {
        let mut s = driver().open(&target).await.unwrap();
        s.load(&LoadMode::Merge, &interfaces(&[itf("eth2", None)]))
            .await
            .unwrap();
        s.commit(Some(Duration::from_secs(600))).await.unwrap();
        assert_eq!(fresh_read(&target).await.len(), 2);
    }
    // The session that started the confirmed commit is gone: the device
    // restores running (RFC 6241 §8.4) and frees the lock.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = fresh_read(&target).await;
        if now == map(&[("eth1", "base")]) {
            break;
        }
        assert!(Instant::now() < deadline, "not reverted: {now:?}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let mut s = driver().open(&target).await.unwrap();
    s.load(&LoadMode::Merge, &interfaces(&[itf("eth3", None)]))
        .await
        .expect("the lock is free");
    s.commit(None).await.unwrap();
    assert_eq!(
        fresh_read(&target).await,
        map(&[("eth1", "base"), ("eth3", "")])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_confirm_is_refused_and_the_change_is_gone() {
    let nc = Netconfd::start("candidate");
    let target = nc.target("leaf15");
    push(&target, &interfaces(&[itf("eth1", Some("base"))])).await;
    let mut s = driver().open(&target).await.unwrap();
    s.load(&LoadMode::Merge, &interfaces(&[itf("eth2", None)]))
        .await
        .unwrap();
    s.commit(Some(Duration::from_secs(1))).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let e = s.confirm().await.unwrap_err();
    assert!(
        matches!(&e, DriverError::CommitFailed { device, detail } if device == "leaf15" && detail.contains("past its")),
        "{e:?}"
    );
    assert_eq!(fresh_read(&target).await, map(&[("eth1", "base")]));
    // The session goes on: rollback has nothing left to undo, a new push works.
    s.rollback().await.expect("nothing to roll back");
    s.load(&LoadMode::Merge, &interfaces(&[itf("eth3", None)]))
        .await
        .unwrap();
    s.commit(None).await.unwrap();
    assert_eq!(
        fresh_read(&target).await,
        map(&[("eth1", "base"), ("eth3", "")])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_candidate_the_driver_edits_running() {
    let nc = Netconfd::start("running");
    let target = nc.target("leaf8");
    let mut s = driver().open(&target).await.unwrap();
    s.load(
        &LoadMode::Merge,
        &interfaces(&[itf("eth1", Some("direct"))]),
    )
    .await
    .unwrap();
    assert!(s.diff().await.unwrap().contains("eth1"));
    assert!(
        fresh_read(&target).await.is_empty(),
        "written only at commit"
    );
    let e = s.commit(Some(Duration::from_secs(30))).await.unwrap_err();
    assert!(matches!(e, DriverError::CommitFailed { .. }), "{e:?}");
    s.load(
        &LoadMode::Merge,
        &interfaces(&[itf("eth1", Some("direct"))]),
    )
    .await
    .unwrap();
    s.commit(None).await.expect("commit to running");
    assert_eq!(fresh_read(&target).await, map(&[("eth1", "direct")]));
    s.rollback().await.expect("restore");
    assert!(fresh_read(&target).await.is_empty());
}

//! The shared SSH layer against a real OpenSSH server: shells with and without a pty, subsystems, a peer that hangs up.
//!
//! Needs root (a test user) and `apt-get install -y openssh-server`
//! (`scripts/test.sh` installs it). The server runs `/bin/cat` for shells
//! and for a test subsystem, so what the channel carries comes back.

mod peers;

use std::time::Duration;

use naas_driver::DriverError;
use naas_driver::ssh::{Connection, SshOptions, connect};
use peers::sshd::{Sshd, ensure_user};
use russh::ChannelMsg;
use russh::client::Msg;

fn options() -> SshOptions {
    SshOptions {
        connect_timeout: Duration::from_secs(10),
        keepalive: None,
    }
}

/// Sends `text` and reads until it comes back (or 10 s pass).
async fn echo(channel: &mut russh::Channel<Msg>, text: &str) -> String {
    channel.data_bytes(text.as_bytes().to_vec()).await.unwrap();
    let mut got = String::new();
    let read = async {
        while !got.contains(text.trim()) {
            match channel.wait().await {
                Some(ChannelMsg::Data { data }) => got.push_str(&String::from_utf8_lossy(&data)),
                Some(ChannelMsg::Eof | ChannelMsg::Close) | None => break,
                Some(_) => {}
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), read).await;
    got
}

async fn login(sshd: &Sshd) -> Connection {
    connect(&sshd.key_target("cat1", "frr"), &options())
        .await
        .expect("key login")
}

#[tokio::test(flavor = "multi_thread")]
async fn shells_with_and_without_a_pty_and_a_subsystem_carry_data() {
    ensure_user(&[]);
    let sshd = Sshd::start("ForceCommand /bin/cat\nSubsystem naas-echo /bin/cat");
    let c = login(&sshd).await;
    assert_eq!(c.device(), "cat1");
    let mut plain = c.shell(false).await.unwrap();
    assert_eq!(echo(&mut plain, "no pty here\n").await, "no pty here\n");
    let mut tty = c.shell(true).await.unwrap();
    // A terminal echoes the line, then cat prints it: twice, with CRLF.
    let got = echo(&mut tty, "with a pty\n").await;
    assert!(got.contains("with a pty\r\n"), "{got:?}");
    let mut sub = c.subsystem("naas-echo").await.unwrap();
    assert_eq!(echo(&mut sub, "<hello/>\n").await, "<hello/>\n");
    // A subsystem the server lacks is refused by name.
    let e = c.subsystem("netconf").await.unwrap_err();
    assert!(
        matches!(&e, DriverError::Connect { device, reason } if device == "cat1" && reason.contains("\"netconf\"")),
        "{e:?}"
    );
    c.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_peer_that_hangs_up_during_the_handshake_is_a_closed_connection() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        // Accept, then close at once.
        while let Ok((c, _)) = listener.accept().await {
            drop(c);
        }
    });
    let t = naas_driver::Target {
        device: "flaky1".into(),
        address: "127.0.0.1".into(),
        port,
        platform: "frr".into(),
        username: "u".into(),
        secret: naas_driver::Secret::Password("p".into()),
        host_key: None,
    };
    let e = connect(&t, &options()).await.unwrap_err();
    let DriverError::Connect { device, reason } = &e else {
        panic!("{e:?}");
    };
    assert_eq!(device, "flaky1");
    assert!(reason.contains("closed the connection"), "{reason}");
    server.abort();
}

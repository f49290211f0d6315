//! Push benchmark: remediation of a 10,000-line config, and one push to 1, 10 and 50 SSH devices at once.
//!
//! `cargo bench -p naas-driver --bench push` measures; under `cargo test`
//! (no `--bench` argument) each part runs once, small, to prove it works.
//! Part (b) needs root, `openssh-server` and `frr` (as the FRR tests); it is
//! skipped, loudly, without them. Each endpoint there is a device of its
//! own: its own FRR (zebra + bgpd) in its own network namespace, reached on
//! its own sshd (whose logins land in that FRR's vtysh), one SSH
//! connection and CLI session per device. Ratios are measured in this run.

#[path = "../tests/peers/mod.rs"]
mod peers;

use std::time::{Duration, Instant};

use naas_driver::cli::{CliDriver, CliOptions};
use naas_driver::config_tree::{EOS, remediation, remediation_scoped};
use naas_driver::ssh::SshOptions;
use naas_driver::{Driver, LoadMode};

/// `n` interfaces of 20 lines each (`n * 20` lines); with `changed`, every
/// tenth line (10%) has a new value.
fn big_config(n: usize, changed: bool) -> String {
    let mut out = String::new();
    let mut count = 0;
    let mut line = |out: &mut String, text: String| {
        let v = if changed && count % 10 == 0 {
            "new"
        } else {
            "old"
        };
        out.push_str(&text.replace("{v}", v));
        out.push('\n');
        count += 1;
    };
    for i in 0..n {
        line(&mut out, format!("interface Ethernet{i}"));
        line(&mut out, format!("   description port-{i}-{{v}}"));
        line(
            &mut out,
            format!("   ip address 10.{}.{}.1/31", i / 256, i % 256),
        );
        for k in 0..17 {
            line(
                &mut out,
                format!("   ip ospf message-digest-key {k} md5 7 {{v}}{k}"),
            );
        }
    }
    out
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// What the numbers are: a measurement, or a smoke run under `cargo test`.
fn label(bench: bool) -> &'static str {
    if bench {
        ""
    } else {
        " [smoke run under cargo test: debug build, one run; measure with cargo bench]"
    }
}

fn bench_remediation(runs: usize, bench: bool) {
    let running = big_config(500, false);
    let intended = big_config(500, true);
    let lines = running.lines().count();
    let mut full = Vec::new();
    let mut scoped = Vec::new();
    let mut commands = 0;
    for _ in 0..runs {
        let t = Instant::now();
        commands = remediation(&running, &intended, &EOS)
            .expect("remediation")
            .len();
        full.push(t.elapsed());
        let t = Instant::now();
        remediation_scoped(&running, &running, &intended, &EOS).expect("scoped");
        scoped.push(t.elapsed());
    }
    let (f, s) = (median(full), median(scoped));
    println!(
        "remediation: {lines} lines, 10% of them changed -> {commands} commands: \
         remediation {f:?}, remediation_scoped {s:?} (median of {runs}; target <= 50 ms: {}){}",
        if s <= Duration::from_millis(50) {
            "met"
        } else {
            "NOT met"
        },
        label(bench)
    );
}

fn config(round: usize) -> String {
    format!(
        "router bgp 65001\n neighbor 10.0.0.2 remote-as 65002\n neighbor 10.0.0.2 description round-{round}\n neighbor 10.0.0.3 remote-as 65003\ninterface lo\n description naas-round-{round}\n"
    )
}

/// Pushes round `round` to every target at once; the time until all finished.
async fn push_all(driver: &CliDriver, targets: &[naas_driver::Target], round: usize) -> Duration {
    let start = Instant::now();
    let tasks: Vec<_> = targets
        .iter()
        .cloned()
        .map(|t| {
            let d = driver.clone();
            tokio::spawn(async move {
                let mut s = d.open(&t).await.expect("open");
                let applied = if round == 0 {
                    String::new()
                } else {
                    config(round - 1)
                };
                s.load(&LoadMode::Replace { applied }, &config(round))
                    .await
                    .expect("load");
                assert!(
                    !s.diff().await.expect("diff").is_empty(),
                    "each round changes something"
                );
                s.commit(None).await.expect("commit");
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("push task");
    }
    start.elapsed()
}

async fn bench_push(sizes: &[usize], rounds: usize, bench: bool) {
    if !peers::frr::device_available() || !nix_root() {
        println!(
            "SKIPPED push to N devices: needs root, openssh-server and frr (apt-get install -y openssh-server frr)"
        );
        return;
    }
    let max = *sizes.iter().max().expect("sizes");
    peers::sshd::ensure_user(&["frrvty"]);
    let started = Instant::now();
    let frrs: Vec<_> = (0..max)
        .map(|_| peers::frr::Frr::start_daemons(&["zebra", "bgpd"]))
        .collect();
    // OpenSSH listens on at most 16 sockets: one sshd per device.
    let sshds: Vec<_> = frrs
        .iter()
        .map(|f| peers::sshd::Sshd::start(&format!("ForceCommand {}", f.vtysh_command())))
        .collect();
    println!(
        "push: started {max} FRR devices and their sshds in {:?}",
        started.elapsed()
    );
    let driver = CliDriver::new(CliOptions {
        ssh: SshOptions {
            connect_timeout: Duration::from_secs(60),
            keepalive: None,
        },
        command_timeout: Duration::from_secs(60),
        max_sessions: 64,
    });
    let mut round = 0;
    let mut one = None;
    for &n in sizes {
        let targets: Vec<_> = (0..n)
            .map(|i| sshds[i].password_target(&format!("bench{i}"), "frr", 0))
            .collect();
        // Each round renames the descriptions (devices new at this size get everything).
        let mut times = Vec::new();
        // Read the peers' CPU first: the read itself scans /proc.
        let peers0 = peers_cpu(&sshds, &frrs);
        let own0 = own_cpu();
        for _ in 0..rounds {
            times.push(push_all(&driver, &targets, round).await);
            round += 1;
        }
        let own = own_cpu() - own0;
        let peer = peers_cpu(&sshds, &frrs) - peers0;
        let pushes = (rounds * n) as f64;
        let own = own.as_secs_f64() * 1e3 / pushes;
        let peer = peer.as_secs_f64() * 1e3 / pushes;
        let m = median(times);
        let one_time = *one.get_or_insert(m);
        println!(
            "push: {n:>2} device(s) at once: {m:?} (median of {rounds}), {:.2}x the 1-device time{}; \
             CPU per device push: {own:.1} ms in naas (the driver), {peer:.1} ms in the peers (sshd, vtysh, FRR){}",
            m.as_secs_f64() / one_time.as_secs_f64(),
            if n == 50 { " (target <= 2x)" } else { "" },
            label(bench)
        );
        // Check one device really holds the last round.
        let last = frrs[n - 1].running();
        assert!(last.contains(&format!("round-{}", round - 1)), "{last}");
    }
}

/// CPU time of this process (user + system), from `/proc/self/stat`.
fn own_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, r)| r.split_whitespace().collect());
    // utime and stime are fields 14 and 15: 12 and 13 after the ')'.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// CPU time of the peers: each sshd with the logins it served (the
/// sessions' sshd processes, their shells and vtysh), and the FRR daemons.
fn peers_cpu(sshds: &[peers::sshd::Sshd], frrs: &[peers::frr::Frr]) -> Duration {
    // Logins still closing have not been counted into their parent yet.
    let deadline = Instant::now() + Duration::from_secs(10);
    while sshds.iter().any(|s| s.session_processes() > 0) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let logins: Duration = sshds
        .iter()
        .filter_map(peers::sshd::Sshd::pid)
        .map(|p| peers::cpu_of(p, true))
        .sum();
    let daemons: Duration = frrs
        .iter()
        .flat_map(|f| f.pids().iter().map(|&p| peers::cpu_of(p, false)))
        .sum();
    logins + daemons
}

fn nix_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if bench {
        bench_remediation(21, true);
        rt.block_on(bench_push(&[1, 10, 50], 3, true));
    } else {
        bench_remediation(1, false);
        rt.block_on(bench_push(&[1, 3], 1, false));
    }
}

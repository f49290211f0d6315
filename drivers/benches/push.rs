//! Push benchmark: remediation of a 10,000-line config, and one push to 1, 10 and 50 SSH devices at once.
//!
//! `cargo bench -p naas-driver --bench push` measures; under `cargo test`
//! (no `--bench` argument) each part runs once, small, to prove it works
//! (the fake part also checks every device holds the pushed lines).
//!
//! The push (issue 10: "50 devices <= 2x one device") runs against two
//! kinds of endpoint, both through the real [`CliDriver`] with platform
//! `frr`, one SSH connection and CLI session per device, the same service
//! config, the same open/load/diff/commit per device, all devices at once,
//! the ratio against 1 device measured in the same run:
//!
//! - **fake vtysh** ([`fake_cli`]): N russh servers in this process, each
//!   on its own loopback port with its own ed25519 host key (verified),
//!   password login, a shell that answers like FRR's vtysh. They cost little
//!   CPU, so this part measures how the *driver* scales. They run on
//!   threads of their own (`fake-cli`): the CPU split is the process's
//!   (getrusage) minus those threads' (schedstat), and theirs. Run twice:
//!   answering at once (a push is then pure CPU, 1-2 ms of it on both
//!   sides, so N pushes take N times that spread over the cores: no ratio
//!   near 2x is possible on 2 cores, the line shows the CPU per push
//!   instead), and answering after [`THINK`] per answer, as a device does
//!   (the ratio then shows whether the driver overlaps the devices' waits
//!   or serialises them). Needs nothing.
//! - **real FRR**: each device its own FRR (zebra + bgpd) in its own
//!   network namespace behind its own OpenSSH sshd (`ForceCommand vtysh`).
//!   This is the real thing, but each push costs ~40 ms of CPU in the peer
//!   (sshd fork, vtysh start, the daemons) on the same cores, so 50 of them
//!   cannot answer in 2x one device whatever the driver does; the line
//!   prints the peers' CPU next to the driver's. Needs root,
//!   `openssh-server` and `frr` (as the FRR tests); skipped, loudly, without.
//!
//! "cores busy" is (driver + peers CPU) / wall time: near the core count,
//! the machine was the limit; well below it, something waited.

mod fake_cli;

#[path = "../tests/peers/mod.rs"]
mod peers;

use std::time::{Duration, Instant};

use naas_driver::cli::{CliDriver, CliOptions};
use naas_driver::config_tree::{EOS, remediation, remediation_scoped};
use naas_driver::ssh::SshOptions;
use naas_driver::{Driver, LoadMode};

use fake_cli::FakeCli;

/// The name of the fake endpoints' runtime threads.
const FAKE_THREADS: &str = "fake-cli";

/// The fake devices' think time per answer in the latency part: one push
/// then takes about 70 ms (a push to one real FRR here: about 130 ms).
const THINK: Duration = Duration::from_millis(5);

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

/// Pushes to 1, then to each larger number of `targets` at once, `rounds`
/// times per size, and prints the median, the ratio against the first size
/// (1 device, this run) and the CPU per device push on each side;
/// `check(n, round)` checks the devices after each size.
async fn run_sizes(
    kind: &str,
    targets: &[naas_driver::Target],
    sizes: &[usize],
    rounds: usize,
    bench: bool,
    cpu: &Cpu<'_>,
    check: &dyn Fn(usize, usize),
) {
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
        // Each round renames the descriptions (devices new at this size get everything).
        let mut times = Vec::new();
        // Read the peers' CPU first: the read itself may scan /proc.
        let peers0 = (cpu.peers)();
        let own0 = (cpu.naas)();
        for _ in 0..rounds {
            times.push(push_all(&driver, &targets[..n], round).await);
            round += 1;
        }
        let own = (cpu.naas)().saturating_sub(own0);
        let peer = (cpu.peers)().saturating_sub(peers0);
        // Of this process and the peers, how many cores were busy on average.
        let busy = (own + peer).as_secs_f64() / times.iter().sum::<Duration>().as_secs_f64();
        let pushes = (rounds * n) as f64;
        let own = own.as_secs_f64() * 1e3 / pushes;
        let peer = peer.as_secs_f64() * 1e3 / pushes;
        let m = median(times);
        let one_time = *one.get_or_insert(m);
        let ratio = m.as_secs_f64() / one_time.as_secs_f64();
        let target = match n {
            50 if ratio <= 2.0 => " (target <= 2x: met)",
            50 => " (target <= 2x: NOT met)",
            _ => "",
        };
        println!(
            "push ({kind}): {n:>2} device(s) at once: {m:.1?} (median of {rounds}), {ratio:.2}x the 1-device time{target}; \
             CPU per device push: {own:.2} ms in naas (the driver), {peer:.2} ms in {}; {busy:.2} cores busy{}",
            cpu.peers_are,
            label(bench)
        );
        check(n, round - 1);
    }
}

/// Where CPU time goes: cumulative readings for naas and for the peers.
struct Cpu<'a> {
    naas: &'a dyn Fn() -> Duration,
    peers: &'a dyn Fn() -> Duration,
    peers_are: &'a str,
}

/// The driver against fake vtysh endpoints answering after `think`, served
/// by `serve` (no root needed).
async fn bench_fake(
    sizes: &[usize],
    rounds: usize,
    bench: bool,
    think: Duration,
    serve: &tokio::runtime::Handle,
) {
    let max = *sizes.iter().max().expect("sizes");
    let devices: Vec<FakeCli> = (0..max)
        .map(|i| FakeCli::start(&format!("fake{i}"), think, serve))
        .collect();
    let targets: Vec<_> = (0..max)
        .map(|i| devices[i].target(&format!("fake{i}")))
        .collect();
    let cpu = Cpu {
        naas: &|| process_cpu().saturating_sub(threads_cpu(FAKE_THREADS)),
        peers: &|| threads_cpu(FAKE_THREADS),
        peers_are: "the endpoints (russh server, fake vtysh)",
    };
    let check = |n: usize, last: usize| {
        for d in &devices[..n] {
            let running = d.running();
            for line in [
                format!(" neighbor 10.0.0.2 description round-{last}\n"),
                " neighbor 10.0.0.3 remote-as 65003\n".to_string(),
                format!("interface lo\n description naas-round-{last}\n"),
            ] {
                assert!(running.contains(&line), "{line:?} missing:\n{running}");
            }
            if last > 0 {
                // The descriptions were replaced, not added to.
                let old = format!("round-{}\n", last - 1);
                assert!(!running.contains(&old), "{old:?} left:\n{running}");
            }
        }
    };
    let kind = if think.is_zero() {
        "fake vtysh, in-process".to_string()
    } else {
        format!("fake vtysh, {think:?} per answer")
    };
    run_sizes(&kind, &targets, sizes, rounds, bench, &cpu, &check).await;
}

/// The driver against real FRR devices (root, openssh-server, frr).
async fn bench_frr(sizes: &[usize], rounds: usize, bench: bool) {
    if !peers::frr::device_available() || !nix_root() {
        println!(
            "SKIPPED push to N FRR devices: needs root, openssh-server and frr (apt-get install -y openssh-server frr)"
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
    let targets: Vec<_> = (0..max)
        .map(|i| sshds[i].password_target(&format!("bench{i}"), "frr", 0))
        .collect();
    let cpu = Cpu {
        naas: &process_cpu,
        peers: &|| peers_cpu(&sshds, &frrs),
        peers_are: "the peers (sshd, vtysh, FRR)",
    };
    let check = |n: usize, last: usize| {
        // One device really holds the last round.
        let running = frrs[n - 1].running();
        assert!(running.contains(&format!("round-{last}")), "{running}");
    };
    run_sizes("real FRR", &targets, sizes, rounds, bench, &cpu, &check).await;
}

/// CPU time of this process (user + system, every thread), from getrusage.
fn process_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut u = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.unsigned_abs())
            + Duration::from_micros(t.tv_usec.unsigned_abs())
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// CPU time of this process's threads named `name`, from
/// `/proc/self/task/*/schedstat` (nanoseconds on a CPU).
fn threads_cpu(name: &str) -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    tasks
        .flatten()
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name))
        .filter_map(|t| {
            let stat = std::fs::read_to_string(t.path().join("schedstat")).ok()?;
            stat.split_whitespace().next()?.parse().ok()
        })
        .map(Duration::from_nanos)
        .sum()
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
    // The fake endpoints run on threads of their own, so that their CPU
    // time can be told apart from the driver's.
    let serve = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(FAKE_THREADS)
        .enable_all()
        .build()
        .expect("tokio runtime for the fake endpoints");
    let h = serve.handle();
    if bench {
        bench_remediation(21, true);
        rt.block_on(bench_fake(&[1, 10, 50], 15, true, Duration::ZERO, h));
        rt.block_on(bench_fake(&[1, 10, 50], 5, true, THINK, h));
        rt.block_on(bench_frr(&[1, 10, 50], 3, true));
    } else {
        bench_remediation(1, false);
        rt.block_on(bench_fake(&[1, 3], 1, false, Duration::ZERO, h));
        rt.block_on(bench_fake(&[1, 3], 1, false, THINK, h));
        rt.block_on(bench_frr(&[1, 3], 1, false));
    }
}

//! A CLI session: load computes the commands with the config tree, commit types them (in a candidate where the platform has one), rollback restores.
//!
//! Platforms without a candidate (FRR, IOS-XE) apply each line as it is
//! typed, so the session snapshots the running config at load; when the
//! device rejects a line in the middle of a commit (or the commit times out
//! or loses the connection, reconnecting once), the session types the
//! way back to the snapshot (only the lines the commit changed) and checks
//! that the running config holds them again before returning the rejection.
//! `rollback` after a commit does the same. A confirmed commit on these
//! platforms is emulated by the session: a timer task rolls back unless
//! [`Session::confirm`] comes in time, even after the session is dropped
//! (the device stays locked for naas until then). It needs the session's SSH
//! connection (it reconnects once if that dropped), so unlike a device-side
//! confirmed commit it cannot undo anything while naas cannot reach the device.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use regex::Regex;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use super::platform::CliPlatform;
use super::scope::{expand_kept, lineages, restrict};
use super::shell::{Shell, ShellError};
use crate::config_tree::{future, remediation_scoped};
use crate::{DriverError, LoadMode, Session};

/// Opens a new shell (after the connection dropped), set up and at its prompt.
#[async_trait]
pub trait Reconnect: Send + Sync {
    /// A fresh shell to the same device.
    async fn reconnect(&self) -> Result<Box<dyn Shell>, DriverError>;
}

/// A candidate loaded but not committed.
struct Loaded {
    snapshot: String,
    commands: Vec<String>,
}

/// What the last commit changed, to undo it.
struct Committed {
    before: String,
    expected: String,
}

/// Everything a session holds; shared with its confirm timer.
pub(crate) struct Inner {
    pub(crate) device: String,
    pub(crate) platform: &'static CliPlatform,
    pub(crate) shell: Box<dyn Shell>,
    pub(crate) reconnect: Option<Arc<dyn Reconnect>>,
    pub(crate) command_timeout: Duration,
    pub(crate) session_prefix: String,
    /// Held for the session's life: the device lock and a global slot.
    pub(crate) _permits: Vec<Box<dyn std::any::Any + Send>>,
    errors: Vec<Regex>,
    seq: u32,
    loaded: Option<Loaded>,
    committed: Option<Committed>,
    /// The candidate session awaiting `confirm` on the device, if any.
    device_confirm: Option<String>,
    /// The emulated confirm timer's id, if one is pending.
    emulated_confirm: Option<u64>,
}

/// One CLI session to one device (see the module doc).
pub struct CliSession {
    inner: Arc<Mutex<Inner>>,
    timer: Option<JoinHandle<()>>,
    timer_id: u64,
}

impl std::fmt::Debug for CliSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CliSession").finish_non_exhaustive()
    }
}

fn tree_error(device: &str, what: &str, e: impl std::fmt::Display) -> DriverError {
    DriverError::ConfigRejected {
        device: device.to_string(),
        line: String::new(),
        message: format!("naas cannot parse the {what}: {e}"),
    }
}

impl CliSession {
    /// A session over an open shell (already at its first prompt and set up).
    #[must_use]
    pub(crate) fn new(inner: Inner) -> Self {
        Self {
            inner: Arc::new(Mutex::new(inner)),
            timer: None,
            timer_id: 0,
        }
    }

    /// A session over any [`Shell`] (a transcript replay in tests): reads
    /// the banner, runs the platform's setup commands. EOS candidate
    /// sessions are named `{session_prefix}-1`, `-2`...
    ///
    /// # Errors
    /// [`DriverError::CommandTimeout`] or [`DriverError::Connect`] from the shell.
    pub async fn over(
        device: &str,
        platform: &'static CliPlatform,
        shell: Box<dyn Shell>,
        command_timeout: Duration,
        session_prefix: &str,
    ) -> Result<Self, DriverError> {
        let inner = Inner::start(
            device,
            platform,
            shell,
            None,
            command_timeout,
            session_prefix,
            Vec::new(),
        )
        .await?;
        Ok(Self::new(inner))
    }
}

impl Inner {
    /// Reads the banner, runs the setup commands.
    pub(crate) async fn start(
        device: &str,
        platform: &'static CliPlatform,
        mut shell: Box<dyn Shell>,
        reconnect: Option<Arc<dyn Reconnect>>,
        command_timeout: Duration,
        session_prefix: &str,
        permits: Vec<Box<dyn std::any::Any + Send>>,
    ) -> Result<Self, DriverError> {
        setup(device, platform, shell.as_mut(), command_timeout).await?;
        Ok(Self {
            device: device.to_string(),
            platform,
            shell,
            reconnect,
            command_timeout,
            session_prefix: session_prefix.to_string(),
            _permits: permits,
            errors: platform
                .errors
                .iter()
                .copied()
                .map(super::platform::compiled)
                .collect(),
            seq: 0,
            loaded: None,
            committed: None,
            device_confirm: None,
            emulated_confirm: None,
        })
    }

    fn shell_error(&self, command: &str, e: ShellError) -> DriverError {
        shell_error(&self.device, command, self.command_timeout, e)
    }

    /// Reconnects once when the shell is closed.
    async fn ensure_open(&mut self) -> Result<(), DriverError> {
        if self.shell.is_open() {
            return Ok(());
        }
        match &self.reconnect {
            Some(r) => {
                self.shell = r.reconnect().await?;
                Ok(())
            }
            None => Err(DriverError::Connect {
                device: self.device.clone(),
                reason: "the CLI session is closed".into(),
            }),
        }
    }

    /// Sends a command, returns its answer.
    async fn cmd(&mut self, line: &str) -> Result<String, DriverError> {
        let t = self.command_timeout;
        match self.shell.command(line, t).await {
            Ok(answer) => Ok(answer),
            Err(e) => Err(self.shell_error(line, e)),
        }
    }

    /// The device's error lines in an answer, if it rejected the command.
    fn rejection(&self, answer: &str) -> Option<String> {
        answer
            .lines()
            .any(|l| self.errors.iter().any(|re| re.is_match(l)))
            .then(|| answer.trim().to_string())
    }

    /// Sends a config command; a rejection names the line and carries the device's message.
    async fn config_cmd(&mut self, line: &str) -> Result<(), DriverError> {
        let answer = self.cmd(line).await?;
        match self.rejection(&answer) {
            Some(message) => Err(DriverError::ConfigRejected {
                device: self.device.clone(),
                line: line.to_string(),
                message,
            }),
            None => Ok(()),
        }
    }

    /// The running config; reconnects once when the connection turns out dead.
    async fn running(&mut self) -> Result<String, DriverError> {
        self.ensure_open().await?;
        let show = self.platform.show_running;
        match self.shell.command(show, self.command_timeout).await {
            Ok(answer) => Ok(answer),
            Err(ShellError::Closed(_)) if self.reconnect.is_some() => {
                self.ensure_open().await?;
                self.cmd(show).await
            }
            Err(e) => Err(self.shell_error(show, e)),
        }
    }

    /// Types remediation lines in config mode, leaving sections by
    /// indentation with the platform's exit word.
    async fn type_lines(&mut self, commands: &[String]) -> Result<(), DriverError> {
        let p = self.platform;
        let step = p.tree.indent.max(1);
        let level = |l: &str| (l.len() - l.trim_start().len()) / step;
        let lines: Vec<&String> = commands.iter().filter(|l| !p.is_exit_word(l)).collect();
        let mut depth = 0;
        for (i, raw) in lines.iter().enumerate() {
            let lv = level(raw);
            while depth > lv {
                self.config_cmd(p.exit).await?;
                depth -= 1;
            }
            self.config_cmd(&p.command(raw.trim())).await?;
            if lines.get(i + 1).is_some_and(|n| level(n) > lv) {
                depth = lv + 1;
            }
        }
        // Back to the top, where commit and end are sure to exist.
        for _ in 0..depth {
            self.config_cmd(p.exit).await?;
        }
        Ok(())
    }

    /// Pushes commands the platform's way. Without a candidate a rejection
    /// leaves the lines before it applied (the caller restores).
    async fn push(
        &mut self,
        commands: &[String],
        confirm: Option<Duration>,
    ) -> Result<(), DriverError> {
        self.ensure_open().await?;
        let p = self.platform;
        let Some(c) = p.candidate else {
            self.config_cmd(p.configure).await?;
            let typed = self.type_lines(commands).await;
            // Leave config mode whatever happened (the shell may be gone).
            let _ = self.cmd(p.end).await;
            return typed;
        };
        self.seq += 1;
        let session = format!("{}-{}", self.session_prefix, self.seq);
        let fill = |s: &str| {
            let secs = confirm.map_or(0, |d| d.as_secs().max(1));
            s.replace("{session}", &session)
                .replace(
                    "{hms}",
                    &format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60),
                )
                .replace("{minutes}", &secs.div_ceil(60).to_string())
        };
        let enter = fill(if confirm.is_some() {
            c.enter_confirmed
        } else {
            c.enter
        });
        let answer = self.cmd(&enter).await?;
        if let Some(message) = self.rejection(&answer) {
            return Err(lock_or_commit_failure(&self.device, message));
        }
        let abort: Vec<String> = c.abort.iter().map(|a| fill(a)).collect();
        if let Err(e) = self.type_lines(commands).await {
            self.abort(&abort).await;
            return Err(e);
        }
        let commit = if confirm.is_some() {
            c.commit_confirmed
        } else {
            c.commit
        };
        for step in commit {
            let answer = self.cmd(&fill(step)).await?;
            if let Some(message) = self.rejection(&answer) {
                self.abort(&abort).await;
                return Err(lock_or_commit_failure(&self.device, message));
            }
        }
        self.device_confirm = confirm.map(|_| session);
        Ok(())
    }

    /// Drops a candidate (best effort: the shell may be gone).
    async fn abort(&mut self, commands: &[String]) {
        for a in commands {
            let _ = self.cmd(a).await;
        }
    }

    async fn load(&mut self, mode: &LoadMode, config: &str) -> Result<(), DriverError> {
        let running = self.running().await?;
        let p = self.platform;
        let applied = match mode {
            LoadMode::Merge => "",
            LoadMode::Replace { applied } => applied.as_str(),
        };
        let commands = remediation_scoped(
            &p.tree_text(&running),
            &p.tree_text(applied),
            &p.tree_text(config),
            p.tree,
        )
        .map_err(|e| tree_error(&self.device, "config", e))?;
        let commands = expand_kept(commands, &running, p)
            .map_err(|e| tree_error(&self.device, "running config", e))?;
        self.loaded = Some(Loaded {
            snapshot: running,
            commands,
        });
        Ok(())
    }

    fn diff(&self) -> String {
        let mut out: String = self
            .loaded
            .iter()
            .flat_map(|l| &l.commands)
            .map(|c| {
                let pad = &c[..c.len() - c.trim_start().len()];
                format!("{pad}{}\n", self.platform.command(c.trim_start()))
            })
            .collect();
        if out.trim().is_empty() {
            out.clear();
        }
        out
    }

    async fn commit(&mut self, confirm: Option<Duration>) -> Result<(), DriverError> {
        let Some(loaded) = self.loaded.take() else {
            return Ok(());
        };
        if loaded.commands.is_empty() {
            return Ok(());
        }
        let p = self.platform;
        let expected = future(&p.tree_text(&loaded.snapshot), &loaded.commands, p.tree)
            .map_err(|e| tree_error(&self.device, "running config", e))?;
        let committed = Committed {
            before: p.tree_text(&loaded.snapshot),
            expected,
        };
        match self.push(&loaded.commands, confirm).await {
            Ok(()) => {
                self.committed = Some(committed);
                Ok(())
            }
            Err(e) if p.candidate.is_none() => {
                // The lines typed before the failure are live: take them back
                // (a rejection, a timeout, a dropped connection alike).
                self.committed = Some(committed);
                self.rollback().await.map_err(|r| DriverError::CommitFailed {
                    device: self.device.clone(),
                    detail: format!("{e}; restoring the config from before the commit failed too: {r}; check the device by hand"),
                })?;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    async fn confirm(&mut self) -> Result<(), DriverError> {
        self.emulated_confirm = None;
        let Some(session) = self.device_confirm.take() else {
            return Ok(());
        };
        let Some(c) = self.platform.candidate else {
            return Ok(());
        };
        self.ensure_open().await?;
        for step in c.confirm {
            let line = step.replace("{session}", &session);
            let answer = self.cmd(&line).await?;
            if let Some(message) = self.rejection(&answer) {
                return Err(DriverError::CommitFailed {
                    device: self.device.clone(),
                    detail: format!(
                        "confirming the commit failed: {message}; the device rolls back by itself when the timer runs out"
                    ),
                });
            }
        }
        Ok(())
    }

    /// Types the way back from the last commit and checks the result.
    async fn rollback(&mut self) -> Result<(), DriverError> {
        self.emulated_confirm = None;
        self.device_confirm = None;
        let Some(committed) = self.committed.take() else {
            return Ok(());
        };
        let p = self.platform;
        let device = self.device.clone();
        let fail = |d: String| DriverError::CommitFailed {
            device: device.clone(),
            detail: d,
        };
        let before = lineages(&committed.before, p).map_err(&fail)?;
        let after = lineages(&committed.expected, p).map_err(&fail)?;
        let changed: BTreeSet<Vec<String>> = before.symmetric_difference(&after).cloned().collect();
        let current = self.running().await?;
        let commands = remediation_scoped(
            &p.tree_text(&current),
            &restrict(&committed.expected, &changed, p).map_err(&fail)?,
            &restrict(&committed.before, &changed, p).map_err(&fail)?,
            p.tree,
        )
        .map_err(|e| fail(e.to_string()))?;
        let commands = expand_kept(commands, &current, p).map_err(&fail)?;
        if !commands.is_empty() {
            self.push(&commands, None).await?;
        }
        let now = self.running().await?;
        let want = restrict(&committed.before, &changed, p).map_err(&fail)?;
        let got = restrict(&now, &changed, p).map_err(&fail)?;
        if want != got {
            return Err(fail(format!(
                "after the rollback the device still differs from before the commit:\nexpected\n{want}\nfound\n{got}"
            )));
        }
        Ok(())
    }
}

/// Reads the banner and runs the platform's setup (pager off); setup
/// commands a platform version lacks are not fatal.
pub(crate) async fn setup(
    device: &str,
    platform: &CliPlatform,
    shell: &mut dyn Shell,
    timeout: Duration,
) -> Result<(), DriverError> {
    shell
        .start(timeout)
        .await
        .map_err(|e| match e {
            ShellError::Timeout => DriverError::Connect {
                device: device.to_string(),
                reason: format!(
                    "logged in, but no CLI prompt within {timeout:?}: check that the device's platform is {:?}",
                    platform.name
                ),
            },
            e => shell_error(device, "(login)", timeout, e),
        })?;
    for s in platform.setup {
        shell
            .command(s, timeout)
            .await
            .map_err(|e| shell_error(device, s, timeout, e))?;
    }
    Ok(())
}

fn shell_error(device: &str, command: &str, timeout: Duration, e: ShellError) -> DriverError {
    match e {
        ShellError::Timeout => DriverError::CommandTimeout {
            device: device.to_string(),
            command: command.to_string(),
            timeout,
        },
        ShellError::Closed(reason) => DriverError::Connect {
            device: device.to_string(),
            reason: format!("{reason} (while sending {command:?})"),
        },
        ShellError::Unexpected(detail) => DriverError::CommitFailed {
            device: device.to_string(),
            detail,
        },
    }
}

/// A locked candidate is [`DriverError::LockHeld`]; other failures are commit failures.
fn lock_or_commit_failure(device: &str, message: String) -> DriverError {
    let lower = message.to_lowercase();
    if lower.contains("locked") || lower.contains("lock is held") {
        DriverError::LockHeld {
            device: device.to_string(),
        }
    } else {
        DriverError::CommitFailed {
            device: device.to_string(),
            detail: message,
        }
    }
}

#[async_trait]
impl Session for CliSession {
    async fn running_config(&mut self) -> Result<String, DriverError> {
        self.inner.lock().await.running().await
    }

    async fn load(&mut self, mode: &LoadMode, config: &str) -> Result<(), DriverError> {
        self.inner.lock().await.load(mode, config).await
    }

    /// The commands commit would type, one per line (empty when nothing).
    async fn diff(&mut self) -> Result<String, DriverError> {
        Ok(self.inner.lock().await.diff())
    }

    async fn commit(&mut self, confirm_within: Option<Duration>) -> Result<(), DriverError> {
        let mut inner = self.inner.lock().await;
        inner.commit(confirm_within).await?;
        let (Some(t), None) = (confirm_within, inner.platform.candidate) else {
            return Ok(());
        };
        // Emulated confirmed commit: roll back at `t` unless confirmed.
        self.timer_id += 1;
        let id = self.timer_id;
        inner.emulated_confirm = Some(id);
        drop(inner);
        let shared = self.inner.clone();
        self.timer = Some(tokio::spawn(async move {
            tokio::time::sleep(t).await;
            let mut inner = shared.lock().await;
            if inner.emulated_confirm == Some(id)
                && let Err(e) = inner.rollback().await
            {
                tracing::error!(device = %inner.device, error = %e, "unconfirmed commit: rollback failed");
            }
        }));
        Ok(())
    }

    async fn confirm(&mut self) -> Result<(), DriverError> {
        // Holding the lock, the timer is asleep or waiting: safe to stop.
        let mut inner = self.inner.lock().await;
        if let Some(t) = self.timer.take() {
            t.abort();
        }
        inner.confirm().await
    }

    async fn discard(&mut self) -> Result<(), DriverError> {
        self.inner.lock().await.loaded = None;
        Ok(())
    }

    async fn rollback(&mut self) -> Result<(), DriverError> {
        // Holding the lock, the timer is asleep or waiting: safe to stop.
        let mut inner = self.inner.lock().await;
        if let Some(t) = self.timer.take() {
            t.abort();
        }
        inner.rollback().await
    }
}

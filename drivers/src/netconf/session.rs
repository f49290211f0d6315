//! The NETCONF [`Session`]: lock, edit-config, commit (confirmed), confirm, cancel-commit, discard, restore.
//!
//! With `:candidate` the session edits the candidate datastore under a lock
//! taken at the first load, and commits it; the lock is kept while a
//! confirmed commit waits for its confirmation and released after. Without
//! `:candidate` the load is kept in the session and written to `running`
//! (under a lock on running, with rollback-on-error when offered) at commit;
//! confirmed commits need `:candidate` and are refused there.
//!
//! A confirmed commit is not persistent: it must be confirmed from the same
//! session, and dropping the session before that makes the device restore
//! running by itself (RFC 6241 §8.4; tested against netconfd). Dropping a
//! session also frees its lock (the device discards a locked candidate).
//! `rollback` after a confirmed (or plain) commit edits back what the commit
//! changed, from running as read just before it ([`edit::restore`]).

use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::{DriverError, LoadMode, Session};

use super::client::Client;
use super::edit;
use super::rpc::{self, CANDIDATE, CONFIRMED_COMMIT, ROLLBACK_ON_ERROR, Reply};
use super::xml::{self, Element, NC_NS};

/// What the last commit did, to undo it.
struct Committed {
    /// The edit payload(s) that were committed.
    payload: Vec<Element>,
    /// Running before the commit.
    before: Vec<Element>,
}

/// A NETCONF session to one device (see the module docs).
pub struct NetconfSession<S> {
    client: Client<S>,
    candidate: bool,
    locked: bool,
    /// Edits loaded since the last commit or discard (the candidate's payload,
    /// or, without `:candidate`, what commit will write).
    loaded: Vec<Element>,
    /// A confirmed commit waits for confirmation: when it was sent and its timeout.
    pending_confirm: Option<(Instant, Duration)>,
    last_commit: Option<Committed>,
    /// Kept alive as long as the session (the SSH connection).
    _keep: Option<Box<dyn Send>>,
}

impl<S> std::fmt::Debug for NetconfSession<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetconfSession")
            .field("client", &self.client)
            .field("candidate", &self.candidate)
            .field("locked", &self.locked)
            .finish_non_exhaustive()
    }
}

fn datastore(name: &str) -> String {
    format!("<{name}/>")
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> NetconfSession<S> {
    /// A session on a started client; `keep` is held as long as the session
    /// (the SSH connection under the channel).
    pub fn new(client: Client<S>, keep: Option<Box<dyn Send>>) -> Self {
        let candidate = client.supports(CANDIDATE);
        Self {
            client,
            candidate,
            locked: false,
            loaded: Vec::new(),
            pending_confirm: None,
            last_commit: None,
            _keep: keep,
        }
    }

    /// Whether the device edits a candidate datastore (else `running`).
    #[must_use]
    pub fn uses_candidate(&self) -> bool {
        self.candidate
    }

    /// The server's capabilities.
    #[must_use]
    pub fn capabilities(&self) -> &[String] {
        self.client.capabilities()
    }

    /// The framing the session speaks (base:1.1 chunks when both sides offer it).
    #[must_use]
    pub fn framing(&self) -> super::framing::Framing {
        self.client.framing()
    }

    fn target(&self) -> &'static str {
        if self.candidate {
            "candidate"
        } else {
            "running"
        }
    }

    fn device(&self) -> String {
        self.client.device().to_string()
    }

    async fn lock(&mut self) -> Result<(), DriverError> {
        if self.locked {
            return Ok(());
        }
        let op = format!("<lock><target>{}</target></lock>", datastore(self.target()));
        match self.client.rpc("lock", &op).await? {
            Reply::Ok | Reply::Data(_) => {}
            // RFC 6241 §8.3.5.1: a candidate holding uncommitted edits of a
            // client that did not lock it cannot be locked (yuma123 says
            // "discard-changes needed"). Drop them, as that client's own
            // session end would have, and lock; a held lock stays LockHeld.
            Reply::Errors(errors)
                if self.candidate
                    && errors.iter().all(|e| {
                        e.tag != "lock-denied" && e.message.contains("discard-changes")
                    }) =>
            {
                tracing::warn!(device = %self.device(), "discarding a stale unlocked candidate");
                self.client
                    .call("discard-changes", "<discard-changes/>")
                    .await?;
                self.client.call("lock", &op).await?;
            }
            Reply::Errors(errors) => {
                return Err(rpc::to_driver_error(self.client.device(), "lock", &errors));
            }
        }
        self.locked = true;
        Ok(())
    }

    async fn unlock(&mut self) -> Result<(), DriverError> {
        if !self.locked || self.pending_confirm.is_some() {
            return Ok(());
        }
        let op = format!(
            "<unlock><target>{}</target></unlock>",
            datastore(self.target())
        );
        self.client.call("unlock", &op).await?;
        self.locked = false;
        Ok(())
    }

    /// `<edit-config>` of `payload` to `target`; a rejection leaves the
    /// datastore as it was before this edit (rollback-on-error), or, on a
    /// device without it, drops the whole candidate (discard-changes).
    async fn edit(&mut self, target: &str, payload: &[Element]) -> Result<(), DriverError> {
        if payload.is_empty() {
            return Ok(());
        }
        let rollback = self.client.supports(ROLLBACK_ON_ERROR);
        let op = format!(
            r#"<edit-config><target>{}</target>{}<config xmlns:nc="{NC_NS}">{}</config></edit-config>"#,
            datastore(target),
            if rollback {
                "<error-option>rollback-on-error</error-option>"
            } else {
                ""
            },
            xml::write_fragment(payload),
        );
        let result = self.client.call("edit-config", &op).await;
        if result.is_err() && !rollback && target == "candidate" {
            // Best effort: the rejection is the error to report.
            let _ = self
                .client
                .call("discard-changes", "<discard-changes/>")
                .await;
            self.loaded.clear();
        }
        result.map(|_| ())
    }

    async fn get_config(&mut self, source: &str) -> Result<Vec<Element>, DriverError> {
        let op = format!(
            "<get-config><source>{}</source></get-config>",
            datastore(source)
        );
        self.client.call("get-config", &op).await
    }

    /// `<validate>` of the candidate (or running): the device's full check
    /// without committing.
    ///
    /// Not part of the commit path: yuma123 2.13 answers `<ok/>` to the
    /// `<commit>` that follows a `<validate>` without applying anything.
    ///
    /// # Errors
    /// [`DriverError::ConfigRejected`] with the device's message.
    pub async fn validate(&mut self) -> Result<(), DriverError> {
        let op = format!(
            "<validate><source>{}</source></validate>",
            datastore(self.target())
        );
        self.client.call("validate", &op).await.map(|_| ())
    }

    /// Writes `payload` now: to the candidate and commits it, or to running.
    async fn apply_now(&mut self, payload: &[Element]) -> Result<(), DriverError> {
        self.lock().await?;
        let target = self.target();
        self.edit(target, payload).await?;
        if self.candidate {
            self.client.call("commit", "<commit/>").await?;
        }
        self.unlock().await
    }
}

#[async_trait]
impl<S: AsyncRead + AsyncWrite + Unpin + Send> Session for NetconfSession<S> {
    async fn running_config(&mut self) -> Result<String, DriverError> {
        Ok(xml::pretty(&self.get_config("running").await?))
    }

    async fn load(&mut self, mode: &LoadMode, config: &str) -> Result<(), DriverError> {
        let device = self.device();
        let parse = |text: &str, what: &str| {
            xml::parse_fragment(text).map_err(|e| DriverError::ConfigRejected {
                device: device.clone(),
                line: what.to_string(),
                message: format!("not well-formed XML: {e}"),
            })
        };
        let candidate = parse(config, "candidate")?;
        let payload = match mode {
            LoadMode::Merge => candidate,
            LoadMode::Replace { applied } => {
                edit::replace_payload(&parse(applied, "applied config")?, &candidate)
            }
        };
        if self.candidate {
            self.lock().await?;
            self.edit("candidate", &payload).await?;
        }
        edit::merge_into(&mut self.loaded, payload);
        Ok(())
    }

    async fn diff(&mut self) -> Result<String, DriverError> {
        if !self.candidate {
            return Ok(xml::pretty(&self.loaded));
        }
        let running = xml::pretty(&self.get_config("running").await?);
        let candidate = xml::pretty(&self.get_config("candidate").await?);
        if running == candidate {
            return Ok(String::new());
        }
        Ok(similar::TextDiff::from_lines(&running, &candidate)
            .unified_diff()
            .header("running", "candidate")
            .to_string())
    }

    async fn commit(&mut self, confirm_within: Option<Duration>) -> Result<(), DriverError> {
        let device = self.device();
        if confirm_within.is_some() && (!self.candidate || !self.client.supports(CONFIRMED_COMMIT))
        {
            return Err(DriverError::CommitFailed {
                device,
                detail: "a confirmed commit needs the :candidate and :confirmed-commit capabilities, which the device does not advertise".into(),
            });
        }
        let before = self.get_config("running").await?;
        // Kept loaded until the commit succeeds: a refused commit leaves the
        // candidate (and this record of it) for discard or another try.
        let payload = self.loaded.clone();
        if self.candidate {
            self.lock().await?;
            let op = match confirm_within {
                None => "<commit/>".to_string(),
                Some(t) => format!(
                    "<commit><confirmed/><confirm-timeout>{}</confirm-timeout></commit>",
                    t.as_secs_f64().ceil().max(1.0) as u64
                ),
            };
            let sent = Instant::now();
            self.client.call("commit", &op).await?;
            self.pending_confirm = confirm_within.map(|t| (sent, t));
        } else {
            self.lock().await?;
            if let Err(e) = self.edit("running", &payload).await {
                let _ = self.unlock().await;
                return Err(e);
            }
        }
        self.loaded.clear();
        self.last_commit = Some(Committed { payload, before });
        self.unlock().await
    }

    async fn confirm(&mut self) -> Result<(), DriverError> {
        let Some((sent, timeout)) = self.pending_confirm else {
            return Ok(());
        };
        let elapsed = sent.elapsed();
        if elapsed >= timeout {
            // The device may have restored the old config already (then a
            // confirming commit would "succeed" committing nothing) or be
            // about to: make it certain, and say so.
            let _ = self.client.call("cancel-commit", "<cancel-commit/>").await;
            self.pending_confirm = None;
            self.last_commit = None;
            let _ = self.unlock().await;
            return Err(DriverError::CommitFailed {
                device: self.device(),
                detail: format!(
                    "confirmation came {elapsed:?} after the confirmed commit, past its {timeout:?} timeout: the device restored the previous config"
                ),
            });
        }
        self.client.call("commit", "<commit/>").await?;
        self.pending_confirm = None;
        self.unlock().await
    }

    async fn discard(&mut self) -> Result<(), DriverError> {
        if self.candidate && self.locked {
            self.client
                .call("discard-changes", "<discard-changes/>")
                .await?;
        }
        self.loaded.clear();
        self.unlock().await
    }

    async fn rollback(&mut self) -> Result<(), DriverError> {
        if let Some((sent, timeout)) = self.pending_confirm {
            let cancel = self.client.call("cancel-commit", "<cancel-commit/>").await;
            // Past the timeout the device restored the config by itself and
            // may answer that nothing is pending: rolled back all the same.
            if sent.elapsed() < timeout {
                cancel?;
            }
            self.pending_confirm = None;
            self.last_commit = None;
            return self.unlock().await;
        }
        self.discard().await?;
        let Some(last) = self.last_commit.take() else {
            return Ok(());
        };
        let undo = edit::restore(&last.payload, &last.before);
        self.apply_now(&undo).await
    }
}

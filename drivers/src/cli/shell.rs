//! The CLI transport: a [`Shell`] sends a line and reads the answer up to the next prompt; over SSH or replaying a transcript.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use regex::Regex;
use russh::client::Msg;
use russh::{Channel, ChannelMsg};

use crate::ssh::Connection;

/// Why a shell dialog failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellError {
    /// No prompt within the timeout.
    Timeout,
    /// The connection or channel closed.
    Closed(String),
    /// (Replay only) the driver sent another command than the transcript holds.
    Unexpected(String),
}

/// A CLI dialog: one command in, its answer out.
#[async_trait]
pub trait Shell: Send {
    /// Reads the login banner up to the first prompt.
    async fn start(&mut self, timeout: Duration) -> Result<String, ShellError>;
    /// Sends `line` and returns the device's answer: what it printed after
    /// the echo of the line and before the next prompt, without `\r`.
    async fn command(&mut self, line: &str, timeout: Duration) -> Result<String, ShellError>;
    /// Whether the shell can still be used.
    fn is_open(&self) -> bool;
    /// Ends the dialog.
    async fn close(&mut self);
}

/// Removes terminal control sequences and carriage returns.
fn clean(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' | '\u{7}' => {}
            '\u{1b}' => {
                // CSI: ESC [ params final-byte; other escapes: ESC + one char.
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for n in chars.by_ref() {
                        if n.is_ascii_alphabetic() || n == '~' {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\u{8}' => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// Splits off the answer when `buf` ends with a prompt line.
fn take_answer(buf: &str, prompt: &Regex) -> Option<String> {
    let (body, last) = match buf.rfind('\n') {
        Some(i) => (&buf[..i], &buf[i + 1..]),
        None => ("", buf),
    };
    prompt.is_match(last).then(|| body.to_string())
}

/// Drops the echo of `line` from the start of an answer.
fn strip_echo(answer: &str, line: &str) -> String {
    let line = line.trim();
    match answer.split_once('\n') {
        Some((first, rest)) if first.trim_end().ends_with(line) => rest.to_string(),
        None if answer.trim_end().ends_with(line) => String::new(),
        _ => answer.to_string(),
    }
}

/// A shell on an SSH channel (owning its connection).
pub struct SshShell {
    connection: Option<Connection>,
    channel: Channel<Msg>,
    prompt: Regex,
    buf: String,
    open: bool,
}

impl SshShell {
    /// Wraps an open shell channel of `connection`; `prompt` matches a whole prompt line.
    #[must_use]
    pub fn new(connection: Connection, channel: Channel<Msg>, prompt: Regex) -> Self {
        Self {
            connection: Some(connection),
            channel,
            prompt,
            buf: String::new(),
            open: true,
        }
    }

    async fn read_to_prompt(&mut self, timeout: Duration) -> Result<String, ShellError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(answer) = take_answer(&self.buf, &self.prompt) {
                self.buf.clear();
                return Ok(answer);
            }
            match tokio::time::timeout_at(deadline, self.channel.wait()).await {
                Err(_) => return Err(ShellError::Timeout),
                Ok(Some(ChannelMsg::Data { data }))
                | Ok(Some(ChannelMsg::ExtendedData { data, .. })) => {
                    self.buf.push_str(&clean(&String::from_utf8_lossy(&data)));
                }
                Ok(Some(ChannelMsg::Eof | ChannelMsg::Close | ChannelMsg::ExitStatus { .. }))
                | Ok(None) => {
                    self.open = false;
                    return Err(ShellError::Closed(
                        "the device closed the CLI session".into(),
                    ));
                }
                Ok(Some(_)) => {}
            }
        }
    }
}

#[async_trait]
impl Shell for SshShell {
    async fn start(&mut self, timeout: Duration) -> Result<String, ShellError> {
        self.read_to_prompt(timeout).await
    }

    async fn command(&mut self, line: &str, timeout: Duration) -> Result<String, ShellError> {
        if !self.open {
            return Err(ShellError::Closed("the CLI session is closed".into()));
        }
        self.channel
            .data_bytes(format!("{line}\n").into_bytes())
            .await
            .map_err(|e| {
                self.open = false;
                ShellError::Closed(format!("cannot send to the device: {e}"))
            })?;
        match self.read_to_prompt(timeout).await {
            Ok(answer) => Ok(strip_echo(&answer, line)),
            Err(e) => {
                // A late answer would be read as the next command's: this
                // dialog is out of step, the session reconnects for the next.
                self.open = false;
                Err(e)
            }
        }
    }

    fn is_open(&self) -> bool {
        self.open && self.connection.as_ref().is_some_and(|c| !c.is_closed())
    }

    async fn close(&mut self) {
        self.open = false;
        let _ = self.channel.close().await;
        if let Some(c) = self.connection.take() {
            c.close().await;
        }
    }
}

/// A shell that replays a recorded transcript: the device's side of a
/// session, prompt lines carrying the commands typed after them.
///
/// A transcript is the text a terminal showed: a banner, then for each
/// command the prompt line with the command (`leaf1(config)#interface Ethernet1`)
/// and the device's answer lines. Lines starting with `#~` are comments.
/// [`Shell::command`] fails with [`ShellError::Unexpected`] when the driver
/// sends another command than the next one recorded, so a replay proves the
/// exact commands a driver sends. An answer that is the single line `#!hang`
/// never comes: the command times out (to test command timeouts).
/// Clones share the transcript: keep one to check what is left.
#[derive(Clone)]
pub struct ReplayShell {
    banner: String,
    steps: Arc<Mutex<VecDeque<(String, String)>>>,
    open: bool,
}

impl ReplayShell {
    /// Parses a transcript with the platform's prompt regex.
    ///
    /// # Panics
    /// When the prompt regex does not compile (a bug in the platform table).
    #[must_use]
    pub fn new(transcript: &str, prompt: &str) -> Self {
        // A prompt line is a prompt followed by what was typed.
        let prompt = Regex::new(prompt).expect("platform prompt regex");
        let mut banner = String::new();
        let mut steps: VecDeque<(String, String)> = VecDeque::new();
        for line in transcript.lines() {
            if line.starts_with("#~") {
                continue;
            }
            let typed = (1..=line.len())
                .filter(|&i| line.is_char_boundary(i))
                .find(|&i| prompt.is_match(&line[..i]))
                .map(|i| line[i..].to_string());
            match (typed, steps.back_mut()) {
                (Some(cmd), _) => steps.push_back((cmd.trim().to_string(), String::new())),
                (None, Some((_, answer))) => {
                    answer.push_str(line);
                    answer.push('\n');
                }
                (None, None) => {
                    banner.push_str(line);
                    banner.push('\n');
                }
            }
        }
        // The last prompt line types nothing: it only closes the last answer.
        if steps
            .back()
            .is_some_and(|(c, a)| c.is_empty() && a.is_empty())
        {
            steps.pop_back();
        }
        Self {
            banner,
            steps: Arc::new(Mutex::new(steps)),
            open: true,
        }
    }

    /// The commands not yet replayed.
    #[must_use]
    pub fn remaining(&self) -> Vec<String> {
        self.steps().iter().map(|(c, _)| c.clone()).collect()
    }

    fn steps(&self) -> std::sync::MutexGuard<'_, VecDeque<(String, String)>> {
        self.steps.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl Shell for ReplayShell {
    async fn start(&mut self, _timeout: Duration) -> Result<String, ShellError> {
        Ok(self.banner.clone())
    }

    async fn command(&mut self, line: &str, timeout: Duration) -> Result<String, ShellError> {
        let step = {
            let mut steps = self.steps();
            match steps.front() {
                Some((cmd, _)) if cmd == line.trim() => steps.pop_front(),
                _ => None,
            }
        };
        match step {
            Some((_, answer)) if answer.trim() == "#!hang" => {
                tokio::time::sleep(timeout).await;
                Err(ShellError::Timeout)
            }
            Some((_, answer)) => Ok(answer),
            None => Err(ShellError::Unexpected(match self.steps().front() {
                Some((cmd, _)) => format!("sent {line:?}, the transcript expects {cmd:?}"),
                None => format!("sent {line:?} after the end of the transcript"),
            })),
        }
    }

    fn is_open(&self) -> bool {
        self.open
    }

    async fn close(&mut self) {
        self.open = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_terminal_noise_and_finds_the_prompt() {
        let p = Regex::new(super::super::platform::FRR_CLI.prompt).unwrap();
        let raw = "show x\r\n\u{1b}[?2004lline 1\r\nvm(config-router)# ";
        let buf = clean(raw);
        let answer = take_answer(&buf, &p).unwrap();
        assert_eq!(strip_echo(&answer, "show x"), "line 1");
        assert!(take_answer("line 1\npartial out", &p).is_none());
    }

    #[tokio::test]
    async fn replays_commands_in_order_and_refuses_others() {
        let t = "Hello\nvm# terminal length 0\nvm# show version\nFRR 8.4\nvm# \n";
        let mut s = ReplayShell::new(t, super::super::platform::FRR_CLI.prompt);
        let d = Duration::from_secs(1);
        assert_eq!(s.start(d).await.unwrap(), "Hello\n");
        assert_eq!(s.command("terminal length 0", d).await.unwrap(), "");
        let e = s.command("show running", d).await.unwrap_err();
        assert!(matches!(e, ShellError::Unexpected(_)), "{e:?}");
        assert_eq!(s.command("show version", d).await.unwrap(), "FRR 8.4\n");
        assert!(s.remaining().is_empty());
    }
}

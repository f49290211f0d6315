//! Errors of the Wasm runtime: loading, compiling, linking and calling plugins.

use std::path::PathBuf;
use std::time::Duration;

/// A `Result` whose error is a runtime [`Error`].
pub type RuntimeResult<T> = Result<T, Error>;

/// What went wrong while loading or calling a plugin.
///
/// Every variant names the plugin (its file or reference) so that the message
/// stands on its own in a log line or a Kubernetes condition.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The plugin file could not be read.
    #[error("cannot read plugin {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not a WebAssembly component.
    #[error("plugin {plugin} is not a WebAssembly component: {reason}")]
    NotAComponent {
        /// The plugin.
        plugin: String,
        /// Why, and what to do.
        reason: String,
    },
    /// The component failed to validate or compile.
    #[error("plugin {plugin} failed to compile: {detail}")]
    Compile {
        /// The plugin.
        plugin: String,
        /// The compiler's message.
        detail: String,
    },
    /// The compiled-artifact cache could not be used.
    #[error("compiled-plugin cache {path}: {detail}")]
    Cache {
        /// The cache directory or file.
        path: PathBuf,
        /// What failed.
        detail: String,
    },
    /// The component needs something the host does not provide, or does not
    /// implement the `naas:plugin/plugin` world.
    #[error("plugin {plugin} cannot be linked: {detail}")]
    Link {
        /// The plugin.
        plugin: String,
        /// The linker's message (e.g. the missing import).
        detail: String,
    },
    /// A call ran past its deadline and was stopped.
    #[error(
        "plugin {plugin}: `{call}` did not finish within {timeout:?} and was stopped; \
         raise the plugin's timeout if it is legitimately slow"
    )]
    Timeout {
        /// The plugin.
        plugin: String,
        /// The export being called.
        call: &'static str,
        /// The deadline.
        timeout: Duration,
    },
    /// A call tried to use more memory than the plugin is allowed.
    #[error(
        "plugin {plugin}: `{call}` exceeded its memory limit of {limit_mib} MiB and was stopped"
    )]
    MemoryLimit {
        /// The plugin.
        plugin: String,
        /// The export being called.
        call: &'static str,
        /// The limit in MiB.
        limit_mib: usize,
    },
    /// The plugin trapped (a panic, an `unreachable`, an out-of-bounds access...).
    #[error("plugin {plugin}: `{call}` crashed: {detail}")]
    Trap {
        /// The plugin.
        plugin: String,
        /// The export being called.
        call: &'static str,
        /// The trap and whatever the plugin wrote to stderr.
        detail: String,
    },
    /// A call returned more bytes than allowed.
    #[error(
        "plugin {plugin}: `{call}` returned {bytes} bytes, more than the limit of {limit} bytes"
    )]
    OutputTooLarge {
        /// The plugin.
        plugin: String,
        /// The export being called.
        call: &'static str,
        /// Bytes returned.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// `describe` returned something unusable.
    #[error("plugin {plugin}: describe() is invalid: {detail}")]
    BadDescribe {
        /// The plugin.
        plugin: String,
        /// What is wrong.
        detail: String,
    },
    /// The limits asked for a plugin are out of range.
    #[error("invalid plugin limits: {0}")]
    Limits(String),
    /// The engine could not be set up.
    #[error("cannot set up the Wasm engine: {0}")]
    Engine(String),
    /// The host itself panicked while running plugin work. The panic was
    /// contained to that one job; it is a bug in naas.
    #[error(
        "the host failed while running plugin work: {0}; this is a bug in naas, please report it"
    )]
    HostPanic(String),
}

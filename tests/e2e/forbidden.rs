//! The suite's log subscriber, which also keeps every log line that reports an RBAC refusal (`… is forbidden: User … cannot …`), so that a scenario run as the operator's ServiceAccount can assert it met none.

use std::fmt::Write;
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// The refusals logged so far.
static REFUSALS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Logs to the test output (`NAAS_LOG`, default `warn`) and keeps refusals.
pub fn init_logs() {
    use tracing_subscriber::Layer;
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("NAAS_LOG").unwrap_or_else(|_| "warn".into());
    // Refusals are kept whatever NAAS_LOG shows.
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_test_writer()
                .with_filter(filter),
        )
        .with(Refusals.with_filter(tracing_subscriber::filter::LevelFilter::WARN))
        .try_init();
}

/// The refusals logged so far (their lines).
pub fn refusals() -> Vec<String> {
    REFUSALS.lock().unwrap().clone()
}

struct Refusals;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Refusals {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut line = Line(String::new());
        event.record(&mut line);
        let text = line.0;
        // RBAC's words: `… is forbidden: User "…" cannot <verb> resource …`.
        if text.contains("is forbidden: User") {
            REFUSALS.lock().unwrap().push(text);
        }
    }
}

struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
}

//! A [`Host`] for plugins' native unit tests, rendering templates like the real host.

use std::cell::RefCell;

use minijinja::Environment;
use minijinja::value::{Serde, Value};

use crate::plugin::{Host, LogLevel};

/// Renders templates with the host's minijinja settings (strict undefined,
/// `trim_blocks`, `lstrip_blocks`, `keep_trailing_newline`, no auto-escape,
/// fuel) and records log lines.
#[derive(Debug)]
pub struct TestHost {
    env: Environment<'static>,
    logs: RefCell<Vec<(LogLevel, String)>>,
}

impl Default for TestHost {
    fn default() -> Self {
        Self::new()
    }
}

impl TestHost {
    /// A host with the real host's template dialect.
    #[must_use]
    pub fn new() -> Self {
        Self {
            env: crate::templates::environment(),
            logs: RefCell::new(Vec::new()),
        }
    }

    /// The log lines written so far.
    #[must_use]
    pub fn logs(&self) -> Vec<(LogLevel, String)> {
        self.logs.borrow().clone()
    }
}

impl Host for TestHost {
    fn log(&self, level: LogLevel, message: &str) {
        self.logs.borrow_mut().push((level, message.to_string()));
    }

    fn render_template(&self, template: &str, vars: &serde_json::Value) -> Result<String, String> {
        self.env
            .render_str(template, Value::from(Serde(vars)))
            .map_err(|e| format!("{e:#}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_with_the_host_settings() {
        let host = TestHost::new();
        let out = host
            .render_template(
                "{% for p in ports %}\n  {% if p %}\nx {{ p }}\n  {% endif %}\n{% endfor %}\n",
                &json!({"ports": ["a<b"]}),
            )
            .unwrap();
        assert_eq!(out, "x a<b\n");
        let err = host
            .render_template("{{ missing }}", &json!({}))
            .unwrap_err();
        assert!(err.contains("undefined"), "{err}");
        host.log(LogLevel::Warn, "careful");
        assert_eq!(host.logs(), [(LogLevel::Warn, "careful".to_string())]);
    }
}

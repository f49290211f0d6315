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
    overrides: std::collections::BTreeMap<String, String>,
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
            overrides: std::collections::BTreeMap::new(),
        }
    }

    /// Overrides the template called `name` with `text`, as a deployment does.
    #[must_use]
    pub fn with_override(mut self, name: &str, text: &str) -> Self {
        self.overrides.insert(name.to_string(), text.to_string());
        self
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
            .map_err(|e| crate::templates::describe_error(&e))
    }

    fn render_named_template(
        &self,
        name: &str,
        default: &str,
        vars: &serde_json::Value,
    ) -> Result<String, String> {
        match self.overrides.get(name) {
            Some(text) => self
                .render_template(text, vars)
                .map_err(|e| format!("template override {name}: {e}")),
            None => self.render_template(default, vars),
        }
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
        let host = host.with_override("x.j2", "over {{ ports[0] }}");
        let vars = json!({"ports": ["p1"]});
        assert_eq!(
            host.render_named_template("x.j2", "built-in", &vars)
                .unwrap(),
            "over p1"
        );
        assert_eq!(
            host.render_named_template("y.j2", "built-in", &vars)
                .unwrap(),
            "built-in"
        );
        host.log(LogLevel::Warn, "careful");
        assert_eq!(host.logs(), [(LogLevel::Warn, "careful".to_string())]);
    }
}

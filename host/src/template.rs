//! Host-side Jinja rendering for the `render-template` import: one minijinja dialect for every plugin language.

use std::sync::{PoisonError, RwLock};

use minijinja::Environment;
use minijinja::value::{Serde, Value};

pub use naas_plugin_sdk::templates::DEFAULT_FUEL;

/// Renders plugin-supplied templates with fixed, sandboxed settings.
///
/// # Guarantees
/// The dialect is [`naas_plugin_sdk::templates::environment`]: undefined
/// variables are errors, a fuel limit bounds the work a template can make the
/// host do, templates cannot reach files, and the `xml` filter escapes XML.
/// Output is capped here.
#[derive(Debug)]
pub struct Templates {
    /// Compiled templates are kept, named by their own source text, so a
    /// plugin's few templates are parsed once, not on every call.
    env: RwLock<Environment<'static>>,
    max_output: usize,
}

/// Compiled templates kept per plugin; beyond this the cache starts afresh
/// (a plugin that generates templates on the fly cannot grow it unbounded).
const MAX_CACHED_TEMPLATES: usize = 64;

/// Why a template could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The variables were not a JSON object.
    #[error("template variables are not valid JSON: {0}")]
    Vars(serde_json::Error),
    /// Syntax error, undefined variable, fuel exhausted...
    #[error("{0:#}")]
    Render(minijinja::Error),
    /// The result is larger than allowed.
    #[error("rendered template is {bytes} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// Size of the output.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
}

impl Templates {
    /// Creates the renderer; `max_output` caps the bytes one rendering may produce.
    #[must_use]
    pub fn new(max_output: usize) -> Self {
        Self {
            env: RwLock::new(naas_plugin_sdk::templates::environment()),
            max_output,
        }
    }

    /// Renders `template` with `vars_json` (a JSON document, normally an object).
    ///
    /// # Errors
    /// Invalid JSON, a template error (with its line), exhausted fuel, or
    /// output over the cap.
    pub fn render(&self, template: &str, vars_json: &str) -> Result<String, TemplateError> {
        let vars: serde_json::Value =
            serde_json::from_str(vars_json).map_err(TemplateError::Vars)?;
        let vars = Value::from(Serde(vars));
        let out = self.render_cached(template, &vars)?;
        if out.len() > self.max_output {
            return Err(TemplateError::TooLarge {
                bytes: out.len(),
                limit: self.max_output,
            });
        }
        Ok(out)
    }

    fn render_cached(&self, template: &str, vars: &Value) -> Result<String, TemplateError> {
        {
            let env = self.env.read().unwrap_or_else(PoisonError::into_inner);
            if let Ok(t) = env.get_template(template) {
                return t.render(vars).map_err(TemplateError::Render);
            }
        }
        let mut env = self.env.write().unwrap_or_else(PoisonError::into_inner);
        if env.templates().count() >= MAX_CACHED_TEMPLATES {
            env.clear_templates();
        }
        env.add_template_owned(template.to_string(), template.to_string())
            .map_err(TemplateError::Render)?;
        let t = env.get_template(template).map_err(TemplateError::Render)?;
        t.render(vars).map_err(TemplateError::Render)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_with_block_trimming_and_keeps_trailing_newline() {
        let t = Templates::new(1024);
        let out = t
            .render(
                "{% for p in ports %}\ninterface {{ p }}\n{% endfor %}\nend\n",
                r#"{"ports":["Ethernet1","Ethernet2"]}"#,
            )
            .unwrap();
        assert_eq!(out, "interface Ethernet1\ninterface Ethernet2\nend\n");
    }

    #[test]
    fn undefined_variables_are_errors() {
        let t = Templates::new(1024);
        let e = t.render("{{ vlna }}", r#"{"vlan":1}"#).unwrap_err();
        assert!(e.to_string().contains("undefined"), "{e}");
    }

    #[test]
    fn runaway_templates_run_out_of_fuel() {
        let t = Templates::new(1 << 20);
        let bomb = "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}";
        let e = t.render(bomb, "{}").unwrap_err();
        assert!(e.to_string().contains("fuel"), "{e}");
    }

    #[test]
    fn cached_templates_render_with_new_variables_and_the_cache_is_bounded() {
        let t = Templates::new(1024);
        assert_eq!(t.render("v{{ x }}", r#"{"x":1}"#).unwrap(), "v1");
        assert_eq!(t.render("v{{ x }}", r#"{"x":2}"#).unwrap(), "v2");
        for i in 0..(MAX_CACHED_TEMPLATES * 2) {
            assert_eq!(
                t.render(&format!("{i}-{{{{ x }}}}"), r#"{"x":3}"#).unwrap(),
                format!("{i}-3")
            );
        }
        let cached = t.env.read().unwrap().templates().count();
        assert!(cached <= MAX_CACHED_TEMPLATES, "{cached} templates cached");
        let e = t.render("{% if %}", "{}").unwrap_err();
        assert!(e.to_string().contains("syntax error"), "{e}");
    }

    #[test]
    fn output_is_capped() {
        let t = Templates::new(10);
        let e = t.render("{{ 'x' * 100 }}", "{}").unwrap_err();
        assert!(
            matches!(
                e,
                TemplateError::TooLarge {
                    bytes: 100,
                    limit: 10
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn xml_filter_makes_xml_safe_text() {
        let t = Templates::new(1024);
        let out = t
            .render("{{ d | xml }}", r#"{"d":"a/b<c & \"d\""}"#)
            .unwrap();
        assert_eq!(out, "a/b&lt;c &amp; &quot;d&quot;");
    }
}

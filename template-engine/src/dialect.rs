//! The template dialect of `render-template`: minijinja with fixed settings, shared by the sandbox and plugins' native tests.

use minijinja::{Environment, UndefinedBehavior};

/// Fuel for one rendering (minijinja instructions). A device template uses a
/// few thousand; a runaway loop is stopped long before it costs the host a
/// noticeable amount of time.
pub const DEFAULT_FUEL: u64 = 2_000_000;

/// A minijinja environment with the naas dialect:
///
/// * undefined variables are errors (`UndefinedBehavior::Strict`);
/// * `trim_blocks`, `lstrip_blocks` and `keep_trailing_newline` are on, so
///   block tags on their own lines leave no blank lines;
/// * no auto-escaping; the `xml` filter escapes `& < > " '` for XML text and
///   attributes (the built-in `e` filter is HTML escaping and also escapes `/`);
/// * rendering is bounded by [`DEFAULT_FUEL`];
/// * there is no loader: templates cannot include files.
#[must_use]
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(DEFAULT_FUEL));
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    let mut syntax = minijinja::syntax::SyntaxConfig::builder();
    syntax
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true);
    if let Ok(syntax) = syntax.build() {
        // Building only fails for custom delimiters, and these are the defaults.
        env.set_syntax(syntax);
    }
    env.add_filter("xml", xml_escape);
    env
}

/// Escapes text for XML content and attribute values.
#[must_use]
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// An error as plugins and users see it: `line 4: undefined value: ...`,
/// then its causes. The line is the template's own; the template is named by
/// whoever reports the error (the plugin, or the override's ConfigMap key).
#[must_use]
pub fn describe_error(e: &minijinja::Error) -> String {
    let mut text = match e.line() {
        Some(line) => format!("line {line}: {}", e.kind()),
        None => e.kind().to_string(),
    };
    if let Some(detail) = e.detail() {
        text.push_str(": ");
        text.push_str(detail);
    }
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_filter_escapes_markup_but_not_slashes() {
        let env = environment();
        let out = env
            .render_str(
                "{{ d | xml }}",
                minijinja::context! { d => "Ethernet1/1 <a> & 'b' \"c\"" },
            )
            .unwrap();
        assert_eq!(
            out,
            "Ethernet1/1 &lt;a&gt; &amp; &apos;b&apos; &quot;c&quot;"
        );
    }

    #[test]
    fn block_tags_leave_no_blank_lines() {
        let env = environment();
        let out = env
            .render_str(
                "{% for p in ps %}\n{{ p }}\n{% endfor %}\nend\n",
                minijinja::context! { ps => vec![1, 2] },
            )
            .unwrap();
        assert_eq!(out, "1\n2\nend\n");
    }

    #[test]
    fn errors_name_their_line_and_kind() {
        let env = environment();
        let e = env
            .render_str("a\n\n{{ missing }}", minijinja::context! {})
            .unwrap_err();
        let text = describe_error(&e);
        assert!(text.starts_with("line 3: undefined value"), "{text}");
        let e = env
            .render_str("{% for x in y %", minijinja::context! {})
            .unwrap_err();
        assert!(
            describe_error(&e).starts_with("line 1: syntax error"),
            "{}",
            describe_error(&e)
        );
    }
}

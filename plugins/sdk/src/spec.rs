//! Reading a service's JSON `spec` field by field, collecting every violation with its path.

use serde_json::{Map, Value};

use crate::types::Violation;

/// Violations collected while a service is checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Violations(Vec<Violation>);

impl Violations {
    /// No violations yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a violation on `field`.
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(Violation::new(field, message));
    }

    /// Records violations found elsewhere.
    pub fn extend(&mut self, more: impl IntoIterator<Item = Violation>) {
        self.0.extend(more);
    }

    /// Whether nothing was recorded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The violations recorded so far.
    #[must_use]
    pub fn as_slice(&self) -> &[Violation] {
        &self.0
    }

    /// `Ok(value)` when nothing was recorded, else every violation.
    ///
    /// # Errors
    /// The recorded violations.
    pub fn into_result<T>(self, value: T) -> Result<T, Vec<Violation>> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.0)
        }
    }

    /// The recorded violations.
    #[must_use]
    pub fn into_vec(self) -> Vec<Violation> {
        self.0
    }
}

/// Parses a service's `spec` (JSON text), which must be an object.
///
/// # Errors
/// One violation on `spec` when the text is not a JSON object.
pub fn parse_spec(spec: &str) -> Result<Map<String, Value>, Vec<Violation>> {
    match serde_json::from_str::<Value>(spec) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(vec![Violation::new(
            "spec",
            format!("spec must be an object, got {}", describe(&other)),
        )]),
        Err(e) => Err(vec![Violation::new(
            "spec",
            format!("spec is not valid JSON: {e}"),
        )]),
    }
}

/// Describes a JSON value for a message: its type and, if short, the value.
#[must_use]
pub fn describe(value: &Value) -> String {
    let kind = match value {
        Value::Null => return "null".to_string(),
        Value::Bool(b) => return format!("the boolean {b}"),
        Value::Number(_) => "the number",
        Value::String(_) => "the string",
        Value::Array(a) => return format!("a list of {} item(s)", a.len()),
        Value::Object(_) => return "an object".to_string(),
    };
    let text = value.to_string();
    if text.chars().count() > 40 {
        let short: String = text.chars().take(40).collect();
        format!("{kind} {short}...")
    } else {
        format!("{kind} {text}")
    }
}

/// Checks a free-text field: at most `max_chars` characters, no control
/// characters (so no newlines). Records a violation on `field` otherwise.
pub fn check_line(field: &str, text: &str, max_chars: usize, errs: &mut Violations) -> bool {
    let len = text.chars().count();
    if len > max_chars {
        errs.push(
            field,
            format!("{field} is {len} characters long; shorten it to at most {max_chars}"),
        );
        return false;
    }
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        errs.push(
            field,
            format!(
                "{field} must be one line of printable text; remove the character {:?}",
                c
            ),
        );
        return false;
    }
    true
}

/// A JSON object being read, with the path used to name its fields.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    path: &'a str,
}

impl<'a> Fields<'a> {
    /// Reads `map`, whose own path is `path` (e.g. `spec` or `spec.neighbors[0]`).
    #[must_use]
    pub fn new(map: &'a Map<String, Value>, path: &'a str) -> Self {
        Self { map, path }
    }

    /// The path of this object.
    #[must_use]
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// The path of field `key`, e.g. `spec.vlan`.
    #[must_use]
    pub fn field(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    /// Records a violation for every key not in `allowed`.
    pub fn reject_unknown(&self, allowed: &[&str], errs: &mut Violations) {
        for key in self.map.keys() {
            if !allowed.contains(&key.as_str()) {
                errs.push(
                    self.field(key),
                    format!(
                        "unknown field {key:?} in {}; the allowed fields are: {}",
                        self.path,
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    /// The value of `key`; `null` counts as absent.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn missing(&self, key: &str, what: &str, errs: &mut Violations) {
        errs.push(
            self.field(key),
            format!("{} is required: set it to {what}", self.field(key)),
        );
    }

    fn wrong(&self, key: &str, what: &str, got: &Value, errs: &mut Violations) {
        errs.push(
            self.field(key),
            format!("{} must be {what}, got {}", self.field(key), describe(got)),
        );
    }

    /// An optional string field.
    pub fn string(&self, key: &str, errs: &mut Violations) -> Option<&'a str> {
        match self.get(key)? {
            Value::String(s) => Some(s),
            other => {
                self.wrong(key, "a string", other, errs);
                None
            }
        }
    }

    /// A required, non-empty string field; `what` says what it should be.
    pub fn required_string(&self, key: &str, what: &str, errs: &mut Violations) -> Option<&'a str> {
        match self.get(key) {
            None => {
                self.missing(key, what, errs);
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.missing(key, what, errs);
                None
            }
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                self.wrong(key, what, other, errs);
                None
            }
        }
    }

    /// An optional integer field in `min..=max`.
    pub fn integer(&self, key: &str, min: u64, max: u64, errs: &mut Violations) -> Option<u64> {
        let value = self.get(key)?;
        let what = format!("a whole number from {min} to {max}");
        match value.as_u64() {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.wrong(key, &what, value, errs);
                None
            }
        }
    }

    /// A required integer field in `min..=max`.
    pub fn required_integer(
        &self,
        key: &str,
        min: u64,
        max: u64,
        errs: &mut Violations,
    ) -> Option<u64> {
        if self.get(key).is_none() {
            self.missing(key, &format!("a whole number from {min} to {max}"), errs);
            return None;
        }
        self.integer(key, min, max, errs)
    }

    /// An optional boolean field.
    pub fn boolean(&self, key: &str, errs: &mut Violations) -> Option<bool> {
        match self.get(key)? {
            Value::Bool(b) => Some(*b),
            other => {
                self.wrong(key, "true or false", other, errs);
                None
            }
        }
    }

    /// An optional string field that must be one of `choices`.
    pub fn choice(
        &self,
        key: &str,
        choices: &[&'static str],
        errs: &mut Violations,
    ) -> Option<&'static str> {
        let value = self.get(key)?;
        let found = value
            .as_str()
            .and_then(|s| choices.iter().copied().find(|c| *c == s));
        if found.is_none() {
            self.wrong(key, &format!("one of {}", choices.join(", ")), value, errs);
        }
        found
    }

    /// An optional list field.
    pub fn array(&self, key: &str, errs: &mut Violations) -> Option<&'a [Value]> {
        match self.get(key)? {
            Value::Array(items) => Some(items),
            other => {
                self.wrong(key, "a list", other, errs);
                None
            }
        }
    }

    /// An optional object field, as the map.
    pub fn object(&self, key: &str, errs: &mut Violations) -> Option<&'a Map<String, Value>> {
        match self.get(key)? {
            Value::Object(map) => Some(map),
            other => {
                self.wrong(key, "an object", other, errs);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: Value) -> (Map<String, Value>, Violations) {
        (
            v.as_object().cloned().unwrap_or_default(),
            Violations::new(),
        )
    }

    #[test]
    fn spec_must_be_an_object() {
        assert_eq!(parse_spec("[]").unwrap_err()[0].field, "spec");
        assert!(
            parse_spec("{").unwrap_err()[0]
                .message
                .contains("not valid JSON")
        );
        assert!(parse_spec("{}").is_ok());
    }

    #[test]
    fn reports_missing_wrong_and_unknown_fields_with_paths() {
        let (map, mut errs) = read(json!({"vlan": "ten", "mode": "hybrid", "extra": 1, "on": 3}));
        let f = Fields::new(&map, "spec");
        f.reject_unknown(&["vlan", "mode", "on", "device"], &mut errs);
        assert_eq!(f.required_integer("vlan", 1, 4094, &mut errs), None);
        assert_eq!(f.choice("mode", &["access", "trunk"], &mut errs), None);
        assert_eq!(f.boolean("on", &mut errs), None);
        assert_eq!(
            f.required_string("device", "a device name", &mut errs),
            None
        );
        let got: Vec<_> = errs.as_slice().iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            got,
            [
                "spec.extra",
                "spec.vlan",
                "spec.mode",
                "spec.on",
                "spec.device"
            ]
        );
        assert!(errs.as_slice()[1].message.contains("the string \"ten\""));
        assert!(errs.as_slice()[4].message.contains("is required"));
    }

    #[test]
    fn integer_ranges_and_null_as_absent() {
        let (map, mut errs) = read(json!({"a": 0, "b": 4094, "c": -1, "d": 1.5, "e": null}));
        let f = Fields::new(&map, "spec");
        assert_eq!(f.integer("a", 1, 10, &mut errs), None);
        assert_eq!(f.integer("b", 1, 4094, &mut errs), Some(4094));
        assert_eq!(f.integer("c", 1, 10, &mut errs), None);
        assert_eq!(f.integer("d", 1, 10, &mut errs), None);
        assert_eq!(f.integer("e", 1, 10, &mut errs), None);
        assert_eq!(errs.as_slice().len(), 3);
    }

    #[test]
    fn check_line_refuses_newlines_and_long_text() {
        let mut errs = Violations::new();
        assert!(check_line("spec.d", "uplink to core", 10_000, &mut errs));
        assert!(!check_line("spec.d", "two\nlines", 100, &mut errs));
        assert!(!check_line("spec.d", &"x".repeat(241), 240, &mut errs));
        assert!(errs.as_slice()[1].message.contains("at most 240"));
    }
}

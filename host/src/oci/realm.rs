//! The token-realm rule: parsing `WWW-Authenticate` challenges for their Bearer realms, and refusing plain-HTTP realms that `--insecure-registry` does not allow.
//!
//! A registry with token auth answers an anonymous `GET /v2/` with
//! `401` and `WWW-Authenticate: Bearer realm="https://auth.example/token",
//! service="…"`; `oci-client` then sends the user's basic credentials to that
//! realm. [`refused_realm`] tells which realm must not be asked: one reached
//! over plain HTTP whose `host:port` is not an `--insecure-registry` entry.

use reqwest::Url;

/// One challenge of a `WWW-Authenticate` header: its auth scheme as sent,
/// and its parameters (names lower-cased, values unquoted and unescaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Challenge {
    /// `Bearer`, `Basic`... (compare ignoring case).
    pub(super) scheme: String,
    /// `(name, value)` in order; a token68 credential is not kept.
    pub(super) params: Vec<(String, String)>,
}

/// Parses a `WWW-Authenticate` header value into its challenges (RFC 9110
/// §11.6.1: `1#( auth-scheme [ 1*SP ( token68 / #auth-param ) ] )`).
///
/// Lenient, as a client must be: scheme and parameter names in any case,
/// parameters in any order, quoted values with commas and `\"` escapes,
/// unquoted values up to the next comma or space, missing commas between
/// parameters; text that is none of these is skipped up to the next comma.
pub(super) fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut p = Cursor {
        s: header.as_bytes(),
        i: 0,
    };
    let mut out = Vec::new();
    loop {
        p.skip(|b| b == b',' || is_ws(b));
        if p.eof() {
            return out;
        }
        let Some(scheme) = p.token() else {
            p.skip_item();
            continue;
        };
        let mut challenge = Challenge {
            scheme,
            params: Vec::new(),
        };
        let mut first = true;
        loop {
            p.skip(is_ws);
            let start = p.i;
            if let Some(param) = p.param() {
                challenge.params.push(param);
            } else {
                p.i = start;
                // A token68 may only follow the scheme directly.
                if !(first && p.token68()) {
                    p.i = start;
                    break;
                }
            }
            first = false;
            p.skip(is_ws);
            match p.peek() {
                Some(b',') => p.skip(|b| b == b',' || is_ws(b)),
                None => break,
                // A parameter without its comma: read on.
                Some(_) => {}
            }
        }
        out.push(challenge);
    }
}

/// The `realm` of every Bearer challenge in `headers` (each a
/// `WWW-Authenticate` value); Bearer challenges without one are left out, as
/// no client can ask them for a token.
pub(super) fn bearer_realms<'a>(headers: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    headers
        .into_iter()
        .flat_map(parse_challenges)
        .filter(|c| c.scheme.eq_ignore_ascii_case("bearer"))
        .flat_map(|c| {
            c.params
                .into_iter()
                .filter(|(k, _)| k == "realm")
                .map(|(_, v)| v)
        })
        .collect()
}

/// The `host:port` of `realm` when it is a plain-HTTP URL (port 80 when it
/// names none); `None` for HTTPS and for anything that is no URL (which no
/// client can send a request to).
pub(super) fn plain_http_host(realm: &str) -> Option<String> {
    let url = Url::parse(realm).ok()?;
    if url.scheme() != "http" {
        return None;
    }
    let host = url.host_str()?;
    Some(format!(
        "{host}:{}",
        url.port_or_known_default().unwrap_or(80)
    ))
}

/// Whether the `--insecure-registry` entries allow plain HTTP to
/// `host_port` (as [`plain_http_host`] gives it): an entry equal to it
/// (ignoring case), or, for port 80, an entry naming the host alone.
pub(super) fn allowed(host_port: &str, insecure: &[String]) -> bool {
    let bare = host_port.strip_suffix(":80");
    insecure.iter().map(|e| e.trim()).any(|e| {
        e.eq_ignore_ascii_case(host_port) || bare.is_some_and(|h| e.eq_ignore_ascii_case(h))
    })
}

/// The `host:port` of `realm` when it is a plain-HTTP URL that no
/// `--insecure-registry` entry allows: credentials and token requests must
/// not go there.
pub(super) fn refused_realm(realm: &str, insecure: &[String]) -> Option<String> {
    plain_http_host(realm).filter(|h| !allowed(h, insecure))
}

fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn eof(&self) -> bool {
        self.i >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip(&mut self, pred: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&pred) {
            self.i += 1;
        }
    }

    fn text(&self, from: usize) -> String {
        String::from_utf8_lossy(&self.s[from..self.i]).into_owned()
    }

    /// Skips unparseable text up to the next comma outside quotes.
    fn skip_item(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b',' => return,
                b'"' => {
                    let _ = self.quoted();
                }
                _ => self.i += 1,
            }
        }
    }

    fn token(&mut self) -> Option<String> {
        let start = self.i;
        self.skip(is_tchar);
        (self.i > start).then(|| self.text(start))
    }

    /// `token68` (`1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`),
    /// ending the challenge's parameters (at a comma, a space or the end).
    fn token68(&mut self) -> bool {
        let start = self.i;
        self.skip(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
        if self.i == start {
            return false;
        }
        self.skip(|b| b == b'=');
        matches!(self.peek(), None | Some(b',' | b' ' | b'\t'))
    }

    /// `token BWS "=" BWS ( token / quoted-string )`, the name lower-cased.
    fn param(&mut self) -> Option<(String, String)> {
        let name = self.token()?.to_ascii_lowercase();
        self.skip(is_ws);
        if self.peek() != Some(b'=') {
            return None;
        }
        self.i += 1;
        self.skip(is_ws);
        let value = match self.peek() {
            Some(b'"') => self.quoted(),
            // `abc==` is a token68, `a=,` no parameter.
            None | Some(b'=' | b',') => return None,
            Some(_) => {
                let start = self.i;
                self.skip(|b| b != b',' && b != b'"' && !is_ws(b));
                self.text(start)
            }
        };
        Some((name, value))
    }

    /// A quoted string from its opening quote; `\x` stands for `x`. An
    /// unterminated one runs to the end.
    fn quoted(&mut self) -> String {
        self.i += 1;
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(next) = self.peek() {
                        out.push(next);
                        self.i += 1;
                    }
                }
                _ => out.push(b),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(c: &Challenge) -> Vec<(&str, &str)> {
        c.params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn a_distribution_challenge_parses() {
        let c = parse_challenges(
            r#"Bearer realm="http://127.0.0.1:5001/token",service="naas-test-registry",scope="repository:vendor/x:pull,push""#,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, "Bearer");
        assert_eq!(
            params(&c[0]),
            [
                ("realm", "http://127.0.0.1:5001/token"),
                ("service", "naas-test-registry"),
                ("scope", "repository:vendor/x:pull,push"),
            ]
        );
    }

    #[test]
    fn quoted_values_keep_commas_spaces_and_escapes() {
        let c = parse_challenges(
            r#"Bearer service="a, \"b\" c" , realm = "https://auth.example/t?x=1,2""#,
        );
        assert_eq!(
            params(&c[0]),
            [
                ("service", r#"a, "b" c"#),
                ("realm", "https://auth.example/t?x=1,2")
            ]
        );
    }

    #[test]
    fn case_and_order_do_not_matter() {
        for header in [
            r#"bearer REALM="http://h/t",Service="s""#,
            r#"BEARER service="s", Realm="http://h/t""#,
            r#"Bearer realm=http://h/t, service=s"#,
            r#"Bearer   service="s"   realm="http://h/t""#,
        ] {
            assert_eq!(bearer_realms([header]), ["http://h/t"], "{header}");
        }
    }

    #[test]
    fn several_challenges_in_one_header_or_several() {
        let header = r#"Basic realm="Registry, with a comma", Bearer realm="http://t.example/token",service="r", Negotiate abc123==, Bearer realm="https://other/token""#;
        let c = parse_challenges(header);
        let schemes: Vec<&str> = c.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["Basic", "Bearer", "Negotiate", "Bearer"]);
        assert_eq!(params(&c[0]), [("realm", "Registry, with a comma")]);
        assert!(c[2].params.is_empty());
        assert_eq!(
            bearer_realms([header]),
            ["http://t.example/token", "https://other/token"]
        );
        assert_eq!(
            bearer_realms([r#"Basic realm="x""#, r#"Bearer realm="https://a/t""#]),
            ["https://a/t"]
        );
        // A Basic realm is a name shown to users, never a URL to call.
        assert!(bearer_realms([r#"Basic realm="http://h/t""#]).is_empty());
    }

    #[test]
    fn a_bearer_challenge_without_realm_names_none() {
        assert!(bearer_realms([r#"Bearer service="s",scope="x""#]).is_empty());
        assert!(bearer_realms(["Bearer"]).is_empty());
        assert!(bearer_realms([""]).is_empty());
        assert!(bearer_realms([r#"Bearer realm="#]).is_empty());
        // Garbage before a challenge is skipped up to the next comma.
        assert_eq!(
            bearer_realms([r#"=="x,y", Bearer realm="http://h/t""#]),
            ["http://h/t"]
        );
    }

    #[test]
    fn plain_http_realms_are_named_by_host_and_port() {
        assert_eq!(
            plain_http_host("http://127.0.0.1:5001/token").as_deref(),
            Some("127.0.0.1:5001")
        );
        assert_eq!(
            plain_http_host("HTTP://Auth.Example/token").as_deref(),
            Some("auth.example:80")
        );
        assert_eq!(
            plain_http_host("http://auth.example:80/token").as_deref(),
            Some("auth.example:80")
        );
        assert_eq!(
            plain_http_host("http://[::1]:8080/t").as_deref(),
            Some("[::1]:8080")
        );
        assert_eq!(plain_http_host("https://auth.example/token"), None);
        assert_eq!(plain_http_host("/token"), None);
    }

    #[test]
    fn insecure_registry_entries_allow_a_plain_http_realm() {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let realm = "http://tokens.example/token";
        assert_eq!(
            refused_realm(realm, &list(&["registry.example:5000"])).as_deref(),
            Some("tokens.example:80")
        );
        assert_eq!(refused_realm(realm, &list(&["tokens.example"])), None);
        assert_eq!(refused_realm(realm, &list(&["Tokens.Example:80"])), None);
        assert!(refused_realm(realm, &list(&["tokens.example:8080"])).is_some());

        let realm = "http://127.0.0.1:5001/token";
        assert!(refused_realm(realm, &list(&["127.0.0.1"])).is_some());
        assert!(refused_realm(realm, &list(&["127.0.0.1:5000"])).is_some());
        assert_eq!(refused_realm(realm, &list(&["127.0.0.1:5001"])), None);
        assert_eq!(refused_realm("https://127.0.0.1:5001/t", &[]), None);
    }
}

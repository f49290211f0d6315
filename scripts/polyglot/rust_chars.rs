//! Prints the character classes of this Rust toolchain's `core` that the
//! polyglot AccessPorts plugins (plugins/access-ports-py, plugins/access-ports-js)
//! need to match the Rust plugin byte for byte. Built and run by
//! scripts/build-polyglot.sh; not part of the workspace.
//!
//! Output, one class per line: `NAME START-END START-END ...` (hex code points):
//! * `escape`: characters that `{:?}` of a `str` writes as `\u{..}` (or `\t`,
//!   `\"`...): not printable or grapheme-extending;
//! * `whitespace`: `char::is_whitespace` (what `str::trim` removes);
//! * `control`: `char::is_control`.

fn ranges(pred: impl Fn(char) -> bool) -> String {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for c in (0..=0x10FFFF).filter_map(char::from_u32).filter(|&c| pred(c)) {
        let cp = c as u32;
        match out.last_mut() {
            Some(last) if last.1 + 1 == cp => last.1 = cp,
            _ => out.push((cp, cp)),
        }
    }
    out.iter()
        .map(|(a, b)| format!("{a:x}-{b:x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() {
    // `{:?}` of a one-character string is `"c"` exactly when `c` is not escaped
    // (checked at the start and in the middle of a string: they agree).
    let escaped = |c: char| {
        let alone = format!("{:?}", c.to_string()) != format!("\"{c}\"");
        let inner = format!("{:?}", format!("a{c}")) != format!("\"a{c}\"");
        assert_eq!(alone, inner, "escaping of U+{:04X} depends on its position", c as u32);
        alone
    };
    println!("escape {}", ranges(escaped));
    println!("whitespace {}", ranges(char::is_whitespace));
    println!("control {}", ranges(char::is_control));
}

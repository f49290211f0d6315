//! The exports of the template module (wasm32 only): allocate, render into a capped buffer.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{self, Write};

use minijinja::Environment;
use minijinja::value::{Serde, Value};

use crate::abi;

/// Compiled templates kept per module instance (one instance serves one
/// plugin evaluation); beyond this the cache starts afresh.
const MAX_CACHED_TEMPLATES: usize = 64;

thread_local! {
    static ENV: RefCell<Environment<'static>> = RefCell::new(crate::dialect::environment());
    /// The name each cached template source was given.
    static NAMES: RefCell<HashMap<String, String>> = RefCell::new(HashMap::new());
    /// The last answer, kept alive until the next call so the host can read it.
    static ANSWER: RefCell<(Vec<u8>, [u32; 3])> = const { RefCell::new((Vec::new(), [0; 3])) };
}

/// Allocates `len` bytes for the host to write into; `naas_render` takes them back.
#[unsafe(no_mangle)]
pub extern "C" fn naas_alloc(len: usize) -> *mut u8 {
    let mut buf = Vec::<u8>::with_capacity(len);
    let ptr = buf.as_mut_ptr();
    std::mem::forget(buf);
    ptr
}

/// Takes back a buffer from [`naas_alloc`] that the host filled with `len` bytes.
///
/// # Safety
/// `ptr` comes from `naas_alloc(len)` and the host wrote `len` bytes to it.
unsafe fn take(ptr: *mut u8, len: usize) -> Vec<u8> {
    // SAFETY: allocated by naas_alloc with capacity `len`, fully written by the host.
    unsafe { Vec::from_raw_parts(ptr, len, len) }
}

/// Renders the template with the variables; see [`crate::abi`].
///
/// # Safety
/// Both buffers come from [`naas_alloc`] and were filled by the host.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn naas_render(
    tpl_ptr: *mut u8,
    tpl_len: usize,
    vars_ptr: *mut u8,
    vars_len: usize,
    max_output: usize,
) -> *const u32 {
    // SAFETY: the contract of this function.
    let (template, vars) = unsafe { (take(tpl_ptr, tpl_len), take(vars_ptr, vars_len)) };
    let (code, text) = render(template, &vars, max_output);
    ANSWER.with_borrow_mut(|(buf, words)| {
        *buf = text;
        // Pointers and lengths fit in u32 on wasm32.
        *words = [code, buf.as_ptr() as u32, buf.len() as u32];
        words.as_ptr()
    })
}

fn render(template: Vec<u8>, vars: &[u8], max_output: usize) -> (u32, Vec<u8>) {
    ANSWER.with_borrow_mut(|(buf, _)| *buf = Vec::new());
    let vars: serde_json::Value = match serde_json::from_slice(vars) {
        Ok(v) => v,
        Err(e) => {
            return (
                abi::BAD_VARS,
                format!("template variables are not valid JSON: {e}").into_bytes(),
            );
        }
    };
    let Ok(template) = String::from_utf8(template) else {
        return (abi::ERROR, b"the template is not UTF-8".to_vec());
    };
    ENV.with_borrow_mut(|env| {
        let name = NAMES.with_borrow_mut(|names| {
            if let Some(name) = names.get(&template) {
                return Ok(name.clone());
            }
            if names.len() >= MAX_CACHED_TEMPLATES {
                names.clear();
                env.clear_templates();
            }
            let name = template_name(&template, names.len() + 1);
            env.add_template_owned(name.clone(), template.clone())?;
            names.insert(template, name.clone());
            Ok::<_, minijinja::Error>(name)
        });
        let name = match name {
            Ok(n) => n,
            Err(e) => return (abi::ERROR, crate::describe_error(&e).into_bytes()),
        };
        let t = match env.get_template(&name) {
            Ok(t) => t,
            Err(e) => return (abi::ERROR, crate::describe_error(&e).into_bytes()),
        };
        let mut out = Capped {
            buf: Vec::new(),
            max: max_output,
            overflowed: false,
        };
        match t.render_captured_to(Value::from(Serde(vars)), &mut out) {
            Ok(_) => (abi::OK, out.buf),
            Err(_) if out.overflowed => (
                abi::TOO_LARGE,
                format!("the output grew past {max_output} bytes").into_bytes(),
            ),
            Err(e) => (abi::ERROR, crate::describe_error(&e).into_bytes()),
        }
    })
}

/// How errors name a template: its first line, cut short, and a number
/// (`"interface {{ p.name }}"#2`), so that a message stays short whatever
/// the template's size.
fn template_name(source: &str, n: usize) -> String {
    let first = source.lines().next().unwrap_or_default();
    let mut short: String = first.chars().take(40).collect();
    if short.len() < source.len() {
        short.push('…');
    }
    format!("{short:?}#{n}")
}

/// A writer that refuses to grow past `max` bytes, so output is bounded as
/// it is produced, not after.
struct Capped {
    buf: Vec<u8>,
    max: usize,
    overflowed: bool,
}

impl Write for Capped {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > self.max {
            self.overflowed = true;
            return Err(io::Error::other("template output limit reached"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

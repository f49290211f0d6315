//! The contract between the host and the template module: export names and result codes.
//!
//! The host calls `naas_alloc(len) -> ptr` twice and writes the template and
//! the variables (JSON) into those buffers (the module takes ownership of
//! them), then `naas_render(tpl_ptr, tpl_len, vars_ptr, vars_len, max_output)
//! -> ptr`, which points at three little-endian `u32`: a result code, and the
//! pointer and length of the text (the output, or the error message). The
//! text stays valid until the next call.

/// Export that allocates a buffer of `len` bytes in the module's memory.
pub const ALLOC: &str = "naas_alloc";
/// Export that renders a template.
pub const RENDER: &str = "naas_render";
/// The module's linear memory.
pub const MEMORY: &str = "memory";

/// The template rendered; the text is the output.
pub const OK: u32 = 0;
/// The template failed (syntax, undefined variable, fuel...); the text says why.
pub const ERROR: u32 = 1;
/// The output grew past `max_output`; the text says how far it got.
pub const TOO_LARGE: u32 = 2;
/// The variables were not valid JSON; the text says why.
pub const BAD_VARS: u32 = 3;

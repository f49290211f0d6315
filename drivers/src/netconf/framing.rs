//! NETCONF message framing over SSH (RFC 6242): base:1.0 end-of-message `]]>]]>` and base:1.1 chunks, bounded.
//!
//! A [`Decoder`] is fed bytes as they arrive (any split) and yields whole
//! messages. Nothing the device sends can make it allocate without bound: a
//! chunk larger than [`Limits::max_chunk`] or a message larger than
//! [`Limits::max_message`] is refused with a [`FrameError`] before it is
//! buffered.

/// The end-of-message marker of base:1.0 framing.
pub const EOM: &[u8] = b"]]>]]>";

/// Which framing a session speaks: base:1.0 until both hellos name base:1.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `message]]>]]>` (RFC 6242 §4.3, for the hellos and base:1.0 peers).
    EndOfMessage,
    /// `\n#<len>\n<data>...\n##\n` (RFC 6242 §4.2).
    Chunked,
}

/// Size bounds on what a device may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest single chunk accepted (base:1.1).
    pub max_chunk: usize,
    /// The largest whole message accepted (either framing).
    pub max_message: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_chunk: 16 << 20,
            max_message: 64 << 20,
        }
    }
}

/// A framing violation or an oversize message from the device.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The bytes do not follow the framing.
    #[error("malformed NETCONF framing: {0}")]
    Malformed(String),
    /// A chunk or message is larger than allowed.
    #[error("the device sent a {what} of {size} bytes, more than the {limit} bytes allowed")]
    TooLarge {
        /// `chunk` or `message`.
        what: &'static str,
        /// The size announced or reached.
        size: u64,
        /// The limit.
        limit: usize,
    },
}

/// Encodes one message in `framing`.
#[must_use]
pub fn encode(framing: Framing, message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 16);
    match framing {
        Framing::EndOfMessage => {
            out.extend_from_slice(message.as_bytes());
            out.extend_from_slice(EOM);
        }
        Framing::Chunked => {
            if !message.is_empty() {
                out.extend_from_slice(format!("\n#{}\n", message.len()).as_bytes());
                out.extend_from_slice(message.as_bytes());
            }
            out.extend_from_slice(b"\n##\n");
        }
    }
    out
}

/// Turns a byte stream into messages, incrementally and within [`Limits`].
#[derive(Debug)]
pub struct Decoder {
    framing: Framing,
    limits: Limits,
    /// Bytes received and not yet consumed.
    buf: Vec<u8>,
    /// Chunks of the current base:1.1 message so far.
    message: Vec<u8>,
    /// How far `buf` was searched for `]]>]]>` already.
    scanned: usize,
}

impl Decoder {
    /// A decoder starting in base:1.0 framing (hellos are always base:1.0).
    #[must_use]
    pub fn new(limits: Limits) -> Self {
        Self {
            framing: Framing::EndOfMessage,
            limits,
            buf: Vec::new(),
            message: Vec::new(),
            scanned: 0,
        }
    }

    /// Switches framing (after the hellos); buffered bytes are decoded in the new one.
    pub fn set_framing(&mut self, framing: Framing) {
        self.framing = framing;
        self.scanned = 0;
    }

    /// The framing in use.
    #[must_use]
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Adds received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole message, `None` until one is complete.
    ///
    /// # Errors
    /// [`FrameError`] on broken framing or an oversize chunk or message; the
    /// session cannot continue after one.
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        match self.framing {
            Framing::EndOfMessage => self.next_eom(),
            Framing::Chunked => self.next_chunked(),
        }
    }

    fn next_eom(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        let from = self.scanned.saturating_sub(EOM.len() - 1);
        if let Some(i) = find(&self.buf[from..], EOM) {
            let end = from + i;
            let message = self.buf[..end].to_vec();
            self.buf.drain(..end + EOM.len());
            self.scanned = 0;
            return Ok(Some(message));
        }
        self.scanned = self.buf.len();
        if self.buf.len() > self.limits.max_message {
            return Err(FrameError::TooLarge {
                what: "message",
                size: self.buf.len() as u64,
                limit: self.limits.max_message,
            });
        }
        Ok(None)
    }

    fn next_chunked(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        loop {
            // Between messages a device may send stray whitespace after a
            // base:1.0 hello; skip it only when no message is under way.
            if self.message.is_empty() {
                let ws = self
                    .buf
                    .iter()
                    .take_while(|b| matches!(b, b' ' | b'\r' | b'\t'))
                    .count();
                self.buf.drain(..ws);
                while self.buf.len() >= 2 && self.buf[0] == b'\n' && self.buf[1] == b'\n' {
                    self.buf.remove(0);
                }
            }
            let Some(header) = self.chunk_header()? else {
                return Ok(None);
            };
            match header {
                Header::End(len) => {
                    self.buf.drain(..len);
                    if self.message.is_empty() {
                        return Err(FrameError::Malformed(
                            "end of message before any chunk".into(),
                        ));
                    }
                    return Ok(Some(std::mem::take(&mut self.message)));
                }
                Header::Chunk { header, size } => {
                    if self.buf.len() < header + size {
                        return Ok(None);
                    }
                    self.message
                        .extend_from_slice(&self.buf[header..header + size]);
                    self.buf.drain(..header + size);
                }
            }
        }
    }

    /// Parses the chunk header at the start of `buf`, if complete.
    fn chunk_header(&self) -> Result<Option<Header>, FrameError> {
        let b = &self.buf;
        if b.len() < 2 {
            return Ok(None);
        }
        if &b[..2] != b"\n#" {
            return Err(FrameError::Malformed(format!(
                "expected a chunk header \"\\n#\", got {:?}",
                String::from_utf8_lossy(&b[..b.len().min(16)])
            )));
        }
        if b.len() < 3 {
            return Ok(None);
        }
        if b[2] == b'#' {
            if b.len() < 4 {
                return Ok(None);
            }
            if b[3] != b'\n' {
                return Err(FrameError::Malformed(
                    "end-of-chunks not followed by LF".into(),
                ));
            }
            return Ok(Some(Header::End(4)));
        }
        // At most 10 digits (chunk-size <= 4294967295), then LF.
        let digits = b[2..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits > 10 {
            return Err(FrameError::Malformed(
                "chunk size longer than 10 digits".into(),
            ));
        }
        if 2 + digits == b.len() {
            return Ok(None);
        }
        if digits == 0 || b[2] == b'0' || b[2 + digits] != b'\n' {
            return Err(FrameError::Malformed(format!(
                "bad chunk size {:?}",
                String::from_utf8_lossy(&b[2..(3 + digits).min(b.len())])
            )));
        }
        let text = std::str::from_utf8(&b[2..2 + digits]).unwrap_or("0");
        let size: u64 = text.parse().unwrap_or(u64::MAX);
        if size > u64::from(u32::MAX) {
            return Err(FrameError::Malformed(format!(
                "chunk size {size} out of range"
            )));
        }
        if size > self.limits.max_chunk as u64 {
            return Err(FrameError::TooLarge {
                what: "chunk",
                size,
                limit: self.limits.max_chunk,
            });
        }
        let total = self.message.len() as u64 + size;
        if total > self.limits.max_message as u64 {
            return Err(FrameError::TooLarge {
                what: "message",
                size: total,
                limit: self.limits.max_message,
            });
        }
        Ok(Some(Header::Chunk {
            header: 3 + digits,
            size: usize::try_from(size).unwrap_or(usize::MAX),
        }))
    }
}

enum Header {
    /// `\n##\n`, this many bytes.
    End(usize),
    /// A chunk: header length and data size.
    Chunk { header: usize, size: usize },
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(d: &mut Decoder) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(m) = d.next_message().unwrap() {
            out.push(String::from_utf8(m).unwrap());
        }
        out
    }

    #[test]
    fn end_of_message_framing_round_trips_in_any_split() {
        let wire = [
            encode(Framing::EndOfMessage, "<hello/>"),
            encode(Framing::EndOfMessage, "<b>]]></b>"),
        ]
        .concat();
        for split in 1..wire.len() {
            let mut d = Decoder::new(Limits::default());
            let mut got = Vec::new();
            for piece in wire.chunks(split) {
                d.push(piece);
                got.extend(all(&mut d));
            }
            assert_eq!(got, ["<hello/>", "<b>]]></b>"], "split every {split} bytes");
        }
    }

    #[test]
    fn chunked_framing_round_trips_in_any_split_and_joins_chunks() {
        // Two chunks for the first message, as RFC 6242 §4.2's example does.
        let wire = [
            b"\n#4\n<rpc".to_vec(),
            b"\n#18\n message-id=\"102\">".to_vec(),
            b"\n##\n".to_vec(),
            encode(Framing::Chunked, "<ok/>"),
        ]
        .concat();
        for split in 1..wire.len() {
            let mut d = Decoder::new(Limits::default());
            d.set_framing(Framing::Chunked);
            let mut got = Vec::new();
            for piece in wire.chunks(split) {
                d.push(piece);
                got.extend(all(&mut d));
            }
            assert_eq!(
                got,
                ["<rpc message-id=\"102\">", "<ok/>"],
                "split every {split} bytes"
            );
        }
    }

    #[test]
    fn hello_then_chunked_in_one_read() {
        let mut d = Decoder::new(Limits::default());
        d.push(b"<hello/>]]>]]>\n#5\n<ok/>\n##\n");
        assert_eq!(d.next_message().unwrap().unwrap(), b"<hello/>");
        d.set_framing(Framing::Chunked);
        assert_eq!(d.next_message().unwrap().unwrap(), b"<ok/>");
        assert_eq!(d.next_message().unwrap(), None);
    }

    #[test]
    fn oversize_chunk_is_refused_before_its_data_arrives() {
        let limits = Limits {
            max_chunk: 1000,
            max_message: 4000,
        };
        let mut d = Decoder::new(limits);
        d.set_framing(Framing::Chunked);
        d.push(b"\n#4294967295\n");
        let e = d.next_message().unwrap_err();
        assert_eq!(
            e,
            FrameError::TooLarge {
                what: "chunk",
                size: 4_294_967_295,
                limit: 1000
            }
        );
        // Many small chunks cannot exceed the message bound either.
        let mut d = Decoder::new(limits);
        d.set_framing(Framing::Chunked);
        let chunk = format!("\n#1000\n{}", "x".repeat(1000));
        for _ in 0..4 {
            d.push(chunk.as_bytes());
            assert_eq!(d.next_message().unwrap(), None);
        }
        d.push(b"\n#1\n");
        assert!(matches!(
            d.next_message(),
            Err(FrameError::TooLarge {
                what: "message",
                ..
            })
        ));
    }

    #[test]
    fn unterminated_base10_message_is_bounded() {
        let mut d = Decoder::new(Limits {
            max_chunk: 10,
            max_message: 100,
        });
        d.push(&[b'a'; 100]);
        assert_eq!(d.next_message().unwrap(), None);
        d.push(b"a");
        assert!(matches!(d.next_message(), Err(FrameError::TooLarge { .. })));
    }

    #[test]
    fn malformed_chunk_headers_are_errors() {
        for bad in [
            &b"\n#0\n"[..],
            b"\n#x\n",
            b"<rpc/>",
            b"\n#012\n",
            b"\n#12345678901\n",
            b"\n##x",
        ] {
            let mut d = Decoder::new(Limits::default());
            d.set_framing(Framing::Chunked);
            d.push(bad);
            assert!(
                matches!(d.next_message(), Err(FrameError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let mut d = Decoder::new(Limits::default());
        d.set_framing(Framing::Chunked);
        d.push(b"\n##\n");
        assert!(d.next_message().is_err(), "a message needs a chunk");
    }

    #[test]
    fn encode_chunked_names_the_byte_length() {
        assert_eq!(encode(Framing::Chunked, "é"), b"\n#2\n\xc3\xa9\n##\n");
        assert_eq!(encode(Framing::EndOfMessage, "<a/>"), b"<a/>]]>]]>");
    }
}

//! Chat input: one [`Conversation`] model read from the formats moderators receive —
//! the dataset JSON / JSONL shape, plain `Name: text` transcripts, WhatsApp exports and
//! Telegram Desktop JSON exports — detected by content or named explicitly.
//!
//! Bad input never panics: every problem is a [`ParseError`] naming the source, line and
//! field. JSONL is streamed line by line, so valid lines survive bad ones; every record
//! (a JSONL line, or a whole document of the other formats) is capped at
//! [`MAX_RECORD_BYTES`] and every conversation at [`MAX_CONVERSATION_MESSAGES`], so memory
//! stays bounded however long or hostile the input.

mod json;
pub mod shape;
mod telegram;
mod transcript;
mod whatsapp;

pub use json::conversations_from_value;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::taxonomy::{Label, ScamType, Stage};

/// Longest accepted message, in bytes of UTF-8.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Most messages in one conversation (a few years of a busy chat); longer ones are refused,
/// so that scoring memory, which grows linearly with a conversation's length, stays bounded.
pub const MAX_CONVERSATION_MESSAGES: usize = 100_000;

/// Largest record: one JSONL line, or one whole document of the other formats.
pub const MAX_RECORD_BYTES: usize = 32 << 20;

/// One chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// Who sent it: free text; `them` (the suspect) and `me` (the user) by convention.
    pub sender: String,
    /// The message text.
    pub text: String,
    /// Timestamp as given by the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<String>,
    /// Gold stage label, in labelled data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Stage>,
}

/// A conversation between two or more parties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conversation {
    /// Identifier; derived from the source name (and line) when absent.
    #[serde(default)]
    pub id: String,
    /// ISO 639-1 language code, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// Gold conversation label, in labelled data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Label>,
    /// Gold scam type, in labelled data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scam_type: Option<ScamType>,
    /// Messages in chronological order.
    pub messages: Vec<Message>,
}

/// An input problem, located as precisely as the format allows.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{source_name}{}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default(), field.as_ref().map(|f| format!(": field `{f}`")).unwrap_or_default())]
pub struct ParseError {
    /// File name, or `<stdin>`.
    pub source_name: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Path of the offending field (`messages[2].text`), when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl ParseError {
    fn new(source_name: &str, line: Option<usize>, field: Option<String>, message: impl Into<String>) -> Self {
        Self { source_name: source_name.to_string(), line, field, message: message.into() }
    }
}

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum InputFormat {
    /// Detect from the content.
    #[default]
    Auto,
    /// One conversation (or an array, or `{"conversations": [...]}`) in the dataset shape.
    Json,
    /// One dataset-shaped conversation per line.
    Jsonl,
    /// `Name: text` per line.
    Transcript,
    /// WhatsApp chat export (`.txt`).
    Whatsapp,
    /// Telegram Desktop JSON export (`result.json`).
    Telegram,
}

/// Conversations read from one source, in order, each or an error.
pub type ChatItem = Result<Conversation, ParseError>;

/// Checks a parsed conversation — it has messages, and every message has a sender and a
/// non-empty text within [`MAX_MESSAGE_BYTES`] — and reads any message that is a pasted
/// chat into its turns ([`shape::normalize`]). Every reader ends here, so a conversation
/// is scored, trained on and evaluated in the same shape whatever format it came in.
pub fn validate(conv: Conversation, source_name: &str, line: Option<usize>) -> ChatItem {
    let err = |field: Option<String>, msg: String| Err(ParseError::new(source_name, line, field, msg));
    if conv.messages.is_empty() {
        return err(Some("messages".into()), format!("conversation {:?} has no messages", conv.id));
    }
    if conv.messages.len() > MAX_CONVERSATION_MESSAGES {
        return err(
            Some("messages".into()),
            format!("{} messages, over the limit of {MAX_CONVERSATION_MESSAGES} per conversation (split it)", conv.messages.len()),
        );
    }
    for (i, m) in conv.messages.iter().enumerate() {
        if m.sender.trim().is_empty() {
            return err(Some(format!("messages[{i}].sender")), "empty sender".into());
        }
        if m.text.trim().is_empty() {
            return err(Some(format!("messages[{i}].text")), "empty message text".into());
        }
        if m.text.len() > MAX_MESSAGE_BYTES {
            return err(
                Some(format!("messages[{i}].text")),
                format!("message is {} bytes, over the {MAX_MESSAGE_BYTES}-byte limit", m.text.len()),
            );
        }
    }
    Ok(shape::normalize(conv))
}

/// Problems worked around rather than refused (a message of an export truncated or
/// skipped), for the caller to report. Clones share one list.
#[derive(Debug, Clone, Default)]
pub struct Warnings(Arc<Mutex<Vec<ParseError>>>);

impl Warnings {
    fn push(&self, warning: ParseError) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(warning);
    }

    /// Takes the warnings noted so far.
    pub fn take(&self) -> Vec<ParseError> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Whether `text` has nothing visible: whitespace and invisible marks (U+200B–U+200F,
/// U+202A–U+202E, U+2060, U+FEFF) only.
fn invisible(text: &str) -> bool {
    text.chars().all(|c| c.is_whitespace() || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}' | '\u{feff}'))
}

/// Keeps the messages of an export (WhatsApp, Telegram, transcript) within the limits, so
/// that one odd message does not lose the whole export: a message over
/// [`MAX_MESSAGE_BYTES`] is truncated (the encoder reads far less of it anyway), one with no
/// visible text is skipped, each with a warning naming it where `at(i)` says message `i`
/// is (its line and field, when known).
pub(crate) fn tidy_export(
    messages: &mut Vec<Message>,
    at: impl Fn(usize) -> (Option<usize>, Option<String>),
    name: &str,
    warnings: &Warnings,
) {
    let mut i = 0;
    messages.retain_mut(|m| {
        let (line, field) = at(i);
        i += 1;
        let warn = |message: String| warnings.push(ParseError::new(name, line, field.clone(), message));
        if invisible(&m.text) {
            warn("message has no visible text; skipped".into());
            return false;
        }
        if m.text.len() > MAX_MESSAGE_BYTES {
            let mut end = MAX_MESSAGE_BYTES;
            while !m.text.is_char_boundary(end) {
                end -= 1;
            }
            warn(format!("message is {} bytes, truncated to the {MAX_MESSAGE_BYTES}-byte limit", m.text.len()));
            m.text.truncate(end);
        }
        true
    });
}

/// Decodes `bytes` as UTF-8 (dropping a byte-order mark), naming the line of the first
/// invalid byte otherwise.
pub fn decode_utf8(bytes: Vec<u8>, source_name: &str, first_line: usize) -> Result<String, ParseError> {
    let bytes = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => rest.to_vec(),
        None => bytes,
    };
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = first_line + e.as_bytes()[..valid].iter().filter(|&&b| b == b'\n').count();
        ParseError::new(source_name, Some(line), None, "invalid UTF-8 (convert the file to UTF-8)")
    })
}

/// Decodes UTF-16 text after its byte-order mark (`FF FE` little-endian, `FE FF` big-endian).
fn decode_utf16(bytes: &[u8], source_name: &str) -> Result<String, ParseError> {
    let little = bytes.starts_with(b"\xFF\xFE");
    let body = &bytes[2..];
    if !body.len().is_multiple_of(2) {
        return Err(ParseError::new(source_name, None, None, "invalid UTF-16: odd number of bytes"));
    }
    let units = body.chunks_exact(2).map(|p| if little { u16::from_le_bytes([p[0], p[1]]) } else { u16::from_be_bytes([p[0], p[1]]) });
    let mut text = String::with_capacity(body.len());
    for (i, c) in char::decode_utf16(units).enumerate() {
        match c {
            Ok(c) => text.push(c),
            Err(_) => {
                let line = 1 + text.matches('\n').count();
                return Err(ParseError::new(source_name, Some(line), None, format!("invalid UTF-16 at code unit {i}")));
            }
        }
    }
    Ok(text)
}

fn io_error(name: &str, line: Option<usize>, e: std::io::Error) -> ParseError {
    ParseError::new(name, line, None, format!("cannot read: {e}"))
}

fn over_limit(name: &str, line: Option<usize>, what: &str) -> ParseError {
    ParseError::new(name, line, None, format!("{what} is over the {} MiB record limit", MAX_RECORD_BYTES >> 20))
}

/// Reads one line (with its `\n`) into `buf`, at most [`MAX_RECORD_BYTES`] of it; the rest
/// of a longer line is read past without being kept. Returns the bytes read into `buf`
/// (0 at the end) and whether the line was cut.
fn read_line_bounded(reader: &mut dyn BufRead, buf: &mut Vec<u8>) -> std::io::Result<(usize, bool)> {
    let start = buf.len();
    let n = (&mut *reader).take(MAX_RECORD_BYTES as u64 + 1).read_until(b'\n', buf)?;
    if n <= MAX_RECORD_BYTES || buf.ends_with(b"\n") {
        return Ok((n, false));
    }
    buf.truncate(start);
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok((n, true));
        }
        match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => {
                reader.consume(i + 1);
                return Ok((n, true));
            }
            None => {
                let len = chunk.len();
                reader.consume(len);
            }
        }
    }
}

fn blank(line: &[u8]) -> bool {
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    line.iter().all(|b| b.is_ascii_whitespace())
}

/// The start of an input: blank lines and the first non-empty line (plus the next one when
/// the first does not settle the format), kept to be read again.
struct Head {
    bytes: Vec<u8>,
    /// The non-empty lines peeked, as ranges of `bytes`, with their line numbers.
    lines: Vec<(std::ops::Range<usize>, usize)>,
    /// A peeked line over [`MAX_RECORD_BYTES`] (dropped from `bytes`), by line number.
    cut: Option<usize>,
    /// Lines read so far.
    count: usize,
}

impl Head {
    /// Reads up to and including the next non-empty line; `false` at the end of the input.
    fn next_line(&mut self, reader: &mut dyn BufRead, name: &str) -> Result<bool, ParseError> {
        loop {
            let start = self.bytes.len();
            let (n, cut) = read_line_bounded(reader, &mut self.bytes).map_err(|e| io_error(name, Some(self.count + 1), e))?;
            if n == 0 {
                return Ok(false);
            }
            self.count += 1;
            if cut {
                // Keep a blank stand-in so that line numbers after it stay right.
                self.bytes.push(b'\n');
                self.cut = Some(self.count);
                return Ok(true);
            }
            if !blank(&self.bytes[start..]) {
                self.lines.push((start..self.bytes.len(), self.count));
                return Ok(true);
            }
        }
    }

    fn line(&self, k: usize) -> Option<&[u8]> {
        self.lines.get(k).map(|(r, _)| &self.bytes[r.clone()])
    }
}

/// Streams the conversations of an already opened source. `name` is used in errors and
/// to derive ids; problems worked around go to `warnings`. Empty input yields nothing.
pub fn read(reader: Box<dyn BufRead>, name: &str, format: InputFormat, warnings: &Warnings) -> Box<dyn Iterator<Item = ChatItem>> {
    match open(reader, name, format, warnings) {
        Ok(items) => items,
        Err(e) => Box::new(std::iter::once(Err(e))),
    }
}

fn open(mut reader: Box<dyn BufRead>, name: &str, format: InputFormat, warnings: &Warnings) -> Result<Box<dyn Iterator<Item = ChatItem>>, ParseError> {
    let start = reader.fill_buf().map_err(|e| io_error(name, Some(1), e))?;
    if start.starts_with(b"\xFF\xFE") || start.starts_with(b"\xFE\xFF") {
        // UTF-16 (as Windows tools write it): decoded whole, then read as UTF-8.
        let bytes = read_record(&mut *reader, Vec::new(), name)?;
        let text = decode_utf16(&bytes, name)?;
        return open(Box::new(std::io::Cursor::new(text.into_bytes())), name, format, warnings);
    }
    let mut head = Head { bytes: Vec::new(), lines: Vec::new(), cut: None, count: 0 };
    if !head.next_line(&mut *reader, name)? {
        return Ok(Box::new(std::iter::empty()));
    }
    let detected = format == InputFormat::Auto;
    let format = if !detected {
        format
    } else if head.cut.is_some() {
        // One line over the limit: only JSONL can go on past it.
        if start_byte(&head.bytes) == Some(b'{') { InputFormat::Jsonl } else { return Err(over_limit(name, head.cut, "line")) }
    } else {
        match detect(head.line(0).unwrap_or_default(), None) {
            Detected::Format(f) => f,
            Detected::NeedsNextLine => {
                head.next_line(&mut *reader, name)?;
                match detect(head.line(0).unwrap_or_default(), head.line(1)) {
                    Detected::Format(f) => f,
                    Detected::NeedsNextLine => InputFormat::Json,
                }
            }
        }
    };
    let stem = Path::new(name).file_stem().and_then(|s| s.to_str()).unwrap_or(name).to_string();
    if format == InputFormat::Jsonl {
        let cut = head.cut;
        let rest = std::io::Cursor::new(head.bytes).chain(reader);
        return Ok(Box::new(json::JsonlReader::new(Box::new(rest), name, &stem, cut)));
    }
    if let Some(line) = head.cut {
        return Err(over_limit(name, Some(line), "line"));
    }
    let bytes = read_record(&mut *reader, head.bytes, name)?;
    let mut text = decode_utf8(bytes, name, 1)?;
    if text.contains('\r') {
        text = text.replace("\r\n", "\n");
    }
    let items = match format {
        // A pretty-printed Telegram export only shows what it is once read whole.
        InputFormat::Json if detected && telegram::looks_like_text(&text) => telegram::parse(&text, name, &stem, warnings),
        InputFormat::Json => json::parse_document(&text, name, &stem),
        InputFormat::Telegram => telegram::parse(&text, name, &stem, warnings),
        InputFormat::Whatsapp => whatsapp::parse(&text, name, &stem, warnings),
        _ => transcript::parse(&text, name, &stem, warnings),
    };
    Ok(Box::new(items.into_iter()))
}

fn start_byte(bytes: &[u8]) -> Option<u8> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    bytes.iter().copied().find(|b| !b.is_ascii_whitespace())
}

/// Reads the rest of a whole-document input after `head`, refusing more than
/// [`MAX_RECORD_BYTES`] in all.
fn read_record(reader: &mut dyn BufRead, mut bytes: Vec<u8>, name: &str) -> Result<Vec<u8>, ParseError> {
    let room = (MAX_RECORD_BYTES + 1).saturating_sub(bytes.len()) as u64;
    reader.take(room).read_to_end(&mut bytes).map_err(|e| io_error(name, None, e))?;
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(over_limit(name, None, "the input (one document; JSONL has no such limit)"));
    }
    Ok(bytes)
}

/// Opens `path` (`-` for stdin) and streams its conversations.
pub fn read_path(path: &str, format: InputFormat, warnings: &Warnings) -> Result<Box<dyn Iterator<Item = ChatItem>>, ParseError> {
    if path == "-" {
        return Ok(read(Box::new(BufReader::new(std::io::stdin())), "<stdin>", format, warnings));
    }
    let file = File::open(path).map_err(|e| ParseError::new(path, None, None, format!("cannot open: {e}")))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(ParseError::new(path, None, None, "is a directory"));
    }
    Ok(read(Box::new(BufReader::new(file)), path, format, warnings))
}

/// Streams the conversations of several inputs in order; a directory stands for the files
/// directly inside it (sorted, hidden files skipped). Problems become error items; problems
/// worked around go to `warnings`.
pub fn read_inputs(inputs: &[String], format: InputFormat, warnings: &Warnings) -> impl Iterator<Item = ChatItem> {
    let mut paths = Vec::new();
    for input in inputs {
        let dir = Path::new(input);
        if input != "-" && dir.is_dir() {
            match std::fs::read_dir(dir) {
                Ok(entries) => {
                    let mut files: Vec<String> = entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.is_file())
                        .filter(|p| !p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')))
                        .map(|p| p.display().to_string())
                        .collect();
                    files.sort();
                    paths.extend(files.into_iter().map(Ok));
                }
                Err(e) => paths.push(Err(ParseError::new(input, None, None, format!("cannot list: {e}")))),
            }
        } else {
            paths.push(Ok(input.clone()));
        }
    }
    let warnings = warnings.clone();
    paths.into_iter().flat_map(move |p| -> Box<dyn Iterator<Item = ChatItem>> {
        match p.and_then(|path| read_path(&path, format, &warnings)) {
            Ok(items) => items,
            Err(e) => Box::new(std::iter::once(Err(e))),
        }
    })
}

/// A deterministic slice of an input stream for spreading one corpus over machines:
/// shard `index` of `count` keeps the items at positions `index`, `index + count`, …
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 0.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("invalid shard {s:?}: expected i/n with 0 <= i < n");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (i.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

impl Shard {
    /// Keeps this shard's items of `items` (errors included, so line reports stay with
    /// the shard that owns the line).
    pub fn select<T>(self, items: impl Iterator<Item = T>) -> impl Iterator<Item = T> {
        items.enumerate().filter(move |(k, _)| k % self.count == self.index).map(|(_, x)| x)
    }
}

/// The texts of every message of `convs`, in order (the encoder's input for a batch).
pub fn message_texts(convs: &[Conversation]) -> Vec<&str> {
    convs.iter().flat_map(|c| c.messages.iter().map(|m| m.text.as_str())).collect()
}

/// Splits one item per message (as produced from [`message_texts`]) back into one list per
/// conversation.
pub fn split_by_conversation<T>(convs: &[Conversation], items: Vec<T>) -> Vec<Vec<T>> {
    let mut items = items.into_iter();
    convs.iter().map(|c| items.by_ref().take(c.messages.len()).collect()).collect()
}

/// Parses conversations held in a string (convenience for tests and benchmarks), with the
/// warnings noted on the way.
pub fn parse_str_warned(text: &str, name: &str, format: InputFormat) -> (Vec<ChatItem>, Vec<ParseError>) {
    let warnings = Warnings::default();
    let items = read(Box::new(std::io::Cursor::new(text.as_bytes().to_vec())), name, format, &warnings).collect();
    (items, warnings.take())
}

/// Parses conversations held in a string (convenience for tests and benchmarks; see
/// [`parse_str_warned`] for the warnings).
pub fn parse_str(text: &str, name: &str, format: InputFormat) -> Vec<ChatItem> {
    parse_str_warned(text, name, format).0
}

/// What the start of an input says about its format.
#[derive(Debug, PartialEq, Eq)]
enum Detected {
    Format(InputFormat),
    /// The first line opens a JSON object it does not close: the next line tells whether it
    /// is a pretty-printed document or a truncated JSONL record.
    NeedsNextLine,
}

/// Picks a format from the first non-empty line of the input (and the next, when given).
/// A line that is a whole JSON object, or a broken one, makes JSONL (so that a bad first
/// record loses only itself); one that opens an object continued on the next line makes a
/// JSON document, unless the next line starts another record.
fn detect(first: &[u8], second: Option<&[u8]>) -> Detected {
    let text = String::from_utf8_lossy(first);
    let line = text.trim_start_matches('\u{feff}').trim();
    if line.starts_with('{') {
        return Detected::Format(match serde_json::from_str::<serde_json::Value>(line) {
            Ok(v) if telegram::looks_like(&v) => InputFormat::Telegram,
            Ok(v) if v.get("conversations").is_some() && v.get("messages").is_none() => InputFormat::Json,
            Ok(v) if v.is_object() => InputFormat::Jsonl,
            Ok(_) => InputFormat::Json,
            Err(e) if !e.is_eof() => InputFormat::Jsonl,
            Err(_) => match second {
                None => return Detected::NeedsNextLine,
                Some(next) if next.trim_ascii_start().starts_with(b"{") && !next.starts_with(b" ") && !next.starts_with(b"\t") => {
                    InputFormat::Jsonl
                }
                Some(_) => InputFormat::Json,
            },
        });
    }
    if whatsapp::is_header(line) {
        return Detected::Format(InputFormat::Whatsapp);
    }
    if line.starts_with('[') || line == "null" || line.parse::<f64>().is_ok() || line.starts_with('"') {
        return Detected::Format(InputFormat::Json);
    }
    Detected::Format(InputFormat::Transcript)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_stream() {
        let shards: Vec<Shard> = (0..3).map(|i| format!("{i}/3").parse().unwrap()).collect();
        let mut seen: Vec<usize> = shards.iter().flat_map(|s| s.select(0..10)).collect();
        seen.sort();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        assert!("3/3".parse::<Shard>().is_err() && "1/0".parse::<Shard>().is_err() && "x".parse::<Shard>().is_err());
    }

    #[test]
    fn detects_formats_by_content() {
        let one = |line: &[u8]| match detect(line, None) {
            Detected::Format(f) => f,
            Detected::NeedsNextLine => panic!("{line:?} needs the next line"),
        };
        assert_eq!(one(br#"{"id":"a","messages":[{"sender":"me","text":"hi"}]}"#), InputFormat::Jsonl);
        assert_eq!(one(br#"{"id":"a","messages":[{"sender":"me","text":"a	b"}]}"#), InputFormat::Jsonl, "a broken record");
        assert_eq!(one(br#"{"conversations":[{"messages":[{"sender":"me","text":"hi"}]}]}"#), InputFormat::Json);
        assert_eq!(detect(b"{\n", None), Detected::NeedsNextLine);
        assert_eq!(detect(b"{\n", Some(b"  \"id\": \"x\",\n")), Detected::Format(InputFormat::Json));
        assert_eq!(detect(b"{\"id\":\"a\",\n", Some(b"{\"id\":\"b\"}\n")), Detected::Format(InputFormat::Jsonl));
        assert_eq!(one(br#"{"name":"Anna","type":"personal_chat","id":1,"messages":[{"id":1,"type":"message","date":"2024-01-01T10:00:00","from":"Anna","text":"hi"}]}"#), InputFormat::Telegram);
        assert_eq!(one(b"[12/03/24, 10:01:22] Anna: hi"), InputFormat::Whatsapp);
        assert_eq!(one(b"12/03/2024, 10:01 - Anna: hi"), InputFormat::Whatsapp);
        assert_eq!(one(b"Anna: hi there"), InputFormat::Transcript);
        assert_eq!(one(b"null"), InputFormat::Json);
        assert_eq!(one(b"42"), InputFormat::Json);
    }
}

//! Chat input: one [`Conversation`] model read from the formats moderators receive —
//! the dataset JSON / JSONL shape, plain `Name: text` transcripts, WhatsApp exports and
//! Telegram Desktop JSON exports — detected by content or named explicitly.
//!
//! Bad input never panics: every problem is a [`ParseError`] naming the source, line and
//! field. JSONL is streamed line by line, so valid lines survive bad ones and memory stays
//! bounded however long the input.

mod json;
pub mod shape;
mod telegram;
mod transcript;
mod whatsapp;

pub use json::conversations_from_value;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::taxonomy::{Label, ScamType, Stage};

/// Longest accepted message, in bytes of UTF-8.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

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

/// Checks a parsed conversation: it has messages, and every message has a sender and a
/// non-empty text within [`MAX_MESSAGE_BYTES`].
pub fn validate(conv: Conversation, source_name: &str, line: Option<usize>) -> ChatItem {
    let err = |field: Option<String>, msg: String| Err(ParseError::new(source_name, line, field, msg));
    if conv.messages.is_empty() {
        return err(Some("messages".into()), format!("conversation {:?} has no messages", conv.id));
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
    Ok(conv)
}

/// Decodes `bytes` as UTF-8 (dropping a byte-order mark), naming the line of the first
/// invalid byte otherwise.
pub fn decode_utf8(bytes: &[u8], source_name: &str, first_line: usize) -> Result<String, ParseError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => {
            let line = first_line + bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count();
            Err(ParseError::new(source_name, Some(line), None, "invalid UTF-8 (convert the file to UTF-8)"))
        }
    }
}

/// Streams the conversations of an already opened source. `name` is used in errors and
/// to derive ids.
pub fn read(reader: Box<dyn BufRead>, name: &str, format: InputFormat) -> Box<dyn Iterator<Item = ChatItem>> {
    let mut reader = reader;
    let mut head = Vec::new();
    // Peek the first non-empty line to pick a format without reading everything.
    loop {
        let mut line = Vec::new();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {
                let blank = line.iter().all(|b| b.is_ascii_whitespace()) || line == b"\xEF\xBB\xBF\n";
                head.extend_from_slice(&line);
                if !blank {
                    break;
                }
            }
            Err(e) => return Box::new(std::iter::once(Err(ParseError::new(name, None, None, e.to_string())))),
        }
    }
    let detected = format == InputFormat::Auto;
    let format = if detected { detect(&head) } else { format };
    let stem = Path::new(name).file_stem().and_then(|s| s.to_str()).unwrap_or(name).to_string();
    if format == InputFormat::Jsonl {
        let rest = std::io::Cursor::new(head).chain(reader);
        return Box::new(json::JsonlReader::new(Box::new(rest), name, &stem));
    }
    let mut bytes = head;
    if let Err(e) = reader.read_to_end(&mut bytes) {
        return Box::new(std::iter::once(Err(ParseError::new(name, None, None, e.to_string()))));
    }
    let text = match decode_utf8(&bytes, name, 1) {
        Ok(t) => t.replace("\r\n", "\n"),
        Err(e) => return Box::new(std::iter::once(Err(e))),
    };
    let items = match format {
        // A pretty-printed Telegram export only shows what it is once read whole.
        InputFormat::Json if detected && telegram::looks_like_text(&text) => telegram::parse(&text, name, &stem),
        InputFormat::Json => json::parse_document(&text, name, &stem),
        InputFormat::Telegram => telegram::parse(&text, name, &stem),
        InputFormat::Whatsapp => whatsapp::parse(&text, name, &stem),
        _ => transcript::parse(&text, name, &stem),
    };
    Box::new(items.into_iter())
}

/// Opens `path` (`-` for stdin) and streams its conversations.
pub fn read_path(path: &str, format: InputFormat) -> Result<Box<dyn Iterator<Item = ChatItem>>, ParseError> {
    if path == "-" {
        return Ok(read(Box::new(BufReader::new(std::io::stdin())), "<stdin>", format));
    }
    let file = File::open(path).map_err(|e| ParseError::new(path, None, None, format!("cannot open: {e}")))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(ParseError::new(path, None, None, "is a directory"));
    }
    Ok(read(Box::new(BufReader::new(file)), path, format))
}

/// Streams the conversations of several inputs in order; a directory stands for the files
/// directly inside it (sorted, hidden files skipped). Problems become error items.
pub fn read_inputs(inputs: &[String], format: InputFormat) -> impl Iterator<Item = ChatItem> {
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
    paths.into_iter().flat_map(move |p| -> Box<dyn Iterator<Item = ChatItem>> {
        match p.and_then(|path| read_path(&path, format)) {
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

/// Parses conversations held in a string (convenience for tests and servers).
pub fn parse_str(text: &str, name: &str, format: InputFormat) -> Vec<ChatItem> {
    read(Box::new(std::io::Cursor::new(text.as_bytes().to_vec())), name, format).collect()
}

/// Picks a format from the first non-empty line of the input.
fn detect(head: &[u8]) -> InputFormat {
    let text = String::from_utf8_lossy(head);
    let line = text.trim_start_matches('\u{feff}').trim();
    if line.starts_with('{') {
        return match serde_json::from_str::<serde_json::Value>(line) {
            Ok(v) if telegram::looks_like(&v) => InputFormat::Telegram,
            Ok(v) if v.is_object() => InputFormat::Jsonl,
            _ => InputFormat::Json,
        };
    }
    if whatsapp::is_header(line) {
        return InputFormat::Whatsapp;
    }
    if line.starts_with('[') {
        return InputFormat::Json;
    }
    InputFormat::Transcript
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
        assert_eq!(detect(br#"{"id":"a","messages":[{"sender":"me","text":"hi"}]}"#), InputFormat::Jsonl);
        assert_eq!(detect(b"{\n"), InputFormat::Json);
        assert_eq!(detect(br#"{"name":"Anna","type":"personal_chat","id":1,"messages":[{"id":1,"type":"message","date":"2024-01-01T10:00:00","from":"Anna","text":"hi"}]}"#), InputFormat::Telegram);
        assert_eq!(detect(b"[12/03/24, 10:01:22] Anna: hi"), InputFormat::Whatsapp);
        assert_eq!(detect(b"12/03/2024, 10:01 - Anna: hi"), InputFormat::Whatsapp);
        assert_eq!(detect(b"Anna: hi there"), InputFormat::Transcript);
    }
}

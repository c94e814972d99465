//! The dataset shape: one conversation per JSON document or per JSONL line.

use std::io::BufRead;

use super::{decode_utf8, over_limit, read_line_bounded, validate, ChatItem, Conversation, ParseError};

/// Deserialises one conversation, reporting the path of the offending field.
fn conversation(value: &str, name: &str, line_base: usize, default_id: String) -> ChatItem {
    let mut de = serde_json::Deserializer::from_str(value);
    let result: Result<Conversation, _> = serde_path_to_error::deserialize(&mut de);
    let mut conv = result.map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let line = line_base + inner.line().saturating_sub(1);
        // A syntax error has no field (its path would read `?`).
        let field = (path != "." && !inner.is_syntax() && !inner.is_eof()).then_some(path);
        ParseError::new(name, Some(line), field, strip_position(&inner))
    })?;
    de.end().map_err(|e| ParseError::new(name, Some(line_base + e.line() - 1), None, strip_position(&e)))?;
    if conv.id.is_empty() {
        conv.id = default_id;
    }
    validate(conv, name, Some(line_base))
}

/// serde_json's message without its " at line L column C" suffix (the line is reported
/// separately, relative to the whole file).
fn strip_position(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    match msg.rfind(" at line ") {
        Some(i) => format!("{} (column {})", &msg[..i], e.column()),
        None => msg,
    }
}

/// Parses a whole JSON document: one conversation, an array of them, or
/// `{"conversations": [...]}`.
pub fn parse_document(text: &str, name: &str, stem: &str) -> Vec<ChatItem> {
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return vec![Err(ParseError::new(name, Some(e.line()), None, strip_position(&e)))],
    };
    if !value.is_object() && !value.is_array() {
        let found = match value {
            serde_json::Value::Null => "null".to_string(),
            serde_json::Value::Bool(_) => "a boolean".into(),
            serde_json::Value::Number(_) => "a number".into(),
            _ => "a string".into(),
        };
        let expected = r#"expected a conversation object, an array of them or {"conversations": [...]}"#;
        return vec![Err(ParseError::new(name, Some(1), None, format!("{expected}, found {found}")))];
    }
    match listed(&value, name) {
        // Parsed again from the text so that errors keep their line.
        None => vec![conversation(text, name, 1, stem.to_string())],
        Some(listed) => parse_listed(listed, name, stem),
    }
}

/// The conversations of an already parsed JSON value of any shape [`parse_document`]
/// accepts; errors name the offending field (`conversations[3].messages[0].text`).
pub fn conversations_from_value(value: &serde_json::Value, name: &str, stem: &str) -> Vec<ChatItem> {
    match listed(value, name) {
        None => vec![conversation(&value.to_string(), name, 1, stem.to_string()).map_err(|mut e| {
            e.line = None;
            e
        })],
        Some(listed) => parse_listed(listed, name, stem),
    }
}

/// The items of a document holding several conversations, with the path naming them
/// (`""` for a top-level array, `"conversations"` for the wrapper object); `None` when the
/// document is one conversation.
type Listed<'a> = Result<(&'a [serde_json::Value], &'static str), ParseError>;

fn listed<'a>(value: &'a serde_json::Value, name: &str) -> Option<Listed<'a>> {
    match value {
        serde_json::Value::Array(items) => Some(Ok((items, ""))),
        serde_json::Value::Object(o) if o.contains_key("conversations") && !o.contains_key("messages") => {
            Some(match o.get("conversations") {
                Some(serde_json::Value::Array(items)) => Ok((items, "conversations")),
                _ => Err(ParseError::new(name, None, Some("conversations".into()), "expected an array")),
            })
        }
        _ => None,
    }
}

fn parse_listed(listed: Listed, name: &str, stem: &str) -> Vec<ChatItem> {
    let (items, prefix) = match listed {
        Ok(found) => found,
        Err(e) => return vec![Err(e)],
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            conversation(&item.to_string(), name, 1, format!("{stem}:{}", i + 1)).map_err(|mut e| {
                // Positions inside the re-serialised item are meaningless; name the item.
                e.line = None;
                e.field = Some(match e.field {
                    Some(f) => format!("{prefix}[{i}].{f}"),
                    None => format!("{prefix}[{i}]"),
                });
                e
            })
        })
        .collect()
}

/// Streams JSONL: one conversation per non-empty line; a bad line (or one over the record
/// limit, which is read past without being kept) yields an error and the reader goes on
/// with the next.
pub struct JsonlReader {
    reader: Box<dyn BufRead>,
    name: String,
    stem: String,
    line: usize,
    /// A line already found over the limit (and replaced by a blank one in `reader`).
    cut: Option<usize>,
    done: bool,
}

impl JsonlReader {
    /// Reads from `reader`; `name` labels errors, `stem` prefixes derived ids, and `cut`
    /// is a line already found over the limit.
    pub fn new(reader: Box<dyn BufRead>, name: &str, stem: &str, cut: Option<usize>) -> Self {
        Self { reader, name: name.to_string(), stem: stem.to_string(), line: 0, cut, done: false }
    }
}

impl Iterator for JsonlReader {
    type Item = ChatItem;

    fn next(&mut self) -> Option<ChatItem> {
        while !self.done {
            let mut buf = Vec::new();
            match read_line_bounded(&mut *self.reader, &mut buf) {
                Ok((0, _)) => self.done = true,
                Ok((_, cut)) => {
                    self.line += 1;
                    if cut || self.cut == Some(self.line) {
                        return Some(Err(over_limit(&self.name, Some(self.line), "line")));
                    }
                    let text = match decode_utf8(buf, &self.name, self.line) {
                        Ok(t) => t,
                        Err(e) => return Some(Err(e)),
                    };
                    let text = text.trim();
                    if text.is_empty() {
                        continue;
                    }
                    return Some(conversation(text, &self.name, self.line, format!("{}:{}", self.stem, self.line)));
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(ParseError::new(&self.name, Some(self.line + 1), None, format!("cannot read: {e}"))));
                }
            }
        }
        None
    }
}

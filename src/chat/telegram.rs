//! Telegram Desktop JSON exports: a single chat (`{"name","type","messages":[...]}`) or a
//! full export (`{"chats":{"list":[...]}}`). Message text is a string or an array of
//! strings and entity objects; service messages and media without captions are skipped,
//! and so are chats of a full export with no text at all (with a warning).

use std::collections::HashMap;

use serde_json::Value;

use super::{tidy_export, validate, ChatItem, Conversation, Message, ParseError, Warnings};

/// Whether a JSON value is a Telegram export rather than a dataset conversation.
pub fn looks_like(v: &Value) -> bool {
    v.get("chats").is_some()
        || v.get("messages").and_then(Value::as_array).is_some_and(|ms| {
            ms.iter().any(|m| m.get("date").is_some() && m.get("type").is_some() && m.get("sender").is_none())
        })
}

/// Whether a whole document is a Telegram export.
pub fn looks_like_text(text: &str) -> bool {
    serde_json::from_str::<Value>(text).is_ok_and(|v| looks_like(&v))
}

fn flatten_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => Some(
            parts
                .iter()
                .map(|p| match p {
                    Value::String(s) => s.clone(),
                    other => other.get("text").and_then(Value::as_str).unwrap_or_default().to_string(),
                })
                .collect(),
        ),
        _ => None,
    }
}

/// One chat; `field` prefixes the paths in errors (`chats.list[3].`). `Ok(None)`: a chat of
/// a full export with no text messages, skipped.
fn chat(v: &Value, name: &str, id: String, field: &str, warnings: &Warnings) -> Result<Option<Conversation>, ParseError> {
    let err = |f: String, msg: &str| Err(ParseError::new(name, None, Some(f), msg));
    let Some(list) = v.get("messages").and_then(Value::as_array) else {
        return err(format!("{field}messages"), "expected an array of messages");
    };
    let mut messages = Vec::new();
    let mut indices = Vec::new();
    for (i, m) in list.iter().enumerate() {
        if m.get("type").and_then(Value::as_str).unwrap_or("message") != "message" {
            continue;
        }
        let Some(text) = m.get("text").map(flatten_text) else { continue };
        let Some(text) = text else {
            return err(format!("{field}messages[{i}].text"), "expected a string or an array of text entities");
        };
        if text.trim().is_empty() {
            continue;
        }
        let sender = m
            .get("from")
            .and_then(Value::as_str)
            .or_else(|| m.get("from_id").and_then(Value::as_str))
            .unwrap_or("unknown")
            .to_string();
        let ts = m.get("date").and_then(Value::as_str).map(str::to_string);
        messages.push(Message { sender, text, ts, stage: None });
        indices.push(i);
    }
    tidy_export(&mut messages, |k| (None, Some(format!("{field}messages[{}].text", indices[k]))), name, warnings);
    if messages.is_empty() && !field.is_empty() {
        let chat = field.trim_end_matches('.').to_string();
        warnings.push(ParseError::new(name, None, Some(chat), format!("chat {id:?} has no text messages; skipped")));
        return Ok(None);
    }
    let conv = Conversation { id, lang: None, label: None, scam_type: None, messages };
    validate(conv, name, None).map(Some).map_err(|mut e| {
        e.field = e.field.map(|f| format!("{field}{f}"));
        e
    })
}

fn chat_id(v: &Value, fallback: String) -> String {
    match (v.get("name").and_then(Value::as_str), v.get("id")) {
        (Some(n), _) if !n.is_empty() => n.to_string(),
        (_, Some(id)) => id.to_string(),
        _ => fallback,
    }
}

/// Parses a Telegram export into one conversation per chat; chats of a full export that
/// share a name get the chat's id appended (`Anna#42`).
pub fn parse(text: &str, name: &str, stem: &str, warnings: &Warnings) -> Vec<ChatItem> {
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return vec![Err(ParseError::new(name, Some(e.line()), None, e.to_string()))],
    };
    if let Some(chats) = v.get("chats") {
        let Some(list) = chats.get("list").and_then(Value::as_array) else {
            return vec![Err(ParseError::new(name, None, Some("chats.list".into()), "expected an array of chats"))];
        };
        let ids: Vec<String> = list.iter().enumerate().map(|(i, c)| chat_id(c, format!("{stem}:{}", i + 1))).collect();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for id in &ids {
            *seen.entry(id).or_default() += 1;
        }
        return list
            .iter()
            .zip(&ids)
            .enumerate()
            .filter_map(|(i, (c, id))| {
                let id = match (seen[id.as_str()] > 1, c.get("id")) {
                    (true, Some(n)) => format!("{id}#{n}"),
                    (true, None) => format!("{id}#{}", i + 1),
                    (false, _) => id.clone(),
                };
                chat(c, name, id, &format!("chats.list[{i}]."), warnings).transpose()
            })
            .collect();
    }
    let single = chat(&v, name, chat_id(&v, stem.to_string()), "", warnings).transpose();
    vec![single.unwrap_or_else(|| Err(ParseError::new(name, None, Some("messages".into()), "no text messages")))]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_entities_and_skips_service_messages() {
        let export = r#"{"name":"Lena","type":"personal_chat","id":42,"messages":[
            {"id":1,"type":"service","date":"2024-05-01T09:00:00","actor":"Lena","action":"phone_call","text":""},
            {"id":2,"type":"message","date":"2024-05-01T09:01:00","from":"Lena","text":"hi"},
            {"id":3,"type":"message","date":"2024-05-01T09:02:00","from":"Me","text":["see ",{"type":"link","text":"https://x.io"}," ok"]},
            {"id":4,"type":"message","date":"2024-05-01T09:03:00","from":"Lena","photo":"p.jpg","text":""}]}"#;
        let conv = parse(export, "result.json", "result", &Warnings::default()).pop().unwrap().unwrap();
        assert_eq!(conv.id, "Lena");
        assert_eq!(conv.messages.len(), 2);
        assert_eq!(conv.messages[1].text, "see https://x.io ok");
    }
}

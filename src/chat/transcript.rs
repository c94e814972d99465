//! Plain transcripts: one `Name: text` per line; lines without a name continue the
//! previous message. A text without any `Name:` line is one conversation all the same:
//! the turns of a pasted block (see [`shape::split_block`]), else one message.

use super::{shape, tidy_export, validate, ChatItem, Conversation, Message, ParseError, Warnings};

/// Longest sender name accepted before the colon.
const MAX_NAME_CHARS: usize = 60;

fn speaker(line: &str) -> Option<(&str, &str)> {
    let (name, text) = line.split_once(':')?;
    let name = name.trim();
    let ok = !name.is_empty() && name.chars().count() <= MAX_NAME_CHARS && !name.contains("://");
    ok.then(|| (name, text.trim()))
}

/// Parses a transcript into one conversation named after the source.
pub fn parse(text: &str, name: &str, stem: &str, warnings: &Warnings) -> Vec<ChatItem> {
    if !text.trim().is_empty() && !text.lines().any(shape::is_named_line) {
        let whole = Message { sender: shape::UNKNOWN.to_string(), text: text.trim().to_string(), ts: None, stage: None };
        let conv = Conversation { id: stem.to_string(), lang: None, label: None, scam_type: None, messages: vec![whole] };
        return vec![validate(conv, name, None)];
    }
    let mut messages: Vec<Message> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_start_matches('\u{feff}').trim_end();
        if line.trim().is_empty() {
            continue;
        }
        match (speaker(line), messages.last_mut()) {
            (Some((sender, body)), _) => messages.push(Message {
                sender: sender.to_string(),
                text: body.to_string(),
                ts: None,
                stage: None,
            }),
            (None, Some(last)) => {
                last.text.push('\n');
                last.text.push_str(line.trim());
            }
            (None, None) => {
                return vec![Err(ParseError::new(name, Some(i + 1), None, "expected `Name: text`"))];
            }
        }
    }
    tidy_export(&mut messages, |i| (None, Some(format!("messages[{i}].text"))), name, warnings);
    let conv = Conversation { id: stem.to_string(), lang: None, label: None, scam_type: None, messages };
    vec![validate(conv, name, None)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_speakers_and_continuations() {
        let conv = parse("Anna: hi\nare you there?\n\nme: yes: why", "t.txt", "t", &Warnings::default()).pop().unwrap().unwrap();
        assert_eq!(conv.messages.len(), 2);
        assert_eq!(conv.messages[0].text, "hi\nare you there?");
        assert_eq!(conv.messages[1].text, "yes: why");
        let err = parse("hello there\nAnna: hi", "t.txt", "t", &Warnings::default()).pop().unwrap().unwrap_err();
        assert_eq!(err.to_string(), "t.txt:1: expected `Name: text`");
    }

    #[test]
    fn text_without_names_is_one_conversation() {
        let conv = parse("Dear friend, I have a business proposal for you.\nReply soon.", "t.txt", "t", &Warnings::default()).pop().unwrap().unwrap();
        assert_eq!(conv.messages.len(), 1);
        assert_eq!(conv.messages[0].sender, "unknown");
        assert_eq!(conv.messages[0].text, "Dear friend, I have a business proposal for you.\nReply soon.");
        let ocr = "10:32\nhello, is this Anna?\nno, wrong number\n10:35\nso sorry!\nno problem\n";
        let conv = parse(ocr, "t.txt", "t", &Warnings::default()).pop().unwrap().unwrap();
        let texts: Vec<&str> = conv.messages.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, ["hello, is this Anna?", "no, wrong number", "so sorry!", "no problem"]);
        assert!(conv.messages.iter().all(|m| m.sender == "unknown"));
        let err = parse("  \n", "t.txt", "t", &Warnings::default()).pop().unwrap().unwrap_err();
        assert_eq!(err.to_string(), "t.txt: field `messages`: conversation \"t\" has no messages");
    }
}

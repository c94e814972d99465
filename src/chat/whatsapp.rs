//! WhatsApp chat exports (`.txt`), both the iOS style `[dd/mm/yy, hh:mm:ss] Name: text`
//! and the Android style `dd/mm/yyyy, hh:mm - Name: text` (and the Chinese / Japanese and
//! Korean variants `[2024/1/31 下午3:45:12] Name: text`, `2024. 1. 31. 오후 3:45, Name : text`);
//! lines without a header continue the previous message. System and media lines are
//! skipped in every language: those without `Name:`, those iOS marks with U+200E
//! (`‎image omitted`, `‎This message was deleted.`, the encryption notice), and Android's
//! placeholders in angle brackets (`<Media omitted>`, `<Medien ausgeschlossen>`, …).

use std::sync::LazyLock;

use regex::Regex;

use super::{tidy_export, validate, ChatItem, Conversation, Message, ParseError, Warnings};

const TIME: &str = r"(?:(?:上午|下午|午前|午後|오전|오후)\s?)?\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?:[\s\x{202f}]?[AaPp]\.?\s?[Mm]\.?)?";
const DATE: &str = r"\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}";

static IOS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"^\[({DATE}),?\s({TIME})\]\s(.*)$")).expect("valid regex")
});
static ANDROID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"^({DATE}),?\s({TIME})\s[-\x{{2013}}]\s(.*)$")).expect("valid regex")
});
static KOREAN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"^(\d{{4}}\.\s?\d{{1,2}}\.\s?\d{{1,2}}\.)\s({TIME}),\s(.*)$")).expect("valid regex")
});

/// Android's placeholders that are not in angle brackets: a deleted message, as the sender
/// and as the other party see it, in the languages of the corpus (and `null`, a view-once
/// message). Compared whole, ignoring case and a final full stop, so a message that only
/// mentions a deletion is kept.
const ANDROID_PLACEHOLDERS: &[&str] = &[
    "null",
    "this message was deleted",
    "you deleted this message",
    "diese nachricht wurde gelöscht",
    "du hast diese nachricht gelöscht",
    "se eliminó este mensaje",
    "eliminaste este mensaje",
    "ce message a été supprimé",
    "vous avez supprimé ce message",
    "questo messaggio è stato eliminato",
    "hai eliminato questo messaggio",
    "dit bericht is verwijderd",
    "je hebt dit bericht verwijderd",
    "mensagem apagada",
    "você apagou esta mensagem",
    "ta wiadomość została usunięta",
    "usunięto tę wiadomość",
    "bu mesaj silindi",
    "bu mesajı sildiniz",
    "данное сообщение удалено",
    "вы удалили данное сообщение",
    "pesan ini telah dihapus",
    "anda menghapus pesan ini",
    "mesej ini telah dipadam",
    "anda memadam mesej ini",
    "binura ang mensaheng ito",
    "binura mo ang mensaheng ito",
    "tin nhắn này đã bị xóa",
    "bạn đã xóa tin nhắn này",
    "ข้อความนี้ถูกลบแล้ว",
    "คุณลบข้อความนี้แล้ว",
    "تم حذف هذه الرسالة",
    "لقد حذفت هذه الرسالة",
    "यह मैसेज डिलीट कर दिया गया",
    "आपने यह मैसेज डिलीट किया",
    "此消息已删除",
    "你删除了此消息",
    "此訊息已刪除",
    "你已刪除此訊息",
    "このメッセージは削除されました",
    "このメッセージを削除しました",
    "삭제된 메시지입니다",
    "메시지를 삭제했습니다",
];

/// Whether the text of an entry is a system or media line rather than something someone wrote.
fn placeholder(body: &str) -> bool {
    let trimmed = body.trim();
    let sentence = trimmed.trim_end_matches(['.', '。']).to_lowercase();
    body.starts_with('\u{200e}')
        || (trimmed.starts_with('<') && trimmed.ends_with('>') && !trimmed[1..trimmed.len() - 1].contains(['<', '>']))
        || ANDROID_PLACEHOLDERS.contains(&sentence.as_str())
}

fn clean(line: &str) -> &str {
    line.trim_start_matches(['\u{200e}', '\u{200f}', '\u{feff}']).trim_end()
}

/// The `(date, time, rest)` of a line that starts a new entry.
fn header(line: &str) -> Option<(String, String, String)> {
    let line = clean(line);
    let caps = IOS.captures(line).or_else(|| ANDROID.captures(line)).or_else(|| KOREAN.captures(line))?;
    Some((caps[1].to_string(), caps[2].replace('\u{202f}', " "), caps[3].to_string()))
}

/// Whether `line` starts a WhatsApp export entry.
pub fn is_header(line: &str) -> bool {
    header(line).is_some()
}

/// Parses a whole export into one conversation named after the file.
pub fn parse(text: &str, name: &str, stem: &str, warnings: &Warnings) -> Vec<ChatItem> {
    let mut messages: Vec<Message> = Vec::new();
    let mut lines = Vec::new();
    let mut continuing = false;
    let mut seen_header = false;
    for (i, raw) in text.lines().enumerate() {
        match header(raw) {
            Some((date, time, rest)) => {
                seen_header = true;
                let rest = rest.trim_start_matches('\u{200e}');
                match rest.split_once(": ") {
                    Some((sender, body)) if !sender.trim().is_empty() && !placeholder(body) => {
                        lines.push(i + 1);
                        messages.push(Message {
                            sender: sender.trim().to_string(),
                            text: clean(body).to_string(),
                            ts: Some(format!("{date} {time}")),
                            stage: None,
                        });
                        continuing = true;
                    }
                    _ => continuing = false, // system or media line
                }
            }
            None if continuing => {
                if let Some(last) = messages.last_mut() {
                    last.text.push('\n');
                    last.text.push_str(clean(raw));
                }
            }
            None if !seen_header && !raw.trim().is_empty() => {
                return vec![Err(ParseError::new(
                    name,
                    Some(i + 1),
                    None,
                    "expected a WhatsApp entry like `[dd/mm/yy, hh:mm:ss] Name: text`",
                ))];
            }
            None => {}
        }
    }
    for m in &mut messages {
        m.text = m.text.trim_end().to_string();
    }
    tidy_export(&mut messages, |i| (lines.get(i).copied(), None), name, warnings);
    let conv = Conversation { id: stem.to_string(), lang: None, label: None, scam_type: None, messages };
    vec![validate(conv, name, None)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_styles_multiline_and_system_lines() {
        let ios = "[12/03/24, 10:01:22] Messages and calls are end-to-end encrypted.\n\
                   [12/03/24, 10:01:22] Anna: hi, is this David?\n\
                   [12/03/24, 10:02:05] David: no\nwho is this?\n\
                   \u{200e}[12/03/24, 10:03:00] Anna: sorry 😊";
        let conv = parse(ios, "chat.txt", "chat", &Warnings::default()).pop().unwrap().unwrap();
        let texts: Vec<_> = conv.messages.iter().map(|m| (m.sender.as_str(), m.text.as_str())).collect();
        assert_eq!(texts, vec![("Anna", "hi, is this David?"), ("David", "no\nwho is this?"), ("Anna", "sorry 😊")]);
        assert_eq!(conv.messages[0].ts.as_deref(), Some("12/03/24 10:01:22"));

        let android = "03/12/2024, 22:15 - Ravi: hello ji\n03/12/2024, 22:16 - Ravi added Priya\n3/12/24, 10:16\u{202f}PM - Priya: hi";
        let conv = parse(android, "a.txt", "a", &Warnings::default()).pop().unwrap().unwrap();
        assert_eq!(conv.messages.len(), 2);
        assert_eq!(conv.messages[1].ts.as_deref(), Some("3/12/24 10:16 PM"));
    }
}

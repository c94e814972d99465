//! Chat input: every supported format, and bad input reported per file, line and field
//! without panicking (and, in JSONL, without losing the valid lines).

use std::io::Read;

use scamstage::chat::{
    parse_str, parse_str_warned, read, ChatItem, InputFormat, Warnings, MAX_CONVERSATION_MESSAGES, MAX_MESSAGE_BYTES, MAX_RECORD_BYTES,
};

fn ok(items: Vec<ChatItem>) -> Vec<scamstage::chat::Conversation> {
    items.into_iter().map(|i| i.expect("valid conversation")).collect()
}

fn err(items: Vec<ChatItem>) -> String {
    let errs: Vec<String> = items.into_iter().filter_map(|i| i.err()).map(|e| e.to_string()).collect();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(!errs[0].contains('\n'), "one line: {}", errs[0]);
    errs[0].clone()
}

#[test]
fn dataset_json_and_jsonl_round_trip() {
    let line = r#"{"id":"c1","lang":"en","label":"scam","scam_type":"romance_investment","messages":[{"sender":"them","text":"hi, is this Anna?","stage":"contact","ts":"2024-05-01T10:00:00Z"}]}"#;
    let convs = ok(parse_str(line, "d.jsonl", InputFormat::Auto));
    assert_eq!(convs[0].id, "c1");
    assert_eq!(convs[0].messages[0].stage, Some(scamstage::taxonomy::Stage::Contact));
    let pretty = serde_json::to_string_pretty(&convs[0]).unwrap();
    assert_eq!(ok(parse_str(&pretty, "d.json", InputFormat::Auto)), convs);
    let array = format!("[{line},{line}]");
    assert_eq!(ok(parse_str(&array, "d.json", InputFormat::Auto)).len(), 2);
    let wrapped = format!(r#"{{"conversations":[{line}]}}"#);
    assert_eq!(ok(parse_str(&wrapped, "d.json", InputFormat::Json)).len(), 1);
}

#[test]
fn jsonl_keeps_valid_lines_and_reports_bad_ones_with_line_and_field() {
    let input = concat!(
        r#"{"id":"a","messages":[{"sender":"them","text":"hello"}]}"#, "\n",
        r#"{"id":"b","messages":[{"sender":"them","text":5}]}"#, "\n",
        "\n",
        r#"{"id":"c","messages":[{"sender":"them","text":"ok"}"#, "\n",
        r#"{"id":"d","messages":[{"sender":"them","text":"hi","stage":"romance"}]}"#, "\n",
        r#"{"id":"e","messages":[]}"#, "\n",
        r#"{"id":"f","messages":[{"sender":"me","text":"bye"}]}"#, "\n",
    );
    let items = parse_str(input, "chats.jsonl", InputFormat::Auto);
    let ids: Vec<String> = items.iter().filter_map(|i| i.as_ref().ok()).map(|c| c.id.clone()).collect();
    assert_eq!(ids, ["a", "f"]);
    let errs: Vec<String> = items.iter().filter_map(|i| i.as_ref().err()).map(|e| e.to_string()).collect();
    assert_eq!(errs.len(), 4, "{errs:?}");
    assert!(errs[0].starts_with("chats.jsonl:2: field `messages[0].text`: invalid type: integer `5`"), "{}", errs[0]);
    assert!(errs[1].starts_with("chats.jsonl:4:"), "{}", errs[1]);
    assert!(errs[2].contains(":5: field `messages[0].stage`: unknown variant `romance`"), "{}", errs[2]);
    assert!(errs[3].contains(":6: field `messages`: conversation \"e\" has no messages"), "{}", errs[3]);
}

#[test]
fn rejects_empty_and_oversized_messages() {
    let empty = r#"{"id":"x","messages":[{"sender":"them","text":"  "}]}"#;
    assert!(err(parse_str(empty, "e.jsonl", InputFormat::Auto)).contains("field `messages[0].text`: empty message text"));
    let huge = format!(r#"{{"id":"x","messages":[{{"sender":"them","text":"{}"}}]}}"#, "a".repeat(100 * 1024));
    let e = err(parse_str(&huge, "h.jsonl", InputFormat::Auto));
    assert!(e.contains(&format!("over the {MAX_MESSAGE_BYTES}-byte limit")), "{e}");
}

#[test]
fn broken_json_names_the_line() {
    let e = err(parse_str("{\n  \"id\": \"x\",\n  \"messages\": [\n", "broken.json", InputFormat::Auto));
    assert!(e.starts_with("broken.json:4:"), "{e}");
    let e = err(parse_str("{\"id\": 3, \"messages\": []}", "t.json", InputFormat::Json));
    assert!(e.contains("field `id`"), "{e}");
}

#[test]
fn invalid_utf8_bom_and_crlf() {
    let mut bytes = b"Anna: hi\r\nme: hello\r\n".to_vec();
    bytes.extend_from_slice(b"Anna: \xff\xfe bad\n");
    let items: Vec<ChatItem> = read(Box::new(std::io::Cursor::new(bytes)), "bad.txt", InputFormat::Auto, &Warnings::default()).collect();
    assert_eq!(err(items), "bad.txt:3: invalid UTF-8 (convert the file to UTF-8)");

    let bom = "\u{feff}Anna: hi\r\nme: hello\r\n";
    let convs = ok(parse_str(bom, "bom.txt", InputFormat::Auto));
    assert_eq!(convs[0].messages.len(), 2);
    assert_eq!(convs[0].messages[0].sender, "Anna");
    assert_eq!(convs[0].messages[1].text, "hello");

    let mut jsonl = "\u{feff}".as_bytes().to_vec();
    jsonl.extend_from_slice(b"{\"id\":\"a\",\"messages\":[{\"sender\":\"me\",\"text\":\"x\"}]}\r\n");
    jsonl.extend_from_slice(b"{\"id\":\"b\",\"messages\":[{\"sender\":\"me\",\"text\":\"\xc3\x28\"}]}\r\n");
    jsonl.extend_from_slice(b"{\"id\":\"c\",\"messages\":[{\"sender\":\"me\",\"text\":\"y\"}]}\r\n");
    let items: Vec<ChatItem> = read(Box::new(std::io::Cursor::new(jsonl)), "b.jsonl", InputFormat::Auto, &Warnings::default()).collect();
    assert_eq!(items.iter().filter(|i| i.is_ok()).count(), 2);
    assert_eq!(err(items.into_iter().filter(|i| i.is_err()).collect()), "b.jsonl:2: invalid UTF-8 (convert the file to UTF-8)");
}

#[test]
fn whatsapp_exports_in_both_styles() {
    let ios = std::fs::read_to_string("examples/en-whatsapp-wrong-number.txt").unwrap();
    let conv = ok(parse_str(&ios, "examples/en-whatsapp-wrong-number.txt", InputFormat::Auto)).remove(0);
    assert_eq!(conv.id, "en-whatsapp-wrong-number");
    assert_eq!(conv.messages.len(), 15, "the encryption notice is a system line");
    assert_eq!(conv.messages[0].sender, "Grace Lin");
    let android = "12/03/2024, 21:04 - Messages and calls are end-to-end encrypted.\n\
                   12/03/2024, 21:04 - Ravi: hello ji\n\
                   how are you?\n\
                   12/03/2024, 21:05 - Priya: fine 🙂";
    let conv = ok(parse_str(android, "wa.txt", InputFormat::Auto)).remove(0);
    assert_eq!(conv.messages.len(), 2);
    assert_eq!(conv.messages[0].text, "hello ji\nhow are you?");
    let e = err(parse_str("not a chat\n12/03/2024, 21:04 - Ravi: hi", "wa.txt", InputFormat::Whatsapp));
    assert!(e.starts_with("wa.txt:1:"), "{e}");
}

#[test]
fn telegram_exports_single_and_full() {
    let single = std::fs::read_to_string("examples/en-telegram-couple.json").unwrap();
    let conv = ok(parse_str(&single, "result.json", InputFormat::Auto)).remove(0);
    assert_eq!(conv.id, "Sam");
    assert_eq!(conv.messages.len(), 6, "service messages are skipped");
    assert!(conv.messages[2].text.contains("lasagna"));
    let full = format!(r#"{{"about":"export","chats":{{"about":"","list":[{single},{single}]}}}}"#);
    assert_eq!(ok(parse_str(&full, "result.json", InputFormat::Auto)).len(), 2);
    let e = err(parse_str(r#"{"chats":{"list":[{"name":"x","messages":5}]}}"#, "r.json", InputFormat::Telegram));
    assert!(e.contains("field `chats.list[0].messages`"), "{e}");
}

#[test]
fn transcripts_and_stdin_style_streams() {
    let conv = ok(parse_str("them: hi\nme: who is this?\nthem: sorry, wrong number\n", "-", InputFormat::Auto)).remove(0);
    assert_eq!(conv.messages.len(), 3);
}

fn line(id: &str, text: &str) -> String {
    serde_json::json!({"id": id, "messages": [{"sender": "them", "text": text}]}).to_string()
}

#[test]
fn empty_input_is_no_conversations_in_every_format() {
    for format in [InputFormat::Auto, InputFormat::Json, InputFormat::Jsonl, InputFormat::Transcript, InputFormat::Whatsapp, InputFormat::Telegram] {
        for input in ["", "\n\n", "\u{feff}", "  \r\n"] {
            assert!(parse_str(input, "part-00007", format).is_empty(), "{format:?} {input:?}");
        }
    }
}

#[test]
fn a_bad_first_jsonl_line_loses_only_itself() {
    for bad in ["{\"id\":\"x\",\"messages\":[{\"sender\":\"them\",\"text\":\"tab\there\"}]}", "{broken", "{\"id\":\"cut\",\"messages\":["] {
        let mut input = format!("{bad}\n");
        for i in 0..999 {
            input.push_str(&line(&format!("c{i}"), "hello"));
            input.push('\n');
        }
        let items = parse_str(&input, "in.jsonl", InputFormat::Auto);
        assert_eq!(items.len(), 1000, "{bad}");
        assert_eq!(items.iter().filter(|i| i.is_ok()).count(), 999, "{bad}");
        let e = items[0].as_ref().unwrap_err().to_string();
        assert!(e.starts_with("in.jsonl:1: "), "{e}");
        assert!(!e.contains("field `?`"), "a syntax error names no field: {e}");
    }
    // A pretty-printed document is still one document.
    let pretty = serde_json::to_string_pretty(&serde_json::json!({"id": "p", "messages": [{"sender": "them", "text": "hi"}]})).unwrap();
    assert_eq!(ok(parse_str(&pretty, "p.json", InputFormat::Auto))[0].id, "p");
}

#[test]
fn a_one_line_conversations_wrapper_is_a_document() {
    let doc = format!(r#"{{"conversations": [{}, {}]}}"#, line("a", "hi"), line("b", "yo"));
    let ids: Vec<String> = ok(parse_str(&doc, "w.json", InputFormat::Auto)).into_iter().map(|c| c.id).collect();
    assert_eq!(ids, ["a", "b"]);
}

#[test]
fn scalars_and_utf16_are_handled() {
    for (doc, found) in [("null", "null"), ("42", "a number"), ("\"hi\"", "a string")] {
        let e = err(parse_str(doc, "s.json", InputFormat::Auto));
        assert!(e.starts_with("s.json:1: expected a conversation object") && e.ends_with(&format!("found {found}")), "{e}");
    }
    let text = "Anna: hi 你好\nme: hello\n";
    for little in [true, false] {
        let mut bytes = if little { vec![0xFF, 0xFE] } else { vec![0xFE, 0xFF] };
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&if little { unit.to_le_bytes() } else { unit.to_be_bytes() });
        }
        let items: Vec<ChatItem> = read(Box::new(std::io::Cursor::new(bytes)), "u16.txt", InputFormat::Auto, &Warnings::default()).collect();
        let conv = ok(items).remove(0);
        assert_eq!((conv.messages[0].text.as_str(), conv.messages[1].sender.as_str()), ("hi 你好", "me"));
    }
}

/// A reader of `prefix`, then `n` bytes of `fill`, then `suffix`, without holding the middle.
fn long_input(prefix: &str, fill: u8, n: usize, suffix: &str) -> Box<dyn std::io::BufRead> {
    let middle = std::io::repeat(fill).take(n as u64);
    Box::new(std::io::BufReader::new(std::io::Cursor::new(prefix.to_string()).chain(middle).chain(std::io::Cursor::new(suffix.to_string()))))
}

#[test]
fn records_over_the_size_limit_are_refused_and_the_rest_kept() {
    // A JSONL line over the limit: refused by line number, the lines around it kept.
    let before = format!("{}\n", line("a", "hi"));
    let after = format!("\n{}\n", line("c", "yo"));
    let items: Vec<ChatItem> = read(long_input(&before, b'x', MAX_RECORD_BYTES + 10, &after), "big.jsonl", InputFormat::Auto, &Warnings::default()).collect();
    let summary: Vec<Result<String, String>> = items.into_iter().map(|i| i.map(|c| c.id).map_err(|e| e.to_string())).collect();
    assert_eq!(summary, vec![Ok("a".into()), Err("big.jsonl:2: line is over the 32 MiB record limit".into()), Ok("c".into())]);
    // The first line itself over the limit, no newline at all.
    let items: Vec<ChatItem> = read(long_input("{", b'x', MAX_RECORD_BYTES + 10, ""), "one.jsonl", InputFormat::Auto, &Warnings::default()).collect();
    assert_eq!(err(items), "one.jsonl:1: line is over the 32 MiB record limit");
    // A whole document over the limit.
    let items: Vec<ChatItem> = read(long_input("Anna: ", b'y', MAX_RECORD_BYTES + 10, "\n"), "t.txt", InputFormat::Auto, &Warnings::default()).collect();
    assert!(err(items).starts_with("t.txt:1: line is over the 32 MiB record limit"));
    let items: Vec<ChatItem> = read(long_input("Anna: hi\nme: ", b'y', MAX_RECORD_BYTES, "\n"), "t.txt", InputFormat::Auto, &Warnings::default()).collect();
    assert!(err(items).starts_with("t.txt: the input (one document"));
}

#[test]
fn conversations_over_the_message_cap_are_one_line_errors() {
    let messages = vec![serde_json::json!({"sender": "them", "text": "hi"}); MAX_CONVERSATION_MESSAGES + 1];
    let input = format!("{}\n{}\n", serde_json::json!({"id": "long", "messages": messages}), line("ok", "fine"));
    let items = parse_str(&input, "long.jsonl", InputFormat::Auto);
    assert_eq!(items.len(), 2);
    assert!(items[1].is_ok());
    let e = items[0].as_ref().unwrap_err().to_string();
    assert_eq!(e, format!("long.jsonl:1: field `messages`: {} messages, over the limit of {MAX_CONVERSATION_MESSAGES} per conversation (split it)", MAX_CONVERSATION_MESSAGES + 1));
}

#[test]
fn whatsapp_system_and_media_lines_are_skipped_in_any_language() {
    let ios = "[12/03/24, 10:01:22] Grace: \u{200e}Messages and calls are end-to-end encrypted. No one outside of this chat can read them.\n\
               [12/03/24, 10:01:30] Grace: hi Tom\n\
               \u{200e}[12/03/24, 10:02:00] Grace: \u{200e}image omitted\n\
               \u{200e}[12/03/24, 10:02:10] Mark: \u{200e}Bild weggelassen\n\
               [12/03/24, 10:03:00] Mark: \u{200e}This message was deleted.\n\
               [12/03/24, 10:03:05] Mark: \u{200e}\n\
               [12/03/24, 10:04:00] Mark: wrong number";
    let (items, warnings) = parse_str_warned(ios, "ios.txt", InputFormat::Auto);
    let conv = ok(items).remove(0);
    let texts: Vec<&str> = conv.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["hi Tom", "wrong number"]);
    assert_eq!(conv.messages[1].ts.as_deref(), Some("12/03/24 10:04:00"), "the timeline is not shifted");
    assert!(warnings.is_empty(), "{warnings:?}");
    let android = "12/03/2024, 21:04 - Ravi: <Media omitted>\n12/03/2024, 21:05 - Ravi: <Medien ausgeschlossen>\n\
                   12/03/2024, 21:06 - Ravi: <省略多媒体>\n12/03/2024, 21:07 - Priya: This message was deleted\n\
                   12/03/2024, 21:08 - Priya: see <this> and <that>\n\
                   12/03/2024, 21:09 - Priya: Diese Nachricht wurde gelöscht\n\
                   12/03/2024, 21:10 - Priya: Se eliminó este mensaje.\n\
                   12/03/2024, 21:11 - Priya: 此消息已删除\n\
                   12/03/2024, 21:12 - Priya: 삭제된 메시지입니다\n\
                   12/03/2024, 21:13 - Priya: Данное сообщение удалено\n\
                   12/03/2024, 21:14 - Priya: Tin nhắn này đã bị xóa\n\
                   12/03/2024, 21:15 - Priya: ข้อความนี้ถูกลบแล้ว\n\
                   12/03/2024, 21:16 - Priya: why was this message was deleted?";
    let conv = ok(parse_str(android, "a.txt", InputFormat::Auto)).remove(0);
    let texts: Vec<&str> = conv.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["see <this> and <that>", "why was this message was deleted?"]);
}

#[test]
fn whatsapp_chinese_and_korean_locales() {
    let zh = "[2024/1/31 下午3:45:12] Grace: 你好\n[2024/1/31 下午3:46:00] 王伟: 你是谁？";
    let conv = ok(parse_str(zh, "zh.txt", InputFormat::Auto)).remove(0);
    assert_eq!((conv.messages[0].sender.as_str(), conv.messages[0].text.as_str()), ("Grace", "你好"));
    assert_eq!(conv.messages[1].sender, "王伟");
    let ko = "2024. 1. 31. 오후 3:45, Grace : hi\n2024. 1. 31. 오후 3:46, 민준 : 누구세요?";
    let conv = ok(parse_str(ko, "ko.txt", InputFormat::Auto)).remove(0);
    let senders: Vec<&str> = conv.messages.iter().map(|m| m.sender.as_str()).collect();
    assert_eq!(senders, ["Grace", "민준"]);
    assert_eq!(conv.messages[0].ts.as_deref(), Some("2024. 1. 31. 오후 3:45"));
}

#[test]
fn one_odd_message_does_not_reject_an_export() {
    let long = "z".repeat(MAX_MESSAGE_BYTES + 100);
    let wa = format!("[12/03/24, 10:01:22] Anna: hi\n[12/03/24, 10:01:30] Anna: {long}\n[12/03/24, 10:01:40] Bo: ok");
    let (items, warnings) = parse_str_warned(&wa, "wa.txt", InputFormat::Auto);
    let conv = ok(items).remove(0);
    assert_eq!(conv.messages.len(), 3);
    assert_eq!(conv.messages[1].text.len(), MAX_MESSAGE_BYTES);
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].to_string(), format!("wa.txt:2: message is {} bytes, truncated to the {MAX_MESSAGE_BYTES}-byte limit", MAX_MESSAGE_BYTES + 100));

    let transcript = format!("Anna: hi\nBo: \u{200e}\nAnna: {}\nBo: bye", "é".repeat(MAX_MESSAGE_BYTES));
    let (items, warnings) = parse_str_warned(&transcript, "t.txt", InputFormat::Auto);
    let conv = ok(items).remove(0);
    let texts: Vec<usize> = conv.messages.iter().map(|m| m.text.len()).collect();
    assert_eq!(texts, [2, MAX_MESSAGE_BYTES, 3], "invisible message skipped, long one cut at a character boundary");
    let warnings: Vec<String> = warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(warnings[0], "t.txt: field `messages[1].text`: message has no visible text; skipped");
    assert!(warnings[1].starts_with("t.txt: field `messages[2].text`: message is 131072 bytes, truncated"), "{warnings:?}");

    let tg = serde_json::json!({"name": "Lena", "type": "personal_chat", "id": 1, "messages": [
        {"id": 1, "type": "message", "date": "2024-05-01T09:01:00", "from": "Lena", "text": long},
        {"id": 2, "type": "message", "date": "2024-05-01T09:02:00", "from": "Me", "text": "ok"}]});
    let (items, warnings) = parse_str_warned(&tg.to_string(), "result.json", InputFormat::Auto);
    assert_eq!(ok(items)[0].messages.len(), 2);
    assert!(warnings[0].to_string().starts_with("result.json: field `messages[0].text`: message is"), "{warnings:?}");
}

#[test]
fn telegram_full_exports_name_chats_apart() {
    let chat = |id: u64, name: &str, text: serde_json::Value| serde_json::json!({"name": name, "type": "personal_chat", "id": id, "messages": [
        {"id": 1, "type": "message", "date": "2024-05-01T09:01:00", "from": name, "text": text}]});
    let media = serde_json::json!({"name": "Pics", "type": "personal_chat", "id": 9, "messages": [
        {"id": 1, "type": "message", "date": "2024-05-01T09:01:00", "from": "Pics", "photo": "p.jpg", "text": ""}]});
    let export = serde_json::json!({"chats": {"list": [chat(1, "Anna", "hi".into()), media, chat(2, "Anna", "yo".into()), chat(3, "Bo", 5.into())]}});
    let (items, warnings) = parse_str_warned(&export.to_string(), "result.json", InputFormat::Auto);
    assert_eq!(items.len(), 3, "the media-only chat is skipped");
    let ids: Vec<String> = items.iter().filter_map(|i| i.as_ref().ok()).map(|c| c.id.clone()).collect();
    assert_eq!(ids, ["Anna#1", "Anna#2"]);
    assert_eq!(err(items), "result.json: field `chats.list[3].messages[0].text`: expected a string or an array of text entities");
    assert_eq!(warnings[0].to_string(), "result.json: field `chats.list[1]`: chat \"Pics\" has no text messages; skipped");
}

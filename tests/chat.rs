//! Chat input: every supported format, and bad input reported per file, line and field
//! without panicking (and, in JSONL, without losing the valid lines).

use scamstage::chat::{parse_str, read, ChatItem, InputFormat, MAX_MESSAGE_BYTES};

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
    let items: Vec<ChatItem> = read(Box::new(std::io::Cursor::new(bytes)), "bad.txt", InputFormat::Auto).collect();
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
    let items: Vec<ChatItem> = read(Box::new(std::io::Cursor::new(jsonl)), "b.jsonl", InputFormat::Auto).collect();
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
    assert_eq!(err(parse_str("", "empty.txt", InputFormat::Auto)), "empty.txt: field `messages`: conversation \"empty\" has no messages");
}

//! Property tests: arbitrary bytes never panic any reader (every format, auto-detection
//! included), and valid conversations come back unchanged through every format that can
//! carry them.

use proptest::prelude::*;
use scamstage::chat::{parse_str, read, ChatItem, Conversation, InputFormat, Message, Warnings};

const FORMATS: [InputFormat; 6] =
    [InputFormat::Auto, InputFormat::Json, InputFormat::Jsonl, InputFormat::Transcript, InputFormat::Whatsapp, InputFormat::Telegram];

fn read_bytes(bytes: Vec<u8>, format: InputFormat) -> Vec<ChatItem> {
    read(Box::new(std::io::Cursor::new(bytes)), "fuzz", format, &Warnings::default()).collect()
}

/// Bytes that look a little like chat input: fragments of every format, mixed with noise.
fn chatty_bytes() -> impl Strategy<Value = Vec<u8>> {
    let fragment = prop_oneof![
        Just(b"{\"id\":\"a\",\"messages\":[{\"sender\":\"them\",\"text\":\"hi\"}]}\n".to_vec()),
        Just(b"[12/03/24, 10:01:22] Anna: hi\n".to_vec()),
        Just("\u{200e}[12/03/24, 10:01:22] Anna: \u{200e}image omitted\n".as_bytes().to_vec()),
        Just(b"12/03/2024, 21:04 - Ravi: <Media omitted>\n".to_vec()),
        Just(b"{\"chats\":{\"list\":[{\"name\":\"x\",\"messages\":[".to_vec()),
        Just(b"Anna: hello\n".to_vec()),
        Just(b"\xEF\xBB\xBF".to_vec()),
        Just(b"\xFF\xFE".to_vec()),
        Just(b"{\"conversations\": [".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..40),
        "[\\[\\]{}\":,\\\\ a-z0-9\n\r\u{200e}]{0,40}".prop_map(String::into_bytes),
    ];
    proptest::collection::vec(fragment, 0..12).prop_map(|parts| parts.concat())
}

fn text() -> impl Strategy<Value = String> {
    // Visible text without the characters a line format uses for structure.
    "[a-zA-Z0-9 ,.!?'éü你好😊]{0,30}[a-zA-Z0-9éü你好😊]".prop_map(|s| s.trim_start().to_string()).prop_filter("visible", |s| !s.is_empty())
}

fn conversation() -> impl Strategy<Value = Conversation> {
    let sender = prop_oneof![Just("them".to_string()), Just("me".to_string()), "[A-Z][a-z]{1,8}"];
    let message = (sender, text()).prop_map(|(sender, text)| Message { sender, text, ts: None, stage: None });
    ("[a-z][a-z0-9-]{0,12}", proptest::collection::vec(message, 1..20))
        .prop_map(|(id, messages)| Conversation { id, lang: None, label: None, scam_type: None, messages })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        for format in FORMATS {
            for item in read_bytes(bytes.clone(), format) {
                if let Err(e) = item {
                    prop_assert!(!e.to_string().contains('\n'), "one-line errors: {e}");
                }
            }
        }
    }

    #[test]
    fn chat_like_bytes_never_panic(bytes in chatty_bytes()) {
        for format in FORMATS {
            let _ = read_bytes(bytes.clone(), format);
        }
    }

    #[test]
    fn conversations_round_trip_through_every_format(convs in proptest::collection::vec(conversation(), 1..4)) {
        let jsonl: String = convs.iter().map(|c| serde_json::to_string(c).unwrap() + "\n").collect();
        let back: Vec<Conversation> = parse_str(&jsonl, "r.jsonl", InputFormat::Auto).into_iter().map(Result::unwrap).collect();
        prop_assert_eq!(&back, &convs);
        let doc = serde_json::to_string_pretty(&serde_json::json!({"conversations": convs})).unwrap();
        let back: Vec<Conversation> = parse_str(&doc, "r.json", InputFormat::Auto).into_iter().map(Result::unwrap).collect();
        prop_assert_eq!(&back, &convs);

        // Line formats carry one conversation, named after the file.
        let conv = Conversation { id: "chat".into(), ..convs[0].clone() };
        let transcript: String = conv.messages.iter().map(|m| format!("{}: {}\n", m.sender, m.text)).collect();
        let back = parse_str(&transcript, "chat.txt", InputFormat::Transcript).remove(0).unwrap();
        prop_assert_eq!(&back, &conv);
        let whatsapp: String = conv.messages.iter().enumerate().map(|(i, m)| format!("[12/03/24, 10:{:02}:00] {}: {}\n", i % 60, m.sender, m.text)).collect();
        let back = parse_str(&whatsapp, "chat.txt", InputFormat::Auto).remove(0).unwrap();
        let texts: Vec<(&str, &str)> = back.messages.iter().map(|m| (m.sender.as_str(), m.text.as_str())).collect();
        let want: Vec<(&str, &str)> = conv.messages.iter().map(|m| (m.sender.as_str(), m.text.as_str())).collect();
        prop_assert_eq!(texts, want);
    }
}

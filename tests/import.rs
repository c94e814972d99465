//! Importers on small fixtures written in each corpus's real format (structure copied, not
//! data), plus a smoke run over the real `../shared/datasets` when it is there.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use scamstage::chat::Conversation;
use scamstage::import::{import_all, ImportKind, Imported, Options, Part};
use scamstage::taxonomy::{Label, ScamType, Stage};

fn write(dir: &Path, rel: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    p
}

fn run(kind: ImportKind, path: &Path, options: &Options) -> Imported {
    import_all(kind, &[path.to_path_buf()], options).unwrap()
}

fn all(kind: ImportKind, path: &Path) -> Imported {
    run(kind, path, &Options::default())
}

/// Benign conversations have `none` on every message; scams have a type and no stages.
fn assert_shape(c: &Conversation) {
    match c.label {
        Some(Label::Benign) => {
            assert_eq!(c.scam_type, Some(ScamType::None), "{}", c.id);
            assert!(c.messages.iter().all(|m| m.stage == Some(Stage::None)), "{}", c.id);
        }
        Some(Label::Scam) => {
            assert!(!matches!(c.scam_type, None | Some(ScamType::None)), "{}", c.id);
            assert!(c.messages.iter().all(|m| m.stage.is_none()), "{}", c.id);
        }
        None => panic!("{} has no label", c.id),
    }
}

fn types(imported: &Imported) -> Vec<(Label, ScamType)> {
    imported.conversations.iter().map(|c| (c.label.unwrap(), c.scam_type.unwrap())).collect()
}

fn senders(c: &Conversation) -> Vec<&str> {
    c.messages.iter().map(|m| m.sender.as_str()).collect()
}

const B: (Label, ScamType) = (Label::Benign, ScamType::None);

fn teleantifraud_line(fraud_type: &str, left: &[&str], right: &[&str]) -> String {
    serde_json::json!({"tts_id": "tts_fraud_00001", "left": left, "right": right, "fraud_type": fraud_type,
        "user_age": 40, "user_awareness": "中", "occupation": "教师", "terminator": "left", "termination_reason": "完成"})
    .to_string()
}

#[test]
fn teleantifraud_maps_fraud_types_and_interleaves_turns() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        ("投资诈骗", ScamType::Investment),
        ("彩票诈骗", ScamType::AdvanceFee),
        ("银行诈骗", ScamType::Impersonation),
        ("客服诈骗", ScamType::Impersonation),
        ("绑架诈骗", ScamType::Impersonation),
        ("邮件诈骗", ScamType::Impersonation),
        ("钓鱼诈骗", ScamType::Phishing),
        ("身份盗窃", ScamType::Phishing),
    ];
    let fraud: Vec<String> =
        rows.iter().enumerate().map(|(i, (t, _))| teleantifraud_line(t, &[&format!("您好{i}"), "请转账"], &["谁？", "不"])).collect();
    write(dir.path(), "fraud_dialogues-1.jsonl", fraud.join("\n"));
    write(dir.path(), "normal_dialogues-1.jsonl", teleantifraud_line("外卖服务", &["您好，您的外卖到了"], &["好的谢谢"]));
    write(dir.path(), "SOURCE.txt", "not a corpus file");
    let got = all(ImportKind::Teleantifraud, dir.path());
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    let mut want: Vec<(Label, ScamType)> = rows.iter().map(|&(_, t)| (Label::Scam, t)).collect();
    want.push(B);
    assert_eq!(types(&got), want);
    assert_eq!(senders(&got.conversations[0]), ["them", "me", "them", "me"]);
    assert_eq!(got.conversations[0].messages[1].text, "谁？");
    assert_eq!(got.conversations[0].id, "teleantifraud:fraud_dialogues-1.jsonl:1");
    assert_eq!(got.conversations[0].lang.as_deref(), Some("zh"));
    got.conversations.iter().for_each(assert_shape);
}

#[test]
fn bothbosu_uses_the_type_column() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "dialogue,personality,type,labels\n\
        \"Innocent: Hello.  Suspect: This is the Social Security Administration. Innocent: Really?\",,ssn,1\n\
        \"Suspect: You won a $500 gift card! Pay the fee. Innocent: No.\",,reward,1\n\
        \"Suspect: Your appointment is tomorrow. Innocent: Thanks.\",,appointment,0\n";
    write(dir.path(), "multi.csv", csv);
    let got = all(ImportKind::Bothbosu, dir.path());
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    assert_eq!(types(&got), [(Label::Scam, ScamType::Impersonation), (Label::Scam, ScamType::AdvanceFee), B]);
    assert_eq!(senders(&got.conversations[0]), ["me", "them", "me"]);
    assert_eq!(got.conversations[0].messages[1].text, "This is the Social Security Administration.");
    got.conversations.iter().for_each(assert_shape);
}

#[test]
fn sms_corpora_map_scams_to_phishing_and_drop_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "raw_data/a.txt", "scam|รับโบนัสฟรี bit.ly/x\nOK|ถึงบ้านแล้ว\r\nOTP|รหัส 1234\nspam|ลดราคา 50%\n\nscam|รับโบนัสฟรี bit.ly/x\n");
    write(dir.path(), "LICENSE.txt", "MIT");
    let got = all(ImportKind::ThaiSms, dir.path());
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    assert_eq!(types(&got), [(Label::Scam, ScamType::Phishing), B, B, B]);
    assert_eq!(got.summary.duplicates, 1);
    assert_eq!(got.conversations[1].messages[0].text, "ถึงบ้านแล้ว");

    let csv = write(dir.path(), "sms.csv", "LABEL,TEXT,URL,EMAIL,PHONE\nham,see you at 5,No,No,No\nSmishing,Your parcel is held: http://x.co,Yes,No,No\nSpam,50% off pizza,No,No,No\n");
    let got = all(ImportKind::SmsPhishing, &csv);
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    assert_eq!(types(&got), [B, (Label::Scam, ScamType::Phishing), B]);
    got.conversations.iter().for_each(assert_shape);
}

fn byu_message(text: &str, sender: &str) -> serde_json::Value {
    serde_json::json!({"text": text, "timestamp": "2018-05-02T19:38:15Z", "sender": sender})
}

/// `n` two-person BYU chats among `people` speakers, plus a single-sender one.
fn byu_fixture(dir: &Path, people: usize, n: usize) -> (PathBuf, HashMap<String, [String; 2]>) {
    let mut obj = serde_json::Map::new();
    let mut speakers = HashMap::new();
    for i in 0..n {
        let (a, b) = (format!("s{}", i % people), format!("s{}", (i * 7 + 1 + i / people) % people));
        if a == b {
            continue;
        }
        let uuid = format!("c{i:04}");
        let turns = serde_json::json!([
            [byu_message(&format!("hi {i}"), &a), byu_message("how are you?", &a)],
            [byu_message(&format!("good {i}"), &b)],
            [byu_message(" ", &a), byu_message("cool", &a)],
        ]);
        obj.insert(uuid.clone(), serde_json::json!({"messages": turns, "start": "2018-05-03T01:38:01Z", "prompt": "Hi"}));
        speakers.insert(format!("byu-chitchat:{uuid}"), [a, b]);
    }
    obj.insert("lonely".into(), serde_json::json!({"messages": [[byu_message("are you there?", "s0")]]}));
    let p = write(dir, "dataset.json", serde_json::to_string(&obj).unwrap());
    (p, speakers)
}

#[test]
fn byu_flattens_turns_and_drops_single_sender_chats() {
    let dir = tempfile::tempdir().unwrap();
    let (p, speakers) = byu_fixture(dir.path(), 4, 3);
    let got = all(ImportKind::ByuChitchat, &p);
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    assert_eq!(got.conversations.len(), speakers.len());
    assert_eq!(got.summary.filtered.values().sum::<usize>(), 1 + speakers.len(), "one single-sender chat, one blank message each");
    let c = &got.conversations[0];
    assert_eq!(senders(c), ["them", "them", "me", "them"]);
    assert_eq!(c.messages[3].text, "cool");
    assert_eq!(c.messages[0].ts.as_deref(), Some("2018-05-02T19:38:15Z"));
    assert_eq!(c.lang.as_deref(), Some("en"));
    got.conversations.iter().for_each(assert_shape);
}

#[test]
fn speaker_parts_are_disjoint_by_speaker_and_cover_the_kept_chats() {
    let dir = tempfile::tempdir().unwrap();
    let (p, speakers) = byu_fixture(dir.path(), 12, 120);
    let opts = |part| Options { part, ..Options::default() };
    let every = run(ImportKind::ByuChitchat, &p, &opts(Part::All));
    let train = run(ImportKind::ByuChitchat, &p, &opts(Part::Train));
    let test = run(ImportKind::ByuChitchat, &p, &opts(Part::Test));
    let people = |imp: &Imported| -> HashSet<String> { imp.conversations.iter().flat_map(|c| speakers[&c.id].clone()).collect() };
    let (tr, te) = (people(&train), people(&test));
    assert!(!tr.is_empty() && !te.is_empty(), "both parts have speakers: {tr:?} {te:?}");
    assert!(tr.is_disjoint(&te), "a speaker in both parts: {:?}", tr.intersection(&te).collect::<Vec<_>>());
    assert_eq!(train.conversations.len() + test.conversations.len() + train.summary.straddling, every.conversations.len());
    assert_eq!(train.summary.straddling, test.summary.straddling);
    assert_eq!(train.summary.dropped_by_part, test.conversations.len());
    let ids = |imp: &Imported| -> HashSet<String> { imp.conversations.iter().map(|c| c.id.clone()).collect() };
    assert!(ids(&train).is_disjoint(&ids(&test)));
    // Deterministic, and a different seed gives a different split.
    assert_eq!(ids(&run(ImportKind::ByuChitchat, &p, &opts(Part::Train))), ids(&train));
    let other = run(ImportKind::ByuChitchat, &p, &Options { part: Part::Train, seed: 7, ..Options::default() });
    assert_ne!(ids(&other), ids(&train));
    // --sample still applies after --part.
    let sampled = run(ImportKind::ByuChitchat, &p, &Options { part: Part::Train, sample: Some(3), ..Options::default() });
    assert_eq!(sampled.conversations.len(), 3);
    assert!(ids(&sampled).is_subset(&ids(&train)));
}

fn rpc_dialogue(id: u64, a: &str, b: &str) -> String {
    let utt = |k: u64, who: &str, text: &str| serde_json::json!({"utterance_id": k, "interlocutor_id": who, "text": text, "timestamp": if k == 2 { "NaT" } else { "2022-08-06T14:51:18.360000" }});
    serde_json::to_string_pretty(&serde_json::json!({
        "dialogue_id": id, "interlocutors": [a, b],
        "utterances": [utt(0, b, &format!("よろしくお願いします！{id}")), utt(1, a, "<AB>さんはいかがですか？"), utt(2, b, "＊＊"), utt(3, a, ""), utt(4, b, "＊＊で働いてます")],
        "evaluations": []
    }))
    .unwrap()
}

#[test]
fn real_persona_chat_skips_masked_utterances_and_splits_by_speaker() {
    let dir = tempfile::tempdir().unwrap();
    let people = ["AA", "AB", "AC", "AD", "AE", "AF", "AG", "AH"];
    let mut pairs = HashMap::new();
    for i in 0..40u64 {
        let (a, b) = (people[i as usize % 8], people[(i as usize * 3 + 1) % 8]);
        write(dir.path(), &format!("dialogues/{:05}.json", i + 1), rpc_dialogue(i + 1, a, b));
        pairs.insert(format!("real-persona-chat:{}", i + 1), [a, b]);
    }
    write(dir.path(), "interlocutors.json", r#"{"AA": {"persona": []}}"#);
    let got = all(ImportKind::RealPersonaChat, dir.path());
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    assert_eq!(got.conversations.len(), 40);
    let c = &got.conversations[0];
    assert_eq!(c.id, "real-persona-chat:1");
    let texts: Vec<&str> = c.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["よろしくお願いします！1", "<AB>さんはいかがですか？", "＊＊で働いてます"]);
    assert_eq!(senders(c), ["them", "me", "them"]);
    assert_eq!(c.lang.as_deref(), Some("ja"));
    got.conversations.iter().for_each(assert_shape);

    let part = |p| run(ImportKind::RealPersonaChat, dir.path(), &Options { part: p, ..Options::default() });
    let (train, test) = (part(Part::Train), part(Part::Test));
    let people = |imp: &Imported| -> HashSet<&str> { imp.conversations.iter().flat_map(|c| pairs[&c.id]).collect() };
    assert!(people(&train).is_disjoint(&people(&test)));
    assert_eq!(train.conversations.len() + test.conversations.len() + train.summary.straddling, 40);
}

/// An XPersona dialogue of `pairs` utterance pairs and `persona` sentences, text marked by `tag`.
fn xp_dialogue(tag: &str, pairs: usize, persona: usize) -> serde_json::Value {
    let dialogue: Vec<[String; 2]> = (0..pairs).map(|k| [format!("{tag} q{k}"), format!("{tag} a{k}")]).collect();
    let persona: Vec<String> = (0..persona).map(|k| format!("{tag} p{k}")).collect();
    serde_json::json!({"persona": persona, "dialogue": dialogue})
}

#[test]
fn xpersona_translations_land_in_the_same_part_in_every_language() {
    let dir = tempfile::tempdir().unwrap();
    // Source dialogues 0..30 with different shapes. Like the real files, each language holds
    // a different subset, in a different order, and puts some in valid, others in test.
    let shape = |d: usize| 5 + d % 4;
    let mut files: HashMap<String, Vec<serde_json::Value>> = HashMap::new();
    for (li, lang) in ["Fr", "It"].iter().enumerate() {
        for d in (0..30).filter(|d| (d + li) % 5 != 0) {
            let split = if (d + li) % 3 == 0 { "valid" } else { "test" };
            files.entry(format!("{lang}_persona_split_{split}_human_annotated.json")).or_default().push(xp_dialogue(&format!("{lang}{d}"), shape(d), 3 + d % 3));
        }
    }
    for (name, mut dialogues) in files {
        dialogues.reverse();
        write(dir.path(), &name, serde_json::to_string(&dialogues).unwrap());
    }
    let source = |c: &Conversation| -> usize { c.messages[0].text.split(' ').next().unwrap()[2..].parse().unwrap() };
    let part = |p| run(ImportKind::Xpersona, dir.path(), &Options { part: p, ..Options::default() });
    let (train, test) = (part(Part::Train), part(Part::Test));
    assert!(!train.conversations.is_empty() && !test.conversations.is_empty());
    let in_train: HashSet<usize> = train.conversations.iter().map(source).collect();
    let in_test: HashSet<usize> = test.conversations.iter().map(source).collect();
    assert!(in_train.is_disjoint(&in_test), "a source dialogue in both parts: {:?}", in_train.intersection(&in_test).collect::<Vec<_>>());
    let every = all(ImportKind::Xpersona, dir.path());
    assert_eq!(train.conversations.len() + test.conversations.len(), every.conversations.len());
    let langs: HashSet<&str> = every.conversations.iter().filter_map(|c| c.lang.as_deref()).collect();
    assert_eq!(langs, HashSet::from(["fr", "it"]));
    let c = &every.conversations[0];
    assert_eq!(senders(c)[..4], ["them", "me", "them", "me"]);
    every.conversations.iter().for_each(assert_shape);
}

#[test]
fn single_message_and_pair_corpora() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("wisesight");
    write(&ws, "pos.txt", "อร่อยมาก\r\nชอบ\u{2028}ค่ะ\r\n");
    write(&ws, "q.txt", "เท่าไหร่\n");
    write(&ws, "LICENSE.txt", "CC0");
    let got = all(ImportKind::Wisesight, &ws);
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    let texts: Vec<&str> = got.conversations.iter().map(|c| c.messages[0].text.as_str()).collect();
    assert_eq!(texts, ["อร่อยมาก", "ชอบ\u{2028}ค่ะ", "เท่าไหร่"], "U+2028 does not split a message");
    assert!(got.conversations.iter().all(|c| c.lang.as_deref() == Some("th") && senders(c) == ["them"]));

    let ko = write(dir.path(), "komuchat.csv", "tag,Q,A,src\nbreakup,헤어졌다링,힘내유 ㅠㅠ,fmkorea\nlove,\"고백, 할까\",해라,instiz\n");
    let got = all(ImportKind::Komuchat, &ko);
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    assert_eq!(got.conversations.len(), 2);
    assert_eq!(senders(&got.conversations[1]), ["them", "me"]);
    assert_eq!(got.conversations[1].messages[0].text, "고백, 할까");

    let kd = dir.path().join("kdconv");
    let dialogue = serde_json::json!([{"name": "恋恋笔记本", "messages": [{"message": "知道这部电影吗？"}, {"message": "知道", "attrs": [{"name": "x", "attrname": "y", "attrvalue": "z"}]}, {"message": "好看吗？"}]}]);
    write(&kd, "film/dev.json", dialogue.to_string());
    write(&kd, "music/test.json", dialogue.to_string().replace("好看吗", "好听吗"));
    let got = all(ImportKind::Kdconv, &kd);
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    let ids: Vec<&str> = got.conversations.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["kdconv:film/dev.json:0", "kdconv:music/test.json:0"]);
    assert_eq!(senders(&got.conversations[0]), ["them", "me", "them"]);

    let id = write(dir.path(), "train_preprocess.csv", "label,tweet\nfear,Penyakit hepatitis B serem!\nlove,\"Sayang kamu, [USERNAME]\"\n");
    let got = all(ImportKind::IndonluEmot, &id);
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    assert_eq!(types(&got), [B, B]);
    assert_eq!(got.conversations[1].lang.as_deref(), Some("id"));
    for (kind, p) in [(ImportKind::Wisesight, &ws), (ImportKind::Komuchat, &ko), (ImportKind::Kdconv, &kd), (ImportKind::IndonluEmot, &id)] {
        all(kind, p).conversations.iter().for_each(assert_shape);
    }
}

fn janitr_row(id: &str, text: &str, labels: &[&str], source_id: &str) -> String {
    serde_json::json!({"id": id, "platform": "x", "source_id": source_id, "source_url": "", "text": text,
        "notes": "scam giveaway; do not read me", "labels": labels})
    .to_string()
}

#[test]
fn janitr_maps_fraud_labels_drops_synthetic_rows_and_never_reads_notes() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        janitr_row("x_1", "Connect your wallet to claim: drainer.xyz", &["phishing", "scam", "topic_crypto"], "1"),
        janitr_row("x_2", "DM me to recover your lost BTC", &["recovery_scam", "topic_crypto"], "2"),
        janitr_row("x_3", "ELON GIVEAWAY send 1 get 2", &["impersonation", "scam", "topic_crypto"], "3"),
        janitr_row("x_4", "Buy my course, 20% off", &["promo", "affiliate"], "4"),
        janitr_row("x_5", "XRP bags are huge", &["topic_crypto"], "5"),
        janitr_row("x_6", "gm", &["clean"], "6"),
        janitr_row("x_7", "a made-up post", &["clean"], "clean_batch_01"),
        janitr_row("x_8", "gm", &["clean"], "8"),
        janitr_row("x_9", "no labels at all", &[], "9"),
    ];
    let p = write(dir.path(), "sample.jsonl", rows.join("\n"));
    let got = all(ImportKind::Janitr, &p);
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    assert_eq!(
        types(&got),
        [(Label::Scam, ScamType::Phishing), (Label::Scam, ScamType::Investment), (Label::Scam, ScamType::Investment), B, B, B, B]
    );
    assert_eq!(got.summary.duplicates, 1);
    assert_eq!(got.summary.filtered.values().sum::<usize>(), 1);
    assert_eq!(got.conversations[0].id, "janitr:x_1");
    assert!(got.conversations.iter().all(|c| !c.messages[0].text.contains("do not read")));
    got.conversations.iter().for_each(assert_shape);
}

#[test]
fn max_messages_keeps_the_first_n() {
    let dir = tempfile::tempdir().unwrap();
    let (p, _) = byu_fixture(dir.path(), 4, 3);
    let got = run(ImportKind::ByuChitchat, &p, &Options { max_messages: Some(2), ..Options::default() });
    assert!(!got.conversations.is_empty());
    for c in &got.conversations {
        assert_eq!(c.messages.len(), 2);
        assert!(c.messages[0].text.starts_with("hi "));
    }
    assert_eq!(got.summary.messages, 2 * got.conversations.len());
    assert!(import_all(ImportKind::ByuChitchat, &[p], &Options { max_messages: Some(0), ..Options::default() }).is_err());
}

#[test]
fn unknown_labels_are_errors_naming_value_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(ImportKind, PathBuf, &str)> = vec![
        (ImportKind::ThaiSms, write(dir.path(), "t.txt", "OK|hello\nlottery|win now\n"), "t.txt:2: field `label`: unknown label \"lottery\""),
        (ImportKind::SmsPhishing, write(dir.path(), "s.csv", "label,TEXT\nham,hi\nfraud,click\n"), "s.csv:3: field `label`: unknown label \"fraud\""),
        (ImportKind::Bothbosu, write(dir.path(), "b.csv", "dialogue,type,labels\n\"Suspect: hi Innocent: hi\",ssn,2\n"), "b.csv:2: field `labels`: unknown label \"2\""),
        (ImportKind::Bothbosu, write(dir.path(), "b2.csv", "dialogue,type,labels\n\"Suspect: hi Innocent: hi\",crypto,1\n"), "b2.csv:2: field `type`: unknown scam type \"crypto\""),
        (ImportKind::Teleantifraud, write(dir.path(), "f.jsonl", teleantifraud_line("情感诈骗", &["hi"], &["hi"])), "f.jsonl:1: field `fraud_type`: unknown fraud_type \"情感诈骗\""),
        (ImportKind::IndonluEmot, write(dir.path(), "e.csv", "label,tweet\nhappy,senang\nbored,bosan\n"), "e.csv:3: field `label`: unknown label \"bored\""),
        (ImportKind::Janitr, write(dir.path(), "j.jsonl", janitr_row("x_1", "gm", &["clean", "wat"], "1")), "j.jsonl:1: field `labels`: unknown label \"wat\""),
    ];
    for (kind, path, want) in cases {
        let got = all(kind, &path);
        let msgs: Vec<String> = got.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(msgs.len(), 1, "{kind:?}: {msgs:?}");
        assert!(msgs[0].contains(want), "{kind:?}: {} lacks {want}", msgs[0]);
        assert_eq!(got.summary.rejected, 1);
    }
}

#[test]
fn invalid_utf8_and_broken_records_are_reported_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let got = all(ImportKind::ThaiSms, &write(dir.path(), "t.txt", b"OK|one\nOK|t\xffwo\nscam|three\n"));
    assert_eq!(got.conversations.len(), 2);
    assert_eq!(got.errors.len(), 1);
    assert!(got.errors[0].to_string().contains("t.txt:2: invalid UTF-8"), "{}", got.errors[0]);

    let got = all(ImportKind::Komuchat, &write(dir.path(), "k.csv", b"tag,Q,A,src\nlove,\xc3(,ok,fm\nlove,q,a,fm\nlove,,empty,fm\n"));
    assert_eq!(got.conversations.len(), 1);
    let msgs: Vec<String> = got.errors.iter().map(|e| e.to_string()).collect();
    assert!(msgs[0].contains("k.csv:2: field `Q`: invalid UTF-8"), "{msgs:?}");
    assert!(msgs[1].contains("k.csv:4: field `messages[0].text`: empty message text"), "{msgs:?}");

    let mut bad = br#"[{"messages": [{"message": "ok"}]}, {"messages": [{"message": ""#.to_vec();
    bad.extend(b"\xff\"}]}]");
    let got = all(ImportKind::Kdconv, &write(dir.path(), "kd/film/dev.json", bad));
    assert_eq!(got.errors.len(), 1);
    assert!(got.errors[0].to_string().contains("dev.json:1:"), "{}", got.errors[0]);

    let long = "x".repeat(70 * 1024);
    let got = all(ImportKind::Wisesight, &write(dir.path(), "ws/neu.txt", format!("fine\n{long}\n")));
    assert_eq!(got.conversations.len(), 1);
    assert!(got.errors[0].to_string().contains("neu.txt:2: field `messages[0].text`: message is"), "{}", got.errors[0]);

    let got = all(ImportKind::Janitr, &write(dir.path(), "j.jsonl", "{\"id\": \"x_1\", \"text\": \"gm\"}\n"));
    assert!(got.errors[0].to_string().contains("j.jsonl:1: missing field `labels`"), "{}", got.errors[0]);
}

#[test]
fn ids_are_unique_across_corpora() {
    let dir = tempfile::tempdir().unwrap();
    let tele = write(dir.path(), "tele/fraud.jsonl", [teleantifraud_line("投资诈骗", &["a"], &["b"]), teleantifraud_line("投资诈骗", &["c"], &["d"])].join("\n"));
    let thai = write(dir.path(), "thai/a.txt", "OK|a\nOK|b\n");
    let ws = write(dir.path(), "ws/pos.txt", "a\nb\n");
    let mut ids = HashSet::new();
    for (kind, p) in [(ImportKind::Teleantifraud, tele), (ImportKind::ThaiSms, thai), (ImportKind::Wisesight, ws)] {
        for c in all(kind, &p).conversations {
            assert!(ids.insert(c.id.clone()), "duplicate id {}", c.id);
        }
    }
    assert_eq!(ids.len(), 6);
}

#[test]
fn cli_writes_jsonl_reports_a_summary_and_fails_on_bad_records() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "t.txt", "OK|hello\nscam|click bit.ly/x\nweird|x\n");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scamstage")).args(["import", "thai-sms"]).arg(&p).args(["--max-messages", "1"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("t.txt:3: field `label`: unknown label \"weird\""), "{stderr}");
    assert!(stderr.contains("imported 2 conversations, wrote 2 (2 messages) [benign/none 1, scam/phishing 1]"), "{stderr}");
    assert!(stderr.contains("1 rejected"), "{stderr}");
    let lines: Vec<Conversation> = String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "records before and after the bad one are kept");
}

/// The shared corpora, when present (`SCAMSTAGE_SHARED_DATASETS` or `../shared/datasets`).
fn shared() -> Option<PathBuf> {
    let p = std::env::var_os("SCAMSTAGE_SHARED_DATASETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets"));
    p.is_dir().then_some(p)
}

#[test]
fn smoke_every_importer_on_the_real_corpora() {
    let Some(root) = shared() else {
        println!("note: ../shared/datasets is absent (set SCAMSTAGE_SHARED_DATASETS); smoke run skipped");
        return;
    };
    let corpora = [
        (ImportKind::Teleantifraud, "TeleAntiFraud-multiagent-zh"),
        (ImportKind::Bothbosu, "BothBosu-Synthetic-Data-for-Scam-Detection"),
        (ImportKind::ThaiSms, "Thai-SMS-spam-filter"),
        (ImportKind::SmsPhishing, "SMS-Phishing-Dataset-5971"),
        (ImportKind::ByuChitchat, "BYU-chitchat-en"),
        (ImportKind::RealPersonaChat, "RealPersonaChat-ja"),
        (ImportKind::Xpersona, "XPersona"),
        (ImportKind::Wisesight, "wisesight-sentiment-th"),
        (ImportKind::Komuchat, "KOMUChat-ko"),
        (ImportKind::Kdconv, "KdConv-zh"),
        (ImportKind::IndonluEmot, "IndoNLU-EmoT-id"),
        (ImportKind::Janitr, "janitr-x-posts-en"),
    ];
    for (kind, dir) in corpora {
        let path = root.join(dir);
        if !path.is_dir() {
            println!("note: {} absent, skipped", path.display());
            continue;
        }
        let t = std::time::Instant::now();
        let got = all(kind, &path);
        println!("{kind:?}: {} ({:.1} s)", got.summary, t.elapsed().as_secs_f64());
        // Real data has a few bad records (janitr has a media-only post with empty text):
        // each is reported with its line, and they stay rare.
        for e in &got.errors {
            println!("  rejected: {e}");
            assert!(e.line.is_some() || e.source_name.contains('('), "{kind:?}: unlocated error {e}");
        }
        assert!(got.errors.len() * 1000 < got.summary.imported, "{kind:?}: {} errors", got.errors.len());
        assert!(got.conversations.len() > 100, "{kind:?}: {}", got.summary);
        got.conversations.iter().for_each(assert_shape);
        let ids: HashSet<&str> = got.conversations.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids.len(), got.conversations.len(), "{kind:?}: ids unique");
    }
}

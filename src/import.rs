//! Importers for the public corpora in `../shared/datasets` into the dataset shape. Labels
//! and scam types map to the taxonomy as documented in `datasets/README.md`: benign corpora
//! get `stage: none` on every message, scams get a scam type and no stages (none of these
//! corpora labels stages). A label outside a corpus's mapping is an error naming the value
//! and the line; every conversation goes through [`validate`].
//!
//! [`import_all`] also drops exact duplicates, truncates to `max_messages`, and keeps one
//! part of a deterministic train/test split by a seeded hash of group keys (speakers,
//! dialogues or post texts), so that a group never straddles the two parts.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::chat::{validate, Conversation, Message, ParseError};
use crate::taxonomy::{Label, ScamType, Stage};

/// Supported corpora (CLI values in kebab case, e.g. `byu-chitchat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportKind {
    /// TeleAntiFraud multi-agent JSONL (zh): `left` caller turns, `right` user turns, `fraud_type`.
    Teleantifraud,
    /// BothBosu synthetic scam-call CSV (en): `dialogue` with `Suspect:`/`Innocent:` turns, `type`, `labels`.
    Bothbosu,
    /// Thai SMS `label|text` lines.
    ThaiSms,
    /// SMS phishing CSV `label,TEXT,URL,EMAIL,PHONE` (en).
    SmsPhishing,
    /// BYU Chit-Chat `dataset.json` (en): `{uuid: {messages: [[{text, timestamp, sender}]]}}`.
    ByuChitchat,
    /// RealPersonaChat dialogue files `NNNNN.json` (ja).
    RealPersonaChat,
    /// XPersona `Xx_persona_split_{valid,test}_human_annotated.json` (fr, id, it, ja, ko, zh).
    Xpersona,
    /// Wisesight sentiment `pos/neu/neg/q.txt` (th), one message per line.
    Wisesight,
    /// KOMUChat CSV `tag,Q,A,src` (ko).
    Komuchat,
    /// KdConv `{film,music,travel}/{dev,test}.json` (zh).
    Kdconv,
    /// IndoNLU EmoT CSV `label,tweet` (id).
    IndonluEmot,
    /// janitr X posts JSONL (mostly en) with multi-label `labels`.
    Janitr,
}

impl ImportKind {
    /// The CLI name, also the prefix of every imported id.
    pub fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self).expect("no skipped variants").get_name().to_string()
    }

    /// Whether a file met while walking a directory belongs to the corpus.
    fn wants(self, file: &Path) -> bool {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if ["LICENSE", "SOURCE", "README", "LABELS"].iter().any(|doc| name.starts_with(doc)) {
            return false;
        }
        let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
        match self {
            ImportKind::Teleantifraud | ImportKind::Janitr => ext == "jsonl",
            ImportKind::Bothbosu | ImportKind::SmsPhishing | ImportKind::Komuchat | ImportKind::IndonluEmot => ext == "csv",
            ImportKind::ThaiSms | ImportKind::Wisesight => ext == "txt",
            ImportKind::ByuChitchat | ImportKind::Xpersona | ImportKind::Kdconv => ext == "json",
            // Dialogue files are named by their number; interlocutors.json is not one.
            ImportKind::RealPersonaChat => {
                ext == "json" && file.file_stem().and_then(|s| s.to_str()).is_some_and(|s| s.bytes().all(|b| b.is_ascii_digit()))
            }
        }
    }
}

/// Which side of the train/test split to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, clap::ValueEnum)]
pub enum Part {
    /// Groups hashing above the test fraction.
    Train,
    /// Groups hashing below the test fraction.
    Test,
    /// Everything.
    #[default]
    All,
}

/// How to import.
#[derive(Debug, Clone)]
pub struct Options {
    /// Keep only the first N messages of each conversation.
    pub max_messages: Option<usize>,
    /// Which part of the split to keep.
    pub part: Part,
    /// Share of groups in the test part.
    pub test_fraction: f64,
    /// Keep a seeded sample of at most N conversations per label (after the split).
    pub sample: Option<usize>,
    /// Seed of the split hash and of the sample.
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self { max_messages: None, part: Part::All, test_fraction: 0.3, sample: None, seed: 42 }
    }
}

/// Counts of one run, printed as the stderr summary.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    /// Conversations that passed validation (before the split and the sample).
    pub imported: usize,
    /// Conversations written.
    pub written: usize,
    /// Messages written.
    pub messages: usize,
    /// Written conversations per `label/scam_type`.
    pub per_label: BTreeMap<String, usize>,
    /// Conversations whose groups all hash to the other part.
    pub dropped_by_part: usize,
    /// Conversations whose groups hash to both parts (dropped when a part is asked for).
    pub straddling: usize,
    /// Records rejected with an error.
    pub rejected: usize,
    /// Exact duplicates of an earlier conversation's messages, skipped.
    pub duplicates: usize,
    /// Records or messages left out by a documented corpus filter, per reason.
    pub filtered: BTreeMap<&'static str, usize>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "imported {} conversations, wrote {} ({} messages)", self.imported, self.written, self.messages)?;
        let labels: Vec<String> = self.per_label.iter().map(|(k, v)| format!("{k} {v}")).collect();
        if !labels.is_empty() {
            write!(f, " [{}]", labels.join(", "))?;
        }
        write!(
            f,
            "; {} dropped by part, {} straddling both parts, {} rejected, {} duplicates skipped",
            self.dropped_by_part, self.straddling, self.rejected, self.duplicates
        )?;
        for (reason, n) in &self.filtered {
            write!(f, ", {n} {reason}")?;
        }
        Ok(())
    }
}

/// The outcome of [`import_all`].
#[derive(Debug, Default)]
pub struct Imported {
    /// Conversations to write, in corpus order.
    pub conversations: Vec<Conversation>,
    /// Problems, one per rejected record.
    pub errors: Vec<ParseError>,
    /// Counts.
    pub summary: Summary,
}

/// What a record is: benign (all stages `none`) or a scam of a type (no stages).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    Benign,
    Scam(ScamType),
}

/// The part a group key hashes to: SHA-256 of the seed and the key, as a fraction of 2^64.
pub fn part_of(key: &str, seed: u64, test_fraction: f64) -> Part {
    let digest = Sha256::new().chain_update(seed.to_le_bytes()).chain_update(key.as_bytes()).finalize();
    let x = u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"));
    if (x as f64) / 18_446_744_073_709_551_616.0 < test_fraction {
        Part::Test
    } else {
        Part::Train
    }
}

/// Collects records: dedupes, truncates, validates and splits them.
struct Sink<'a> {
    kind: ImportKind,
    options: &'a Options,
    seen: HashSet<[u8; 16]>,
    out: Imported,
}

impl Sink<'_> {
    fn reject(&mut self, e: ParseError) {
        self.out.summary.rejected += 1;
        self.out.errors.push(e);
    }

    fn filter(&mut self, reason: &'static str, n: usize) {
        if n > 0 {
            *self.out.summary.filtered.entry(reason).or_default() += n;
        }
    }

    /// Adds one conversation; `groups` are the split keys (all must hash to one part).
    fn add(&mut self, at: (&str, Option<usize>), id: String, lang: &str, target: Target, mut messages: Vec<Message>, groups: &[&str]) {
        let mut hash = Sha256::new();
        for m in &messages {
            hash.update(m.sender.as_bytes());
            hash.update([0]);
            hash.update(m.text.as_bytes());
            hash.update([0x1e]);
        }
        let digest: [u8; 16] = hash.finalize()[..16].try_into().expect("16 bytes");
        if !self.seen.insert(digest) {
            self.out.summary.duplicates += 1;
            return;
        }
        if let Some(n) = self.options.max_messages {
            messages.truncate(n);
        }
        let (label, scam_type, stage) = match target {
            Target::Benign => (Label::Benign, ScamType::None, Some(Stage::None)),
            Target::Scam(t) => (Label::Scam, t, None),
        };
        for m in &mut messages {
            m.stage = stage;
        }
        let id = format!("{}:{id}", self.kind.name());
        let conv = Conversation { id, lang: Some(lang.into()), label: Some(label), scam_type: Some(scam_type), messages };
        let conv = match validate(conv, at.0, at.1) {
            Ok(c) => c,
            Err(e) => return self.reject(e),
        };
        self.out.summary.imported += 1;
        let parts: HashSet<Part> = groups.iter().map(|g| part_of(g, self.options.seed, self.options.test_fraction)).collect();
        if self.options.part != Part::All {
            if parts.len() > 1 {
                self.out.summary.straddling += 1;
                return;
            }
            if !parts.contains(&self.options.part) {
                self.out.summary.dropped_by_part += 1;
                return;
            }
        } else if parts.len() > 1 {
            self.out.summary.straddling += 1;
        }
        self.out.conversations.push(conv);
    }
}

fn err(name: &str, line: usize, field: &str, msg: impl Into<String>) -> ParseError {
    ParseError { source_name: name.to_string(), line: Some(line), field: (!field.is_empty()).then(|| field.to_string()), message: msg.into() }
}

fn msg(sender: &str, text: &str, ts: Option<&str>) -> Message {
    Message { sender: sender.into(), text: text.trim().to_string(), ts: ts.map(str::to_string), stage: None }
}

/// Dialogue turns without their empty ones (counted as filtered).
fn non_empty(sink: &mut Sink, messages: Vec<Message>) -> Vec<Message> {
    let before = messages.len();
    let kept: Vec<Message> = messages.into_iter().filter(|m| !m.text.is_empty()).collect();
    sink.filter("empty messages dropped", before - kept.len());
    kept
}

/// One corpus file as `name` (for errors) and `rel` (its path below the argument, for ids).
struct Source<'a> {
    path: &'a Path,
    name: String,
    rel: String,
}

impl Source<'_> {
    fn bytes(&self) -> anyhow::Result<Vec<u8>> {
        Ok(std::fs::read(self.path)?)
    }

    /// Non-empty lines with their 1-based numbers; invalid UTF-8 lines are rejected.
    fn lines(&self, sink: &mut Sink) -> anyhow::Result<Vec<(usize, String)>> {
        let bytes = self.bytes()?;
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        let mut out = Vec::new();
        for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
            match std::str::from_utf8(line) {
                Ok(s) if s.trim().is_empty() => {}
                Ok(s) => out.push((i + 1, s.trim_end_matches('\r').to_string())),
                Err(_) => sink.reject(err(&self.name, i + 1, "", "invalid UTF-8 (convert the file to UTF-8)")),
            }
        }
        Ok(out)
    }

    /// One JSON record per non-empty line, with its line number; a line that does not
    /// parse is rejected (named with its line) and skipped.
    fn jsonl<T: serde::de::DeserializeOwned>(&self, sink: &mut Sink) -> anyhow::Result<Vec<(usize, T)>> {
        let mut rows = Vec::new();
        for (line, text) in self.lines(sink)? {
            match serde_json::from_str(&text) {
                Ok(row) => rows.push((line, row)),
                Err(e) => sink.reject(err(&self.name, line, "", e.to_string())),
            }
        }
        Ok(rows)
    }

    /// A whole-file JSON document; a parse error rejects the file and yields `None`.
    fn json<T: serde::de::DeserializeOwned>(&self, sink: &mut Sink) -> anyhow::Result<Option<T>> {
        let bytes = self.bytes()?;
        match serde_json::from_slice(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes)) {
            Ok(v) => Ok(Some(v)),
            Err(e) => {
                sink.reject(err(&self.name, e.line(), "", e.to_string()));
                Ok(None)
            }
        }
    }

    /// CSV records as (line, named fields); records with invalid UTF-8 are rejected. `columns`
    /// must all exist in the header.
    fn csv(&self, sink: &mut Sink, columns: &[&str]) -> anyhow::Result<Vec<(usize, Vec<String>)>> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_path(self.path)?;
        let headers: Vec<String> = reader
            .byte_headers()?
            .iter()
            .map(|h| String::from_utf8_lossy(h).trim_start_matches('\u{feff}').trim().to_string())
            .collect();
        let idx = columns
            .iter()
            .map(|c| {
                headers
                    .iter()
                    .position(|h| h.eq_ignore_ascii_case(c))
                    .ok_or_else(|| anyhow::anyhow!("no `{c}` column (columns: {})", headers.join(", ")))
            })
            .collect::<anyhow::Result<Vec<usize>>>()?;
        let mut rows = Vec::new();
        for rec in reader.byte_records() {
            let rec = match rec {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line() as usize);
                    sink.reject(err(&self.name, line, "", e.to_string()));
                    continue;
                }
            };
            let line = rec.position().map_or(0, |p| p.line() as usize);
            let fields: Result<Vec<String>, usize> =
                idx.iter().map(|&i| std::str::from_utf8(rec.get(i).unwrap_or(b"")).map(str::to_string).map_err(|_| i)).collect();
            match fields {
                Ok(f) => rows.push((line, f)),
                Err(i) => sink.reject(err(&self.name, line, &headers[i], "invalid UTF-8 (convert the file to UTF-8)")),
            }
        }
        Ok(rows)
    }
}

fn teleantifraud(src: &Source, sink: &mut Sink) -> anyhow::Result<()> {
    #[derive(Deserialize)]
    struct Row {
        left: Vec<String>,
        right: Vec<String>,
        fraud_type: String,
    }
    for (line, row) in src.jsonl::<Row>(sink)? {
        let target = match row.fraud_type.as_str() {
            "投资诈骗" => Target::Scam(ScamType::Investment),
            "彩票诈骗" => Target::Scam(ScamType::AdvanceFee),
            // Bank, fake customer service, kidnapping (a relative's "captor" or teacher) and
            // courier-parcel ("mail") calls all pose as someone the callee trusts or fears.
            "银行诈骗" | "客服诈骗" | "绑架诈骗" | "邮件诈骗" => Target::Scam(ScamType::Impersonation),
            "钓鱼诈骗" | "身份盗窃" => Target::Scam(ScamType::Phishing),
            "订餐服务" | "外卖服务" | "预约服务" | "咨询客服" | "日常购物" | "打车服务" | "交通咨询" => Target::Benign,
            other => {
                sink.reject(err(&src.name, line, "fraud_type", format!("unknown fraud_type {other:?}")));
                continue;
            }
        };
        let mut messages = Vec::new();
        for k in 0..row.left.len().max(row.right.len()) {
            messages.extend(row.left.get(k).map(|t| msg("them", t, None)));
            messages.extend(row.right.get(k).map(|t| msg("me", t, None)));
        }
        let messages = non_empty(sink, messages);
        // tts_id repeats across the generator's runs, so the file and line identify a dialogue.
        let id = format!("{}:{line}", src.rel);
        sink.add((&src.name, Some(line)), id.clone(), "zh", target, messages, &[id.as_str()]);
    }
    Ok(())
}

fn bothbosu(src: &Source, sink: &mut Sink) -> anyhow::Result<()> {
    let speaker = regex::Regex::new(r"(Suspect|Innocent)\s*:").expect("valid regex");
    for (line, f) in src.csv(sink, &["dialogue", "type", "labels"])? {
        let (text, kind, label) = (&f[0], f[1].trim(), f[2].trim());
        let target = match (label, kind) {
            ("0", _) => Target::Benign,
            ("1", "ssn" | "support" | "refund") => Target::Scam(ScamType::Impersonation),
            ("1", "reward") => Target::Scam(ScamType::AdvanceFee),
            ("1", other) => {
                sink.reject(err(&src.name, line, "type", format!("unknown scam type {other:?} (expected ssn, support, refund or reward)")));
                continue;
            }
            (other, _) => {
                sink.reject(err(&src.name, line, "labels", format!("unknown label {other:?} (expected 0 or 1)")));
                continue;
            }
        };
        let marks: Vec<(usize, usize, bool)> = speaker
            .captures_iter(text)
            .map(|c| {
                let m = c.get(0).expect("match");
                (m.start(), m.end(), &c[1] == "Suspect")
            })
            .collect();
        let messages = marks
            .iter()
            .enumerate()
            .map(|(k, &(_, end, suspect))| {
                let stop = marks.get(k + 1).map_or(text.len(), |m| m.0);
                msg(if suspect { "them" } else { "me" }, &text[end..stop], None)
            })
            .collect();
        let messages = non_empty(sink, messages);
        let id = format!("{}:{line}", src.rel);
        sink.add((&src.name, Some(line)), id.clone(), "en", target, messages, &[id.as_str()]);
    }
    Ok(())
}

/// One post per conversation, sender `them`, grouped by its text.
fn post(src: &Source, sink: &mut Sink, line: usize, id: String, lang: &str, target: Target, text: &str) {
    sink.add((&src.name, Some(line)), id, lang, target, vec![msg("them", text, None)], &[text.trim()]);
}

fn sms_target(raw: &str) -> Option<Target> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "scam" | "smishing" => Some(Target::Scam(ScamType::Phishing)),
        "ok" | "ham" | "otp" | "spam" => Some(Target::Benign),
        _ => None,
    }
}

fn thai_sms(src: &Source, sink: &mut Sink) -> anyhow::Result<()> {
    for (line, text) in src.lines(sink)? {
        let Some((raw, body)) = text.split_once('|') else {
            sink.reject(err(&src.name, line, "label", "expected `label|text`"));
            continue;
        };
        match sms_target(raw) {
            Some(t) => post(src, sink, line, format!("{}:{line}", src.rel), "th", t, body),
            None => sink.reject(err(&src.name, line, "label", format!("unknown label {raw:?} (expected OK, OTP, spam or scam)"))),
        }
    }
    Ok(())
}

fn sms_phishing(src: &Source, sink: &mut Sink) -> anyhow::Result<()> {
    for (line, f) in src.csv(sink, &["label", "TEXT"])? {
        match sms_target(&f[0]) {
            Some(t) => post(src, sink, line, format!("{}:{line}", src.rel), "en", t, &f[1]),
            None => sink.reject(err(&src.name, line, "label", format!("unknown label {:?} (expected ham, spam or smishing)", f[0]))),
        }
    }
    Ok(())
}

fn byu(src: &Source, sink: &mut Sink) -> anyhow::Result<()> {
    #[derive(Deserialize)]
    struct Conv {
        messages: Vec<Vec<Msg>>,
    }
    #[derive(Deserialize)]
    struct Msg {
        text: String,
        sender: String,
        #[serde(default)]
        timestamp: Option<String>,
    }
    let Some(convs) = src.json::<BTreeMap<String, Conv>>(sink)? else { return Ok(()) };
    for (uuid, conv) in convs {
        let flat: Vec<&Msg> = conv.messages.iter().flatten().collect();
        let mut senders: Vec<&str> = Vec::new();
        for m in &flat {
            if !senders.contains(&m.sender.as_str()) {
                senders.push(&m.sender);
            }
        }
        if senders.len() != 2 {
            sink.filter("BYU conversations without exactly two senders", 1);
            continue;
        }
        let messages = flat
            .iter()
            .map(|m| msg(if m.sender == senders[0] { "them" } else { "me" }, &m.text, m.timestamp.as_deref()))
            .collect();
        let messages = non_empty(sink, messages);
        let groups = [format!("byu:{}", senders[0]), format!("byu:{}", senders[1])];
        let at = format!("{} (conversation {uuid})", src.name);
        sink.add((&at, None), uuid, "en", Target::Benign, messages, &[groups[0].as_str(), groups[1].as_str()]);
    }
    Ok(())
}

/// Whether a RealPersonaChat utterance has text besides `<ID>` name masks and `＊` masks.
fn unmasked(text: &str) -> bool {
    let mut rest = text;
    let mut kept = String::new();
    while let Some(start) = rest.find('<') {
        kept.push_str(&rest[..start]);
        match rest[start..].find('>') {
            Some(end) => rest = &rest[start + end + 1..],
            None => {
                kept.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    kept.push_str(rest);
    kept.chars().any(|c| c.is_alphanumeric() && c != '＊')
}

fn real_persona_chat(src: &Source, sink: &mut Sink) -> anyhow::Result<()> {
    #[derive(Deserialize)]
    struct Dialogue {
        dialogue_id: u64,
        interlocutors: Vec<String>,
        utterances: Vec<Utterance>,
    }
    #[derive(Deserialize)]
    struct Utterance {
        interlocutor_id: String,
        text: String,
        #[serde(default)]
        timestamp: Option<String>,
    }
    let Some(d) = src.json::<Dialogue>(sink)? else { return Ok(()) };
    let first = d.utterances.first().map(|u| u.interlocutor_id.clone()).unwrap_or_default();
    let before = d.utterances.len();
    let messages: Vec<Message> = d
        .utterances
        .iter()
        .filter(|u| unmasked(&u.text))
        .map(|u| {
            let ts = u.timestamp.as_deref().filter(|t| *t != "NaT");
            msg(if u.interlocutor_id == first { "them" } else { "me" }, &u.text, ts)
        })
        .collect();
    sink.filter("empty or fully masked utterances dropped", before - messages.len());
    let groups: Vec<String> = d.interlocutors.iter().map(|s| format!("real-persona-chat:{s}")).collect();
    let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
    sink.add((&src.name, None), d.dialogue_id.to_string(), "ja", Target::Benign, messages, &groups);
    Ok(())
}

fn xpersona(src: &Source, sink: &mut Sink) -> anyhow::Result<()> {
    #[derive(Deserialize)]
    struct Dialogue {
        persona: Vec<String>,
        dialogue: Vec<Vec<String>>,
    }
    let file = src.path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let lang = match file.split('_').next().unwrap_or("") {
        "En" => "en",
        "Fr" => "fr",
        "Id" => "id",
        "It" => "it",
        "Jp" => "ja",
        "Ko" => "ko",
        "Zh" => "zh",
        other => anyhow::bail!("unknown XPersona language prefix {other:?} (expected En, Fr, Id, It, Jp, Ko or Zh)"),
    };
    let Some(dialogues) = src.json::<Vec<Dialogue>>(sink)? else { return Ok(()) };
    for (i, d) in dialogues.iter().enumerate() {
        let messages = d.dialogue.iter().flat_map(|pair| pair.iter().enumerate().map(|(k, t)| msg(if k % 2 == 0 { "them" } else { "me" }, t, None))).collect();
        let messages = non_empty(sink, messages);
        // The language files hold different subsets of the English dialogues in different
        // orders and valid/test assignments, so neither index nor file says which dialogues
        // are translations of each other. What a translation keeps is its shape: the number
        // of utterance pairs and of persona sentences. Grouping by that shape keeps every
        // translation of a dialogue in one part (coarsely: few groups).
        let group = format!("xpersona:pairs={}:persona={}", d.dialogue.len(), d.persona.len());
        let at = format!("{} (dialogue {i})", src.name);
        sink.add((&at, None), format!("{}:{i}", src.rel), lang, Target::Benign, messages, &[group.as_str()]);
    }
    Ok(())
}

fn wisesight(src: &Source, sink: &mut Sink) -> anyhow::Result<()> {
    for (line, text) in src.lines(sink)? {
        post(src, sink, line, format!("{}:{line}", src.rel), "th", Target::Benign, &text);
    }
    Ok(())
}

fn komuchat(src: &Source, sink: &mut Sink) -> anyhow::Result<()> {
    for (line, f) in src.csv(sink, &["Q", "A"])? {
        let id = format!("{}:{line}", src.rel);
        let messages = vec![msg("them", &f[0], None), msg("me", &f[1], None)];
        sink.add((&src.name, Some(line)), id.clone(), "ko", Target::Benign, messages, &[id.as_str()]);
    }
    Ok(())
}

fn kdconv(src: &Source, sink: &mut Sink) -> anyhow::Result<()> {
    #[derive(Deserialize)]
    struct Dialogue {
        messages: Vec<Utterance>,
    }
    #[derive(Deserialize)]
    struct Utterance {
        message: String,
    }
    let Some(dialogues) = src.json::<Vec<Dialogue>>(sink)? else { return Ok(()) };
    for (i, d) in dialogues.iter().enumerate() {
        let messages = d.messages.iter().enumerate().map(|(k, u)| msg(if k % 2 == 0 { "them" } else { "me" }, &u.message, None)).collect();
        let messages = non_empty(sink, messages);
        let id = format!("{}:{i}", src.rel);
        let at = format!("{} (dialogue {i})", src.name);
        sink.add((&at, None), id.clone(), "zh", Target::Benign, messages, &[id.as_str()]);
    }
    Ok(())
}

fn indonlu(src: &Source, sink: &mut Sink) -> anyhow::Result<()> {
    for (line, f) in src.csv(sink, &["label", "tweet"])? {
        match f[0].trim() {
            "anger" | "happy" | "sadness" | "fear" | "love" => post(src, sink, line, format!("{}:{line}", src.rel), "id", Target::Benign, &f[1]),
            other => sink.reject(err(&src.name, line, "label", format!("unknown label {other:?} (expected anger, happy, sadness, fear or love)"))),
        }
    }
    Ok(())
}

/// janitr's non-topic labels (LABELS.md); any `topic_*` label is a topic filter.
const JANITR_LABELS: &[&str] = &[
    "clean", "scam", "phishing", "malware", "impersonation", "fake_support", "recovery_scam", "job_scam", "romance_scam",
    "account_compromise", "spam", "reply_spam", "dm_spam", "promo", "affiliate", "lead_gen", "engagement_bait",
    "follow_train", "giveaway", "platform_manipulation", "astroturf", "bot", "ai_generated", "ai_generated_reply",
    "ai_slop", "content_farm", "copypasta", "stolen_content", "clickbait", "low_effort", "vaguepost", "ragebait",
    "misinformation", "civic_misinfo", "manipulated_media", "conspiracy", "pseudoscience", "hate", "harassment",
    "threat_violence", "violent_extremism", "graphic_violence", "self_harm", "adult_nudity", "nonconsensual_nudity",
    "child_exploitation", "illegal_goods", "privacy_doxxing", "profanity", "spoiler",
];

/// The scam type of a janitr post by its fraud labels, or benign without one (spam, promo
/// and other commercial noise are not fraud). Impersonation alone is not fraud per LABELS.md.
fn janitr_target(labels: &[String]) -> Target {
    let has = |l: &str| labels.iter().any(|x| x == l);
    if ["phishing", "malware", "account_compromise", "fake_support"].iter().any(|l| has(l)) {
        Target::Scam(ScamType::Phishing)
    } else if has("job_scam") {
        Target::Scam(ScamType::TaskScam)
    } else if has("romance_scam") {
        Target::Scam(ScamType::RomanceMoney)
    } else if has("scam") || has("recovery_scam") {
        // Crypto giveaways, fake returns, "recovery services" for an upfront fee.
        Target::Scam(ScamType::Investment)
    } else {
        Target::Benign
    }
}

fn janitr(src: &Source, sink: &mut Sink) -> anyhow::Result<()> {
    #[derive(Deserialize)]
    struct Row {
        id: String,
        text: String,
        labels: Vec<String>,
        #[serde(default)]
        source_id: Option<String>,
    }
    for (line, row) in src.jsonl::<Row>(sink)? {
        if let Some(bad) = row.labels.iter().find(|l| !l.starts_with("topic_") && !JANITR_LABELS.contains(&l.as_str())) {
            sink.reject(err(&src.name, line, "labels", format!("unknown label {bad:?} (see LABELS.md)")));
            continue;
        }
        if row.source_id.as_deref().is_some_and(|s| s.starts_with("clean_batch_") || s.starts_with("scam_batch_")) {
            sink.filter("janitr synthetic-looking rows (source_id *_batch_*) dropped", 1);
            continue;
        }
        post(src, sink, line, row.id, "en", janitr_target(&row.labels), &row.text);
    }
    Ok(())
}

fn import_file(kind: ImportKind, src: &Source, sink: &mut Sink) -> anyhow::Result<()> {
    match kind {
        ImportKind::Teleantifraud => teleantifraud(src, sink),
        ImportKind::Bothbosu => bothbosu(src, sink),
        ImportKind::ThaiSms => thai_sms(src, sink),
        ImportKind::SmsPhishing => sms_phishing(src, sink),
        ImportKind::ByuChitchat => byu(src, sink),
        ImportKind::RealPersonaChat => real_persona_chat(src, sink),
        ImportKind::Xpersona => xpersona(src, sink),
        ImportKind::Wisesight => wisesight(src, sink),
        ImportKind::Komuchat => komuchat(src, sink),
        ImportKind::Kdconv => kdconv(src, sink),
        ImportKind::IndonluEmot => indonlu(src, sink),
        ImportKind::Janitr => janitr(src, sink),
    }
}

/// The corpus files under `dir`, recursively, in sorted order.
fn walk(kind: ImportKind, dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(kind, &p, out)?;
        } else if kind.wants(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// Imports corpus files or directories (a directory stands for its corpus files, recursively,
/// sorted). Record-level problems are collected in [`Imported::errors`]; an unreadable path
/// or a missing CSV column is an error.
pub fn import_all(kind: ImportKind, paths: &[PathBuf], options: &Options) -> anyhow::Result<Imported> {
    anyhow::ensure!(
        (0.0..=1.0).contains(&options.test_fraction),
        "--test-fraction must be between 0 and 1, got {}",
        options.test_fraction
    );
    anyhow::ensure!(options.max_messages != Some(0), "--max-messages must be at least 1");
    let mut sink = Sink { kind, options, seen: HashSet::new(), out: Imported::default() };
    for root in paths {
        let files = if root.is_dir() {
            let mut files = Vec::new();
            walk(kind, root, &mut files)?;
            files
        } else {
            vec![root.clone()]
        };
        for path in &files {
            let rel = path.strip_prefix(root).ok().filter(|r| !r.as_os_str().is_empty()).unwrap_or_else(|| Path::new(path.file_name().unwrap_or_default()));
            let src = Source { path, name: path.display().to_string(), rel: rel.to_string_lossy().into_owned() };
            import_file(kind, &src, &mut sink).map_err(|e| anyhow::anyhow!("importing {}: {e}", path.display()))?;
        }
    }
    let mut out = sink.out;
    if let Some(n) = options.sample {
        out.conversations = sample(std::mem::take(&mut out.conversations), n, options.seed);
    }
    out.summary.written = out.conversations.len();
    out.summary.messages = out.conversations.iter().map(|c| c.messages.len()).sum();
    for c in &out.conversations {
        let label = match c.label {
            Some(Label::Scam) => "scam",
            _ => "benign",
        };
        let key = format!("{label}/{}", c.scam_type.unwrap_or(ScamType::None));
        *out.summary.per_label.entry(key).or_default() += 1;
    }
    Ok(out)
}

/// A seeded sample of at most `n` conversations per label, in their original order.
pub fn sample(convs: Vec<Conversation>, n: usize, seed: u64) -> Vec<Conversation> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut keep = HashSet::new();
    for label in [Label::Scam, Label::Benign] {
        let mut idx: Vec<usize> = (0..convs.len()).filter(|&i| convs[i].label == Some(label)).collect();
        idx.shuffle(&mut rng);
        keep.extend(idx.into_iter().take(n));
    }
    convs.into_iter().enumerate().filter(|(i, _)| keep.contains(i)).map(|(_, c)| c).collect()
}

//! Importers for public scam corpora into the dataset shape, one conversation per
//! dialogue (or per message, where that is what a corpus has). Labels map to the taxonomy
//! as documented in `datasets/README.md`; a label outside the mapping is an error naming
//! the value and the line. None of these corpora has per-message stage labels.

use std::collections::HashSet;
use std::path::Path;

use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::chat::{validate, Conversation, Message, ParseError};
use crate::taxonomy::{Label, ScamType};

/// Supported corpora.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportKind {
    /// TeleAntiFraud multi-agent JSONL (zh): `left` caller turns, `right` user turns.
    Teleantifraud,
    /// BothBosu synthetic scam-call CSV (en): `dialogue` with `Suspect:`/`Innocent:` turns.
    Bothbosu,
    /// Thai SMS `label|text` lines.
    ThaiSms,
    /// SMS phishing CSV `label,TEXT,URL,EMAIL,PHONE` (en).
    SmsPhishing,
}

/// Imported conversations and the records that could not be imported.
#[derive(Debug, Default)]
pub struct Imported {
    /// Conversations in corpus order (or sampled).
    pub conversations: Vec<Conversation>,
    /// Problems, one per rejected record.
    pub errors: Vec<ParseError>,
    /// Records whose bytes were not valid UTF-8 and were decoded lossily.
    pub lossy_records: usize,
    /// Exact duplicate records skipped.
    pub duplicates: usize,
}

fn err(name: &str, line: usize, field: &str, msg: String) -> ParseError {
    ParseError { source_name: name.to_string(), line: Some(line), field: Some(field.to_string()), message: msg }
}

fn conv(id: String, lang: &str, label: Label, messages: Vec<Message>) -> Conversation {
    let scam_type = (label == Label::Benign).then_some(ScamType::None);
    Conversation { id, lang: Some(lang.into()), label: Some(label), scam_type, messages }
}

fn msg(sender: &str, text: &str) -> Message {
    Message { sender: sender.into(), text: text.trim().to_string(), ts: None, stage: None }
}

/// SMS labels: scams and phishing are scams; ordinary, OTP and marketing spam are benign.
fn sms_label(raw: &str) -> Option<Label> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "scam" | "smishing" => Some(Label::Scam),
        "ok" | "ham" | "otp" | "spam" => Some(Label::Benign),
        _ => None,
    }
}

fn teleantifraud(path: &Path, name: &str, out: &mut Imported) -> anyhow::Result<()> {
    let text = std::fs::read(path)?;
    let label = if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("normal")) {
        Label::Benign
    } else {
        Label::Scam
    };
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        let s = match std::str::from_utf8(line) {
            Ok(s) => s.trim(),
            Err(_) => {
                out.lossy_records += 1;
                continue;
            }
        };
        if s.is_empty() {
            continue;
        }
        let v: serde_json::Value = match serde_json::from_str(s) {
            Ok(v) => v,
            Err(e) => {
                out.errors.push(err(name, line_no, "", e.to_string()));
                continue;
            }
        };
        let turns = |k: &str| v.get(k).and_then(|x| x.as_array()).map(|a| a.iter().filter_map(|t| t.as_str()).collect::<Vec<_>>());
        let (Some(left), Some(right)) = (turns("left"), turns("right")) else {
            out.errors.push(err(name, line_no, "left", "expected arrays `left` and `right`".into()));
            continue;
        };
        let mut messages = Vec::new();
        for k in 0..left.len().max(right.len()) {
            if let Some(t) = left.get(k).filter(|t| !t.trim().is_empty()) {
                messages.push(msg("them", t));
            }
            if let Some(t) = right.get(k).filter(|t| !t.trim().is_empty()) {
                messages.push(msg("me", t));
            }
        }
        let id = v.get("tts_id").and_then(|x| x.as_str()).map(str::to_string).unwrap_or_else(|| format!("{name}:{line_no}"));
        match validate(conv(id, "zh", label, messages), name, Some(line_no)) {
            Ok(c) => out.conversations.push(c),
            Err(e) => out.errors.push(e),
        }
    }
    Ok(())
}

fn csv_records(path: &Path, out: &mut Imported) -> anyhow::Result<(Vec<String>, Vec<(usize, Vec<String>)>)> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_path(path)?;
    let headers: Vec<String> = reader.byte_headers()?.iter().map(|h| String::from_utf8_lossy(h).trim().to_string()).collect();
    let mut rows = Vec::new();
    for rec in reader.byte_records() {
        let rec = rec?;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        let mut lossy = false;
        let fields = rec
            .iter()
            .map(|f| match std::str::from_utf8(f) {
                Ok(s) => s.to_string(),
                Err(_) => {
                    lossy = true;
                    String::from_utf8_lossy(f).into_owned()
                }
            })
            .collect();
        out.lossy_records += lossy as usize;
        rows.push((line, fields));
    }
    Ok((headers, rows))
}

fn column(headers: &[String], name: &str, path: &str) -> anyhow::Result<usize> {
    headers
        .iter()
        .position(|h| h.eq_ignore_ascii_case(name))
        .ok_or_else(|| anyhow::anyhow!("{path}: no `{name}` column (columns: {})", headers.join(", ")))
}

fn bothbosu(path: &Path, name: &str, out: &mut Imported) -> anyhow::Result<()> {
    let (headers, rows) = csv_records(path, out)?;
    let (dialogue, labels) = (column(&headers, "dialogue", name)?, column(&headers, "labels", name)?);
    let speaker = regex::Regex::new(r"(Suspect|Innocent|Caller|Receiver)\s*:").expect("valid regex");
    for (line, f) in rows {
        let label = match f.get(labels).map(|s| s.trim()) {
            Some("1") => Label::Scam,
            Some("0") => Label::Benign,
            other => {
                out.errors.push(err(name, line, "labels", format!("unknown label {:?} (expected 0 or 1)", other.unwrap_or(""))));
                continue;
            }
        };
        let text = f.get(dialogue).map(String::as_str).unwrap_or("");
        let marks: Vec<(usize, usize, &str)> = speaker.captures_iter(text).map(|c| {
            let m = c.get(0).expect("match");
            (m.start(), m.end(), c.get(1).expect("group").as_str())
        }).collect();
        let messages: Vec<Message> = marks
            .iter()
            .enumerate()
            .map(|(k, &(_, end, who))| {
                let stop = marks.get(k + 1).map_or(text.len(), |m| m.0);
                msg(if matches!(who, "Suspect" | "Caller") { "them" } else { "me" }, &text[end..stop])
            })
            .filter(|m| !m.text.is_empty())
            .collect();
        match validate(conv(format!("{name}:{line}"), "en", label, messages), name, Some(line)) {
            Ok(c) => out.conversations.push(c),
            Err(e) => out.errors.push(e),
        }
    }
    Ok(())
}

fn sms(name: &str, lang: &str, records: Vec<(usize, String, String)>, out: &mut Imported) {
    let mut seen = HashSet::new();
    for (line, raw_label, text) in records {
        let Some(label) = sms_label(&raw_label) else {
            out.errors.push(err(name, line, "label", format!("unknown label {raw_label:?}")));
            continue;
        };
        if !seen.insert((label == Label::Scam, text.trim().to_string())) {
            out.duplicates += 1;
            continue;
        }
        match validate(conv(format!("{name}:{line}"), lang, label, vec![msg("them", &text)]), name, Some(line)) {
            Ok(c) => out.conversations.push(c),
            Err(e) => out.errors.push(e),
        }
    }
}

/// Reads one corpus file (a directory stands for its files, sorted).
pub fn import(kind: ImportKind, path: &Path, out: &mut Imported) -> anyhow::Result<()> {
    if path.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(path)?.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
        files.sort();
        for f in files {
            let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
            let wanted = match kind {
                ImportKind::Teleantifraud => ext == "jsonl",
                ImportKind::Bothbosu | ImportKind::SmsPhishing => ext == "csv",
                ImportKind::ThaiSms => ext == "txt",
            };
            if wanted {
                import(kind, &f, out)?;
            }
        }
        return Ok(());
    }
    let name = path.display().to_string();
    match kind {
        ImportKind::Teleantifraud => teleantifraud(path, &name, out),
        ImportKind::Bothbosu => bothbosu(path, &name, out),
        ImportKind::SmsPhishing => {
            let (headers, rows) = csv_records(path, out)?;
            let (l, t) = (column(&headers, "label", &name)?, column(&headers, "TEXT", &name)?);
            let records = rows.into_iter().map(|(line, f)| (line, f.get(l).cloned().unwrap_or_default(), f.get(t).cloned().unwrap_or_default())).collect();
            sms(&name, "en", records, out);
            Ok(())
        }
        ImportKind::ThaiSms => {
            let bytes = std::fs::read(path)?;
            let mut records = Vec::new();
            for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
                let text = match std::str::from_utf8(line) {
                    Ok(s) => s.to_string(),
                    Err(_) => {
                        out.lossy_records += 1;
                        String::from_utf8_lossy(line).into_owned()
                    }
                };
                let text = text.trim_end_matches('\r');
                if text.trim().is_empty() {
                    continue;
                }
                match text.split_once('|') {
                    Some((label, body)) => records.push((i + 1, label.to_string(), body.to_string())),
                    None => out.errors.push(err(&name, i + 1, "label", "expected `label|text`".into())),
                }
            }
            sms(&name, "th", records, out);
            Ok(())
        }
    }
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

//! Input shapes moderators paste: a whole chat in one message (`Name: text` lines, app copy
//! formats, OCR of a screenshot with timestamps and no names) is split back into turns by
//! [`split_block`] and [`normalize`]; the augmentations ([`as_named_block`], [`as_ocr_block`],
//! [`as_flat`], [`as_email_thread`], [`drop_names`], [`merge_runs`], [`augment`]) make the
//! same shapes from labelled conversations, seeded by the caller's [`StdRng`].
//!
//! A message that holds several turns takes the stage of its **last** turn: stages only
//! move forward, so that is the furthest.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;
use regex::Regex;

use super::{Conversation, Message, MAX_MESSAGE_BYTES};
use crate::taxonomy::Stage;

/// Sender given to turns whose sender is not known (a block without names).
pub const UNKNOWN: &str = "unknown";

/// Longest sender name, in characters.
const MAX_NAME_CHARS: usize = 40;
/// Most words in a sender name.
const MAX_NAME_WORDS: usize = 4;

/// One turn of a pasted block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// The parsed sender name; `None` in a block without names (screenshot OCR).
    pub sender: Option<String>,
    /// What the turn says.
    pub text: String,
}

// ---------------------------------------------------------------------------------------
// Recognising blocks
// ---------------------------------------------------------------------------------------

/// A clock time: `10:32`, `10.32:05`, `9:41 PM`, `下午3:45`, `오후 3:45`, `15:45 น.`, `٣:٤٥ م`.
const TIME: &str = r"(?:(?:上午|下午|中午|晚上|早上|凌晨|傍晚|午前|午後|오전|오후)\s?)?\d{1,2}[:：.]\d{2}(?:[:.]\d{2})?(?:\s?(?:[ap]\.?\s?m\b\.?|น\.|(?:ص|م)\b))?";
/// A calendar date: `2024/1/31`, `31.01.24`, `2024年1月31日`, `2024년 1월 31일`, `Jan 31, 2024`.
const DATE: &str = r"(?:\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}|(?:\d{4}\s?年\s?)?\d{1,2}\s?月\s?\d{1,2}\s?日|(?:\d{4}년\s?)?\d{1,2}월\s?\d{1,2}일|\d{1,2}\.?\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?:,?\s+\d{4})?|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?(?:,?\s+\d{4})?)";
/// A day word: `Yesterday`, `Monday`, `昨天`, `星期三`, `어제`, `수요일`, `เมื่อวาน`, `أمس`.
const DAY: &str = r"(?:today|yesterday|monday|mon|tuesday|tues|tue|wednesday|wed|thursday|thurs|thu|friday|fri|saturday|sat|sunday|sun|今天|昨天|前天|星期[一二三四五六日天]|周[一二三四五六日天]|오늘|어제|[월화수목금토일]요일|今日|昨日|[月火水木金土日]曜日|วันนี้|เมื่อวาน|اليوم|أمس|hoy|ayer|heute|gestern|aujourd'hui|hier|hoje|ontem|сегодня|вчера|hôm nay|hôm qua|kemarin|hari ini|आज|कल)";

/// A line that is only a timestamp or a date separator.
static STAMP_LINE: LazyLock<Regex> = LazyLock::new(|| {
    let when = format!(r"(?:(?:{DAY}|{DATE})(?:[,\s]+(?:{DAY}|{DATE}))*(?:[,\s]+{TIME})?|{TIME}(?:[,\s]+(?:{DAY}|{DATE}))*)");
    Regex::new(&format!(r"(?i)^[\s\-–—=*]*[\[(]?\s*{when}\s*[\])]?[\s\-–—=*]*$")).expect("valid regex")
});

/// `Name: text` with an optional timestamp before the name or after it in brackets:
/// `[10:32] Name: text`, `10:32 Name: text`, `Name (10:32): text`, WhatsApp's
/// `[31/01/24, 10:32:05] Name: text` and `31/01/2024, 10:32 - Name: text`, full-width `：`.
static NAMED: LazyLock<Regex> = LazyLock::new(|| {
    let stamp = format!(r"(?:(?:{DAY}|{DATE})[,\s]+)?{TIME}");
    Regex::new(&format!(
        r"(?i)^(?:[\[(]?\s*{stamp}\s*[\])]?\s*(?:[-–]\s*)?)?(?P<name>[^:：\[\]()\t]+?)(?:\s*[\[(]\s*{stamp}\s*[\])])?\s*[:：](?P<body>.*)$"
    ))
    .expect("valid regex")
});

/// KakaoTalk: `[Name] [오후 3:45] text`.
static KAKAO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"(?i)^\[(?P<name>[^\]]+)\]\s*\[(?:(?:{DAY}|{DATE})[,\s]+)?{TIME}\]\s*(?P<body>.*)$")).expect("valid regex")
});

/// LINE export: `15:45<TAB>Name<TAB>text`.
static LINE_APP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"(?i)^{TIME}\t(?P<name>[^\t]+)\t(?P<body>.*)$")).expect("valid regex"));

/// A header line whose text follows on the next lines: Telegram's `Name, [31.01.24 15:45]`
/// and WeChat's `Name 2024-01-31 15:45`.
static HEADER_ONLY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)^(?:(?P<tg>[^,\[\]]+),\s*\[(?:(?:{DAY}|{DATE})[,\s]+)?{TIME}\]|(?P<wx>\S[^\t]*?)\s+{DATE}\s+{TIME})\s*$"
    ))
    .expect("valid regex")
});

/// An email header line (`From:`, `Betreff:`, `主题：`, …).
static HEADER_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*(?P<key>[^:：]{1,20}?)\s*[:：]").expect("valid regex"));

/// The line before a quoted reply: `On Tue, Anna wrote:`, `… schrieb:`, `…写道：` (the colon is
/// required: `Сергей: написала` is a chat line).
static WROTE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:wrote|schrieb|a écrit|escribió|escreveu|scrisse|schreef|написал[а]?|写道|寫道|작성|書きました|เขียน|كتب)\s*[:：]\s*$|-{3,}\s*original message|^_{8,}$")
        .expect("valid regex")
});

/// A list item: `- x`, `* x`, `• x`, `1. x`, `2) x`.
static LIST_ITEM: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(?:[-*•·▪►✓✔]\s|\d{1,2}[.)]\s)").expect("valid regex"));

/// Email header keys in the languages of the corpus; never sender names.
const HEADER_KEYS: &[&str] = &[
    "from", "to", "cc", "bcc", "subject", "date", "sent", "re", "fw", "fwd", "reply-to", "von", "betreff", "datum",
    "gesendet", "aw", "wg", "antwort an", "de", "para", "asunto", "fecha", "enviado", "objet", "envoyé", "répondre à",
    "oggetto", "inviato", "da", "assunto", "data", "van", "aan", "onderwerp", "verzonden", "от", "кому", "тема", "дата",
    "отправлено", "发件人", "收件人", "主题", "日期", "发送时间", "抄送", "寄件者", "收件者", "主旨", "보낸 사람", "받는 사람",
    "제목", "날짜", "보낸 날짜", "참조", "差出人", "宛先", "件名", "日付", "送信日時", "จาก", "ถึง", "เรื่อง", "วันที่", "من",
    "إلى", "الموضوع", "التاريخ", "प्रेषक", "प्रति", "विषय", "dari", "kepada", "perihal", "tanggal", "subjek", "người gửi",
    "người nhận", "tiêu đề", "chủ đề", "ngày",
];

/// Form fields and contact keys (`Name: …`, `WhatsApp: +855…`, `金额：…`); never sender names.
const FIELD_KEYS: &[&str] = &[
    "name", "full name", "first name", "last name", "address", "phone", "phone number", "tel", "mobile", "email",
    "e-mail", "age", "country", "city", "occupation", "job", "sex", "gender", "amount", "bank", "bank name", "account",
    "account name", "account number", "iban", "swift", "note", "notes", "nb", "ps", "p.s", "website", "link", "url",
    "price", "total", "ref", "reference", "code", "password", "username", "user id", "id", "otp", "pin", "tip",
    "warning", "important", "attention", "notice", "info", "status", "location", "time", "dob", "date of birth",
    "salary", "position", "requirements", "contact", "whatsapp", "telegram", "wechat", "line", "signal", "viber",
    "tracking", "tracking number", "order", "order number", "http", "https", "姓名", "名字", "地址", "电话", "手机",
    "邮箱", "年龄", "国家", "金额", "银行", "账号", "账户", "备注", "注意", "链接", "网址", "价格", "工资", "职位", "要求",
    "联系方式", "微信", "이름", "주소", "전화", "연락처", "금액", "계좌", "은행", "참고", "링크", "급여", "nombre",
    "dirección", "teléfono", "edad", "país", "monto", "cuenta", "banco", "nota", "enlace", "salario", "nom", "adresse",
    "téléphone", "âge", "pays", "montant", "compte", "banque", "lien", "salaire", "telefon", "betrag", "konto", "alter",
    "gehalt", "nome", "endereço", "telefone", "idade", "valor", "conta", "имя", "адрес", "телефон", "возраст", "страна",
    "сумма", "счёт", "счет", "банк", "ссылка", "зарплата", "ชื่อ", "ที่อยู่", "โทร", "เบอร์", "จำนวนเงิน", "บัญชี",
    "ธนาคาร", "ลิงก์", "เงินเดือน", "الاسم", "العنوان", "الهاتف", "المبلغ", "الحساب", "البنك", "الراتب", "नाम", "पता",
    "फोन", "राशि", "खाता", "tên", "địa chỉ", "số điện thoại", "số tiền", "tài khoản", "ngân hàng", "nama", "alamat",
    "telepon", "jumlah", "rekening", "gaji", "pangalan", "tirahan",
];

/// Strips direction marks, byte-order marks and surrounding whitespace.
fn clean(line: &str) -> &str {
    line.trim_matches(|c: char| c.is_whitespace() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}'))
}

fn is_stamp(line: &str) -> bool {
    STAMP_LINE.is_match(line)
}

fn is_header_key(key: &str) -> bool {
    let key = key.trim().to_lowercase();
    HEADER_KEYS.contains(&key.as_str())
}

/// Whether `name` can be a sender: 1–40 characters, at most 4 words, a letter in it, not
/// an email header, form field, date, list marker or URL.
fn is_name(name: &str) -> bool {
    let name = name.trim();
    let key = name.trim_end_matches('.').to_lowercase();
    let chars = name.chars().count();
    (1..=MAX_NAME_CHARS).contains(&chars)
        && name.split_whitespace().count() <= MAX_NAME_WORDS
        && name.chars().any(char::is_alphabetic)
        && !name.starts_with(['>', '-', '*', '#', '•', '|', '/', '\\', '=', '~', '+', '"', '“', '«'])
        && !name.contains("://")
        && !key.starts_with("www.")
        && !HEADER_KEYS.contains(&key.as_str())
        && !FIELD_KEYS.contains(&key.as_str())
        && !is_stamp(name)
}

/// The `(name, body)` of a line that starts a turn, in any recognised format.
fn named_line(line: &str) -> Option<(String, String)> {
    let (name, body) = if let Some(c) = KAKAO.captures(line).or_else(|| LINE_APP.captures(line)) {
        (c["name"].to_string(), c["body"].to_string())
    } else if let Some(c) = HEADER_ONLY.captures(line) {
        let name = c.name("tg").or_else(|| c.name("wx")).map_or("", |m| m.as_str());
        (name.to_string(), String::new())
    } else {
        let c = NAMED.captures(line)?;
        let (name, body) = (&c["name"], &c["body"]);
        // `10:32`, `3:1`, `http://`: a colon inside a time, ratio or URL, not after a name.
        if (name.ends_with(|c: char| c.is_ascii_digit()) && body.starts_with(|c: char| c.is_ascii_digit())) || body.starts_with("//") {
            return None;
        }
        (name.to_string(), body.to_string())
    };
    let name = name.trim();
    is_name(name).then(|| (name.to_string(), body.trim().to_string()))
}

/// Whether `line` starts a turn with a sender name (`Name: text`, `[10:32] Name: text`, …).
pub fn is_named_line(line: &str) -> bool {
    named_line(clean(line)).is_some()
}

/// One line of a candidate block.
enum Kind {
    Blank,
    Stamp,
    Named(String, String),
    Plain,
}

struct Line<'a> {
    kind: Kind,
    text: &'a str,
}

fn classify(text: &str) -> Vec<Line<'_>> {
    text.split(['\n', '\u{2028}', '\u{2029}'])
        .map(|raw| {
            let text = clean(raw);
            let kind = if text.is_empty() {
                Kind::Blank
            } else if is_stamp(text) {
                Kind::Stamp
            } else if let Some((name, body)) = named_line(text) {
                Kind::Named(name, body)
            } else {
                Kind::Plain
            };
            Line { kind, text }
        })
        .collect()
}

/// Email headers with a quote or a second header, or an `… wrote:` line.
fn is_email_like(lines: &[Line]) -> bool {
    let headers = lines
        .iter()
        .filter(|l| HEADER_LINE.captures(l.text).is_some_and(|c| is_header_key(&c["key"])))
        .count();
    let quotes = lines.iter().filter(|l| l.text.starts_with('>')).count();
    headers >= 2 || (headers >= 1 && quotes >= 1) || lines.iter().any(|l| WROTE.is_match(l.text))
}

/// Turns of a block with `Name:` lines: at least two name lines from two distinct
/// senders, covering at least a third of the text lines.
fn split_named(lines: &[Line]) -> Option<Vec<Turn>> {
    let names: Vec<&str> = lines.iter().filter_map(|l| if let Kind::Named(n, _) = &l.kind { Some(n.as_str()) } else { None }).collect();
    let content = lines.iter().filter(|l| matches!(l.kind, Kind::Named(..) | Kind::Plain)).count();
    let distinct: HashSet<String> = names.iter().map(|n| n.to_lowercase()).collect();
    if names.len() < 2 || distinct.len() < 2 || names.len() * 3 < content {
        return None;
    }
    let mut turns: Vec<Turn> = Vec::new();
    for line in lines {
        match &line.kind {
            Kind::Named(name, body) => turns.push(Turn { sender: Some(name.clone()), text: body.clone() }),
            Kind::Plain => match turns.last_mut() {
                Some(last) => {
                    if !last.text.is_empty() {
                        last.text.push('\n');
                    }
                    last.text.push_str(line.text);
                }
                None => turns.push(Turn { sender: None, text: line.text.to_string() }),
            },
            Kind::Blank | Kind::Stamp => {}
        }
    }
    turns.retain(|t| !t.text.trim().is_empty());
    (turns.len() >= 2).then_some(turns)
}

/// Turns of a screenshot OCR without names: one turn per text line, when there are at least
/// four short lines separated by timestamp lines, blank lines, or (stricter) one per line.
fn split_ocr(lines: &[Line]) -> Option<Vec<Turn>> {
    let content: Vec<&str> = lines.iter().filter(|l| matches!(l.kind, Kind::Named(..) | Kind::Plain)).map(|l| l.text).collect();
    if content.len() < 4 || content.iter().filter(|t| LIST_ITEM.is_match(t)).count() >= 2 {
        return None;
    }
    let mut lens: Vec<usize> = content.iter().map(|t| t.chars().count()).collect();
    lens.sort_unstable();
    let (median, max) = (lens[lens.len() / 2], lens[lens.len() - 1]);
    let stamps = lines.iter().filter(|l| matches!(l.kind, Kind::Stamp)).count();
    // Runs of text lines between separators.
    let groups = lines
        .iter()
        .zip(std::iter::once(None).chain(lines.iter().map(Some)))
        .filter(|(l, prev)| matches!(l.kind, Kind::Named(..) | Kind::Plain) && !prev.is_some_and(|p| matches!(p.kind, Kind::Named(..) | Kind::Plain)))
        .count();
    let ok = if stamps >= 2 {
        max <= 500
    } else if groups >= 4 {
        median <= 100 && max <= 300
    } else {
        content.len() >= 6 && median <= 40 && max <= 100 && !content.iter().any(|t| t.ends_with([':', '：']))
    };
    ok.then(|| content.iter().map(|t| Turn { sender: None, text: t.to_string() }).collect())
}

/// The turns of `text` when it is a pasted multi-turn chat; `None` for an ordinary message,
/// an SMS, an email or prose.
///
/// Recognised: `Name: text` lines (also `：`), `[10:32] Name: text`, `Name (10:32): text`,
/// `10:32 Name: text`, WhatsApp, Telegram, LINE, WeChat and KakaoTalk copy formats, with
/// timestamp-only lines (`10:32`, `下午3:45`, `Yesterday 9:41 PM`) dropped and lines without
/// a name continuing the previous turn; or screenshot OCR without names (turns with no sender).
pub fn split_block(text: &str) -> Option<Vec<Turn>> {
    let lines = classify(text);
    if is_email_like(&lines) {
        return None;
    }
    split_named(&lines).or_else(|| split_ocr(&lines))
}

/// Replaces every message that is a pasted block by its turns (sender: the parsed name, or
/// [`UNKNOWN`]; the block's stage on its last turn — on every turn when it is `none` —
/// and none on the earlier ones; no timestamp). Other messages are untouched.
/// Idempotent: no message of the result is a block.
pub fn normalize(conv: Conversation) -> Conversation {
    let mut messages = Vec::with_capacity(conv.messages.len());
    for message in conv.messages {
        expand(message, &mut messages);
    }
    Conversation { messages, ..conv }
}

/// Pushes `message`, or the turns it holds (each expanded again: a turn's text is strictly
/// shorter than its block, and is at most split once more).
fn expand(message: Message, out: &mut Vec<Message>) {
    match split_block(&message.text) {
        None => out.push(message),
        Some(turns) => {
            // A block's stage is its last turn's (stages only move forward): the earlier
            // turns keep `none` in a benign chat and are left unlabelled in a scam.
            let last = turns.len() - 1;
            for (i, turn) in turns.into_iter().enumerate() {
                let sender = turn.sender.unwrap_or_else(|| UNKNOWN.to_string());
                let stage = if i == last || message.stage == Some(Stage::None) { message.stage } else { None };
                expand(Message { sender, text: turn.text, ts: None, stage }, out);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Making shapes from labelled conversations
// ---------------------------------------------------------------------------------------

/// The augmentations, each making one labelled [`Conversation`] from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Augmentation {
    /// [`as_named_block`].
    NamedBlock,
    /// [`as_ocr_block`].
    OcrBlock,
    /// [`as_flat`].
    Flat,
    /// [`as_email_thread`].
    EmailThread,
    /// [`drop_names`].
    DropNames,
    /// [`merge_runs`].
    MergeRuns,
}

impl Augmentation {
    /// Every augmentation.
    pub const ALL: [Augmentation; 6] = [
        Augmentation::NamedBlock,
        Augmentation::OcrBlock,
        Augmentation::Flat,
        Augmentation::EmailThread,
        Augmentation::DropNames,
        Augmentation::MergeRuns,
    ];

    /// Applies it to `conv`.
    pub fn apply(self, conv: &Conversation, rng: &mut StdRng) -> Conversation {
        match self {
            Augmentation::NamedBlock => as_named_block(conv, rng),
            Augmentation::OcrBlock => as_ocr_block(conv, rng),
            Augmentation::Flat => as_flat(conv),
            Augmentation::EmailThread => as_email_thread(conv, rng),
            Augmentation::DropNames => drop_names(conv),
            Augmentation::MergeRuns => merge_runs(conv, rng),
        }
    }
}

/// One or two augmentations of `conv`, picked by `rng` (none for an empty conversation;
/// [`merge_runs`] only with two messages or more; results with a message over
/// [`MAX_MESSAGE_BYTES`] are left out).
pub fn augment(conv: &Conversation, rng: &mut StdRng) -> Vec<Conversation> {
    if conv.messages.is_empty() {
        return Vec::new();
    }
    let mut kinds: Vec<Augmentation> =
        Augmentation::ALL.into_iter().filter(|&k| k != Augmentation::MergeRuns || conv.messages.len() >= 2).collect();
    kinds.shuffle(rng);
    kinds.truncate(rng.random_range(1..=2));
    kinds
        .into_iter()
        .map(|k| k.apply(conv, rng))
        .filter(|c| c.messages.iter().all(|m| m.text.len() <= MAX_MESSAGE_BYTES))
        .collect()
}

/// A copy of `conv`'s metadata with `suffix` on its id and `messages`.
fn derived(conv: &Conversation, suffix: &str, messages: Vec<Message>) -> Conversation {
    Conversation {
        id: format!("{}~{suffix}", conv.id),
        lang: conv.lang.clone(),
        label: conv.label,
        scam_type: conv.scam_type,
        messages,
    }
}

/// One message holding `text` for the turns `turns`: the stage of the last one.
fn merged(sender: &str, text: String, turns: &[Message]) -> Message {
    Message { sender: sender.to_string(), text, ts: None, stage: turns.last().and_then(|m| m.stage) }
}

/// Plausible first names for a language (the English list for others).
fn first_names(lang: Option<&str>) -> &'static [&'static str] {
    match lang.unwrap_or("en") {
        "zh" => &["陈俊杰", "李娜", "王芳", "张伟", "刘洋", "小雨", "Kevin Lin", "Amy"],
        "ja" => &["さくら", "ゆうき", "田中", "佐藤", "美咲", "健太", "Yuki"],
        "ko" => &["지민", "민준", "서연", "하은", "김철수", "이수진", "Jin"],
        "th" => &["สมชาย", "นิดา", "มาลี", "ต้น", "แพรว", "Ploy", "Nok"],
        "ar" => &["لينا", "خالد", "سارة", "أحمد", "نور", "ريم", "Omar"],
        "hi" => &["प्रिया", "राहुल", "Priya", "Rahul", "Anjali", "Vikram", "Neha"],
        "ru" => &["Анна", "Дмитрий", "Ольга", "Сергей", "Наташа", "Иван"],
        "vi" => &["Linh", "Minh", "Hương", "Tuấn", "Lan", "Nam"],
        "id" => &["Putri", "Budi", "Sari", "Andi", "Dewi", "Rizky"],
        "tl" => &["Maria", "Jose", "Angel", "Paolo", "Joy", "Mark"],
        "de" => &["Anna", "Lukas", "Sabine", "Thomas", "Julia", "Max"],
        "fr" => &["Sophie", "Julien", "Camille", "Nicolas", "Claire", "Lucas"],
        "es" => &["Lucía", "Carlos", "María", "Javier", "Sofía", "Diego"],
        "pt" => &["Ana", "João", "Beatriz", "Pedro", "Mariana", "Rafael"],
        _ => &["Anna", "Emily", "Grace", "Lily", "Sophie", "Mark", "David", "James", "Kevin", "Ryan"],
    }
}

/// A display name for every sender of `conv`, distinct and consistent within the chat:
/// `them` / `me` / `unknown` (and senders that would not read back as names) get plausible first
/// names (`me` sometimes `Me`); real names are kept.
fn cast(conv: &Conversation, rng: &mut StdRng) -> HashMap<String, String> {
    let mut senders: Vec<&str> = Vec::new();
    for m in &conv.messages {
        if !senders.contains(&m.sender.as_str()) {
            senders.push(&m.sender);
        }
    }
    // A real name is kept when it reads back as itself from a `Name: text` line.
    let real = |s: &str| {
        !matches!(s.trim().to_lowercase().as_str(), "them" | "me" | UNKNOWN)
            && named_line(&format!("{}: x", s.trim())).is_some_and(|(n, _)| n == s.trim())
    };
    let mut used: HashSet<String> = senders.iter().filter(|s| real(s)).map(|s| s.trim().to_string()).collect();
    let mut pool: Vec<&str> = first_names(conv.lang.as_deref()).to_vec();
    pool.shuffle(rng);
    let mut pool = pool.into_iter();
    let mut names = HashMap::new();
    for sender in senders {
        let name = if real(sender) {
            sender.trim().to_string()
        } else if sender.trim().eq_ignore_ascii_case("me") && !used.contains("Me") && rng.random_bool(0.25) {
            "Me".to_string()
        } else {
            pool.by_ref().find(|n| !used.contains(*n)).map_or_else(|| format!("User {}", used.len() + 1), str::to_string)
        };
        used.insert(name.clone());
        names.insert(sender.to_string(), name);
    }
    names
}

/// A chat clock in minutes since midnight, moving forward a few minutes per message.
struct Clock(u32);

impl Clock {
    fn start(rng: &mut StdRng) -> Self {
        Clock(rng.random_range(7 * 60..22 * 60))
    }

    fn tick(&mut self, rng: &mut StdRng) {
        self.0 = (self.0 + rng.random_range(0..=9)) % (24 * 60);
    }

    fn hhmm(&self) -> String {
        format!("{:02}:{:02}", self.0 / 60, self.0 % 60)
    }

    /// A timestamp line as chat apps show it in `lang`.
    fn stamp(&self, lang: Option<&str>, rng: &mut StdRng) -> String {
        let (h, m) = (self.0 / 60, self.0 % 60);
        let h12 = if h % 12 == 0 { 12 } else { h % 12 };
        let pm = h >= 12;
        let local = match lang.unwrap_or("en") {
            "zh" => format!("{}{h12}:{m:02}", if pm { "下午" } else { "上午" }),
            "ja" => format!("{}{h12}:{m:02}", if pm { "午後" } else { "午前" }),
            "ko" => format!("{} {h12}:{m:02}", if pm { "오후" } else { "오전" }),
            "th" => format!("{h:02}:{m:02} น."),
            "ar" => arabic_digits(&format!("{h12}:{m:02} {}", if pm { "م" } else { "ص" })),
            _ => format!("{h12}:{m:02} {}", if pm { "PM" } else { "AM" }),
        };
        match rng.random_range(0..6) {
            0 => self.hhmm(),
            1 => format!("2024/{}/{} {}", rng.random_range(1..=12), rng.random_range(1..=28), self.hhmm()),
            2 => format!("[{:02}/{:02}/24 {}]", rng.random_range(1..=28), rng.random_range(1..=12), self.hhmm()),
            3 => format!("{} {local}", if lang == Some("zh") { "昨天" } else if lang == Some("ko") { "어제" } else { "Yesterday" }),
            _ => local,
        }
    }
}

fn arabic_digits(s: &str) -> String {
    s.chars().map(|c| c.to_digit(10).and_then(|d| char::from_u32(0x0660 + d)).unwrap_or(c)).collect()
}

/// How a named block writes a line.
#[derive(Clone, Copy)]
enum LineStyle {
    Plain,
    FullWidth,
    BracketTime,
    TimeAfterName,
    TimeFirst,
    WhatsApp,
}

/// The whole conversation as one message of `Name: text` lines (names from [`cast`], one
/// line style per chat, sometimes a date line on top); its stage is the last message's.
pub fn as_named_block(conv: &Conversation, rng: &mut StdRng) -> Conversation {
    let names = cast(conv, rng);
    let cjk = matches!(conv.lang.as_deref(), Some("zh" | "ja"));
    let styles: &[LineStyle] = if cjk {
        &[LineStyle::Plain, LineStyle::FullWidth, LineStyle::FullWidth, LineStyle::BracketTime, LineStyle::TimeFirst]
    } else {
        &[LineStyle::Plain, LineStyle::Plain, LineStyle::BracketTime, LineStyle::TimeAfterName, LineStyle::TimeFirst, LineStyle::WhatsApp]
    };
    let style = *styles.choose(rng).expect("styles are listed");
    let mut clock = Clock::start(rng);
    let mut lines = Vec::with_capacity(conv.messages.len() + 1);
    if rng.random_bool(0.3) {
        lines.push(clock.stamp(conv.lang.as_deref(), rng));
    }
    for m in &conv.messages {
        clock.tick(rng);
        let (name, text, t) = (&names[&m.sender], m.text.trim(), clock.hhmm());
        lines.push(match style {
            LineStyle::Plain => format!("{name}: {text}"),
            LineStyle::FullWidth => format!("{name}：{text}"),
            LineStyle::BracketTime => format!("[{t}] {name}: {text}"),
            LineStyle::TimeAfterName => format!("{name} ({t}): {text}"),
            LineStyle::TimeFirst => format!("{t} {name}: {text}"),
            LineStyle::WhatsApp => format!("[31/01/24, {t}:{:02}] {name}: {text}", rng.random_range(0..60)),
        });
    }
    derived(conv, "named", vec![merged(UNKNOWN, lines.join("\n"), &conv.messages)])
}

/// An OCR misreading of a character (and how many it consumed), if it has a look-alike.
fn confusable(c: char, next: Option<char>) -> Option<(&'static str, usize)> {
    Some(match (c, next) {
        ('r', Some('n')) => ("m", 2),
        ('m', _) => ("rn", 1),
        ('l', _) => ("1", 1),
        ('1', _) => ("l", 1),
        ('I', _) => ("l", 1),
        ('O', _) => ("0", 1),
        ('0', _) => ("O", 1),
        ('o', _) => ("0", 1),
        ('S', _) => ("5", 1),
        ('5', _) => ("S", 1),
        ('B', _) => ("8", 1),
        ('e', _) => ("c", 1),
        ('，', _) => (",", 1),
        ('。', _) => (".", 1),
        ('？', _) => ("?", 1),
        _ => return None,
    })
}

/// Light OCR noise: look-alike swaps on a few percent of the characters that have one,
/// dropped or doubled characters on about one percent of all.
fn ocr_noise(text: &str, rng: &mut StdRng) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if let Some((swap, used)) = confusable(c, chars.get(i + 1).copied()).filter(|_| rng.random_bool(0.05)) {
            out.push_str(swap);
            i += used;
            continue;
        }
        if rng.random_bool(0.012) {
            if rng.random_bool(0.5) {
                out.push(c);
                out.push(c);
            }
        } else {
            out.push(c);
        }
        i += 1;
    }
    if out.trim().is_empty() {
        text.to_string()
    } else {
        out
    }
}

/// `text` broken in two near its middle (at a space when it has one), as OCR breaks a
/// wrapped bubble.
fn break_line(text: &str) -> String {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mid = chars.len() / 2;
    let at = chars
        .iter()
        .filter(|(_, c)| *c == ' ')
        .min_by_key(|(i, _)| i.abs_diff(chars[mid].0))
        .map_or(chars[mid].0, |(i, _)| *i);
    format!("{}\n{}", text[..at].trim_end(), text[at..].trim_start())
}

/// The whole conversation as screenshot OCR: one line per bubble, no names, timestamp lines
/// sprinkled (at least two), light OCR noise and some broken lines; one message whose stage
/// is the last message's.
pub fn as_ocr_block(conv: &Conversation, rng: &mut StdRng) -> Conversation {
    let lang = conv.lang.as_deref();
    let mut clock = Clock::start(rng);
    let second_stamp = rng.random_range(1..conv.messages.len().max(2));
    let mut lines = Vec::with_capacity(conv.messages.len() * 2);
    for (i, m) in conv.messages.iter().enumerate() {
        clock.tick(rng);
        if i == 0 || i == second_stamp || rng.random_bool(0.25) {
            lines.push(clock.stamp(lang, rng));
        }
        let flat = m.text.split_whitespace().collect::<Vec<_>>().join(" ");
        let bubble = ocr_noise(&flat, rng);
        lines.push(if bubble.chars().count() >= 12 && rng.random_bool(0.15) { break_line(&bubble) } else { bubble });
    }
    derived(conv, "ocr", vec![merged(UNKNOWN, lines.join("\n"), &conv.messages)])
}

/// Every text joined by single spaces: no names, no line breaks, one message whose stage is
/// the last message's.
pub fn as_flat(conv: &Conversation) -> Conversation {
    let text = conv.messages.iter().flat_map(|m| m.text.split_whitespace()).collect::<Vec<_>>().join(" ");
    derived(conv, "flat", vec![merged(UNKNOWN, text, &conv.messages)])
}

/// Greeting and sign-off of an email in `lang`.
fn letter_words(lang: Option<&str>) -> (&'static str, &'static str) {
    match lang.unwrap_or("en") {
        "de" => ("Hallo", "Viele Grüße"),
        "fr" => ("Bonjour", "Cordialement"),
        "es" => ("Hola", "Saludos"),
        "pt" => ("Olá", "Atenciosamente"),
        "zh" => ("你好", "此致"),
        "ja" => ("こんにちは", "よろしくお願いします"),
        "ko" => ("안녕하세요", "감사합니다"),
        "th" => ("สวัสดี", "ขอแสดงความนับถือ"),
        "ar" => ("مرحباً", "مع التحية"),
        "hi" => ("नमस्ते", "धन्यवाद"),
        "ru" => ("Здравствуйте", "С уважением"),
        "vi" => ("Chào", "Trân trọng"),
        "id" => ("Halo", "Salam"),
        "tl" => ("Hi", "Salamat"),
        _ => ("Dear", "Best regards"),
    }
}

/// An address for a display name: its ASCII letters, or a numbered mailbox.
fn address(name: &str, rng: &mut StdRng) -> String {
    let local: String = name.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_lowercase();
    let local = if local.is_empty() { format!("mail{}", rng.random_range(100..1000)) } else { local };
    let domain = ["gmail.com", "outlook.com", "yahoo.com", "mail.com"].choose(rng).expect("domains are listed");
    format!("{local}@{domain}")
}

/// The conversation as an email thread: runs of consecutive messages (one sender each)
/// become one email with `Subject:` / `From:` / `Date:` headers, a greeting, the texts as
/// paragraphs, a signature and the previous email quoted with `> `. Each email keeps its
/// sender and takes the stage of its last message.
pub fn as_email_thread(conv: &Conversation, rng: &mut StdRng) -> Conversation {
    let names = cast(conv, rng);
    let lang = conv.lang.as_deref();
    let (greeting, sign_off) = letter_words(lang);
    let first = conv.messages.first().map_or("", |m| m.text.as_str());
    let subject: String = first.split_whitespace().take(6).collect::<Vec<_>>().join(" ").chars().take(40).collect();
    let mut addresses: HashMap<&str, String> = HashMap::new();
    for m in &conv.messages {
        let name = names[&m.sender].as_str();
        if !addresses.contains_key(name) {
            addresses.insert(name, address(name, rng));
        }
    }
    let (mut day, mut clock) = (rng.random_range(1..=20u32), Clock::start(rng));
    let mut emails = Vec::new();
    let mut previous: Option<(String, String)> = None; // (sender name, letter)
    let mut start = 0;
    while start < conv.messages.len() {
        let sender = &conv.messages[start].sender;
        let mut end = start + 1;
        while end < conv.messages.len() && conv.messages[end].sender == *sender && !rng.random_bool(0.25) {
            end += 1;
        }
        let group = &conv.messages[start..end];
        let name = &names[sender];
        let salutation = match conv.messages.iter().map(|m| &names[&m.sender]).find(|n| *n != name) {
            Some(to) => format!("{greeting} {to},"),
            None => format!("{greeting},"),
        };
        clock.tick(rng);
        day += rng.random_range(0..=1);
        let body = group.iter().map(|m| m.text.trim()).collect::<Vec<_>>().join("\n\n");
        let letter = format!("{salutation}\n\n{body}\n\n{sign_off}\n{name}");
        let re = if previous.is_some() { "Re: " } else { "" };
        let date = format!("2024-03-{:02} {}", day.min(28), clock.hhmm());
        let mut text = format!("Subject: {re}{subject}\nFrom: {name} <{}>\nDate: {date}\n\n{letter}", addresses[name.as_str()]);
        if let Some((prev_name, prev_letter)) = &previous {
            text.push_str(&format!("\n\nOn {date}, {prev_name} wrote:\n"));
            let quoted: Vec<String> = prev_letter.lines().map(|l| if l.is_empty() { ">".to_string() } else { format!("> {l}") }).collect();
            text.push_str(&quoted.join("\n"));
        }
        emails.push(merged(sender, text, group));
        previous = Some((name.clone(), letter));
        start = end;
    }
    derived(conv, "email", emails)
}

/// The same turns, every sender [`UNKNOWN`].
pub fn drop_names(conv: &Conversation) -> Conversation {
    let messages = conv.messages.iter().map(|m| Message { sender: UNKNOWN.to_string(), ..m.clone() }).collect();
    derived(conv, "nonames", messages)
}

/// Random runs of 2–5 consecutive turns merged into one message of `Name: text` lines
/// (names from [`cast`]), at least one run when there are two messages or more; a merged
/// message takes the stage of its last turn.
pub fn merge_runs(conv: &Conversation, rng: &mut StdRng) -> Conversation {
    let names = cast(conv, rng);
    let n = conv.messages.len();
    let forced = (n >= 2).then(|| rng.random_range(0..n - 1));
    let mut messages = Vec::with_capacity(n);
    let mut i = 0;
    while i < n {
        if i + 1 < n && (Some(i) == forced || rng.random_bool(0.3)) {
            let run = &conv.messages[i..(i + rng.random_range(2..=5)).min(n)];
            let text = run.iter().map(|m| format!("{}: {}", names[&m.sender], m.text.trim())).collect::<Vec<_>>().join("\n");
            messages.push(merged(UNKNOWN, text, run));
            i += run.len();
        } else {
            messages.push(conv.messages[i].clone());
            i += 1;
        }
    }
    derived(conv, "merged", messages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::{Label, ScamType, Stage};
    use rand::SeedableRng;

    fn turns(text: &str) -> Vec<(Option<String>, String)> {
        split_block(text).unwrap_or_else(|| panic!("not split: {text:?}")).into_iter().map(|t| (t.sender, t.text)).collect()
    }

    fn senders_texts(text: &str) -> Vec<(String, String)> {
        turns(text).into_iter().map(|(s, t)| (s.expect("a named turn"), t)).collect()
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(s, t)| (s.to_string(), t.to_string())).collect()
    }

    fn message(sender: &str, text: &str, stage: Option<Stage>) -> Message {
        Message { sender: sender.into(), text: text.into(), ts: None, stage }
    }

    fn conv(lang: &str, messages: Vec<Message>) -> Conversation {
        Conversation { id: format!("{lang}-1"), lang: Some(lang.into()), label: Some(Label::Scam), scam_type: Some(ScamType::RomanceInvestment), messages }
    }

    /// A scam conversation in `lang` with stages moving forward.
    fn scam(lang: &str) -> Conversation {
        use Stage::*;
        let texts: &[(&str, &str, Stage)] = match lang {
            "zh" => &[
                ("them", "张总，周六的球局我订好了，早上7点半", Contact),
                ("me", "？你发错人了吧", Contact),
                ("them", "啊不好意思！通讯录存错号了😅", Contact),
                ("them", "相逢就是缘分，交个朋友呗", Rapport),
                ("me", "好啊", Rapport),
                ("them", "我们加个微信聊吧，这个软件不好用", Isolation),
                ("them", "我舅舅是分析师，这个平台稳赚，你可以先试试1000", Pitch),
                ("them", "账户被冻结了，需要交20%的解冻费", Extraction),
            ],
            "ar" => &[
                ("them", "مساء الخير أستاذ خالد، موعدنا بكرا الساعة ١٠ بالمكتب لسا قائم؟", Contact),
                ("me", "مساء النور، الرقم غلط", Contact),
                ("them", "آسفة كتير، شكله الرقم انحفظ غلط عندي 🙈", Contact),
                ("them", "إنت كتير ذوق، أنا لينا من لبنان", Rapport),
                ("me", "أهلاً لينا", Rapport),
                ("them", "خالي محلل، عنده منصة تداول مضمونة", Pitch),
            ],
            _ => &[
                ("them", "Hi, is this David? We met at the wine tasting last week", Contact),
                ("me", "No, sorry, wrong number", Contact),
                ("them", "Oh I'm so sorry! You seem nice though. I'm Lily, from Singapore", Rapport),
                ("me", "Haha no worries. I'm in Boston", Rapport),
                ("them", "This app drops messages, add me on WhatsApp: +65 8123 4567", Isolation),
                ("them", "My uncle is an analyst, his gold platform made me 30% this month", Pitch),
                ("me", "Sounds too good to be true", Pitch),
                ("them", "Deposit 500 USDT today or the bonus expires, hurry", Extraction),
            ],
        };
        conv(lang, texts.iter().map(|(s, t, st)| message(s, t, Some(*st))).collect())
    }

    fn rng(seed: u64) -> StdRng {
        StdRng::seed_from_u64(seed)
    }

    #[test]
    fn splits_name_lines_with_continuations() {
        let block = "Anna: hi, is this Mark?\nMe: no, wrong number\nAnna: oh sorry! you seem nice though\nwhere are you from?\n\nMe: Boston";
        assert_eq!(
            senders_texts(block),
            pairs(&[("Anna", "hi, is this Mark?"), ("Me", "no, wrong number"), ("Anna", "oh sorry! you seem nice though\nwhere are you from?"), ("Me", "Boston")])
        );
        assert_eq!(senders_texts("A: hey\nB: who is this\nA: my mistake"), pairs(&[("A", "hey"), ("B", "who is this"), ("A", "my mistake")]));
    }

    #[test]
    fn splits_timestamped_and_app_copy_formats() {
        let expected = pairs(&[("Anna", "hi there"), ("Bob Lee", "who is this?")]);
        for block in [
            "[10:32] Anna: hi there\n[10:33] Bob Lee: who is this?",
            "Anna (10:32): hi there\nBob Lee (10:33): who is this?",
            "10:32 Anna: hi there\n10:33 Bob Lee: who is this?",
            "[31/01/24, 10:32:05] Anna: hi there\n[31/01/24, 10:33:10] Bob Lee: who is this?",
            "31/01/2024, 10:32 - Anna: hi there\n31/01/2024, 10:33 - Bob Lee: who is this?",
            "[Anna] [오후 3:45] hi there\n[Bob Lee] [오후 3:46] who is this?",
            "15:45\tAnna\thi there\n15:46\tBob Lee\twho is this?",
            "Anna, [31.01.24 15:45]\nhi there\nBob Lee, [31.01.24 15:46]\nwho is this?",
            "Anna 2024-01-31 15:45\nhi there\nBob Lee 2024-01-31 15:46\nwho is this?",
            "Yesterday 9:41 PM\nAnna: hi there\n2024/1/31 15:45\nBob Lee: who is this?",
        ] {
            assert_eq!(senders_texts(block), expected, "{block}");
        }
    }

    #[test]
    fn splits_chinese_korean_thai_and_arabic_blocks() {
        let zh = "下午3:45\n陈俊杰：早上好，美女\n李娜：你是谁？\n下午3:47\n陈俊杰：不好意思，加错人了\n不过相逢就是缘分";
        assert_eq!(
            senders_texts(zh),
            pairs(&[("陈俊杰", "早上好，美女"), ("李娜", "你是谁？"), ("陈俊杰", "不好意思，加错人了\n不过相逢就是缘分")])
        );
        let ko = "오후 3:45\n지민: 안녕하세요, 김 사장님 맞으시죠?\n민준: 아니요, 잘못 보내셨어요\n오후 3:47\n지민: 죄송해요! 그래도 인연인데 친구해요";
        assert_eq!(senders_texts(ko).iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(), ["지민", "민준", "지민"]);
        let th = "15:45 น.\nนิดา: สวัสดีค่ะ คุณสมชายใช่ไหมคะ\nต้น: ไม่ใช่ครับ ส่งผิดคน\nนิดา: ขอโทษค่ะ แต่เราเป็นเพื่อนกันได้ไหม";
        assert_eq!(senders_texts(th)[1], ("ต้น".to_string(), "ไม่ใช่ครับ ส่งผิดคน".to_string()));
        let ar = "\u{200f}لينا: مساء الخير أستاذ خالد\n\u{200f}أحمد: الرقم غلط\n٣:٤٥ م\n\u{200f}لينا: آسفة كتير 🙈";
        assert_eq!(senders_texts(ar), pairs(&[("لينا", "مساء الخير أستاذ خالد"), ("أحمد", "الرقم غلط"), ("لينا", "آسفة كتير 🙈")]));
    }

    #[test]
    fn recognises_timestamp_lines() {
        for stamp in [
            "10:32", "下午3:45", "오후 3:45", "Yesterday 9:41 PM", "2024/1/31 15:45", "[12/03/24 10:01]", "15:45 น.", "٣:٤٥ م",
            "2024년 1월 31일 수요일", "Wednesday, January 31, 2024", "昨天 下午3:45", "--- 31.01.2024 ---", "Today",
        ] {
            assert!(is_stamp(stamp), "{stamp}");
        }
        for text in ["see you at 10", "hi 10:32", "10:32 is fine", "Monday works for me"] {
            assert!(!is_stamp(text), "{text}");
        }
    }

    #[test]
    fn header_keys_urls_and_sentences_are_not_names() {
        for name in ["From", "subject", "Betreff", "主题", "https", "www.site.com", "this is a long sentence", "Full Name", "WhatsApp", "2024"] {
            assert!(!is_name(name), "{name}");
        }
        for name in ["Anna", "Bob Lee", "陈俊杰", "لينا", "Me", "A", "Customer Service"] {
            assert!(is_name(name), "{name}");
        }
        assert!(!is_named_line("https://bit.ly/x: click"));
        assert!(!is_named_line("Meeting at 10:30"));
    }

    #[test]
    fn emails_sms_lists_and_prose_are_not_split() {
        let email = "From: Anna Lee <anna@gmail.com>\nTo: David <david@outlook.com>\nSubject: Re: the platform\nDate: 2024-03-02 10:32\n\nHi David,\n\nThe deposit window closes today.\n\nBest regards,\nAnna\n\nOn 2024-03-01 09:10, David wrote:\n> Anna: is it safe?\n> David: let me think";
        assert!(split_block(email).is_none());
        let form = "Dear friend,\nI am Mrs. Grace, a widow with $4.5M to transfer. Send me:\nFull Name: \nAddress: \nPhone: \nAge: \nOccupation: ";
        assert!(split_block(form).is_none());
        let sms = "USPS: Your package could not be delivered due to an incomplete address. Update here: https://usps-redelivery.top/track within 24h.";
        assert!(split_block(sms).is_none());
        assert!(split_block("Your code: 482913. Do not share it.\nRef: 99812").is_none());
        let job = "Hiring now! Customer service in Cambodia\n- salary 3000 USD\n- free flight and housing\n- no experience\n- send passport photo\nWhatsApp: +855 12 345 678\nTelegram: @hr_asia";
        assert!(split_block(job).is_none());
        let prose = "I have been thinking about what you said yesterday and I think you are right that we\nshould be careful with money, but my uncle has been trading for twenty years and he\nhas never lost, so I really believe this is different from the scams you read about\nin the news, and I would never ask you for anything I would not do myself.";
        assert!(split_block(prose).is_none());
        assert!(split_block("hi\nhow are you").is_none());
        let ru = "Иван: напиши мне в Telegram\nСергей: написала\nИван: спасибо";
        assert_eq!(senders_texts(ru)[1], ("Сергей".to_string(), "написала".to_string()));
    }

    #[test]
    fn ocr_without_names_gives_unknown_turns() {
        let ocr = "9:41\nHi dear, good morning\nwho is this?\nYesterday 9:45 PM\nI am Lily, we matched on Tinder\noh hi Lily\nnice to meet you";
        let got = turns(ocr);
        assert_eq!(got.len(), 5);
        assert!(got.iter().all(|(s, _)| s.is_none()));
        assert_eq!(got[2].1, "I am Lily, we matched on Tinder");
        let blank = "早上好\n\n你是谁？\n\n我是李娜，上次在群里见过\n\n哦哦，你好";
        assert_eq!(turns(blank).len(), 4);
        let lines = "hey\nwho is this\nits Lily\nfrom the gym\noh hi\nhow are you";
        assert_eq!(turns(lines).len(), 6);
    }

    #[test]
    fn normalize_expands_blocks_and_is_idempotent() {
        let c = conv(
            "en",
            vec![
                message("them", "hi, is this Mark?", Some(Stage::Contact)),
                message("me", "10:32\nAnna: hi\nMe: who?\n10:33\nAnna: a friend of Mark", Some(Stage::Rapport)),
                message("them", "From: a\nSubject: b\n\nhello", None),
            ],
        );
        let n = normalize(c.clone());
        let got: Vec<(&str, &str, Option<Stage>)> = n.messages.iter().map(|m| (m.sender.as_str(), m.text.as_str(), m.stage)).collect();
        assert_eq!(
            got,
            [
                ("them", "hi, is this Mark?", Some(Stage::Contact)),
                // The block's stage is its last turn's; the earlier turns are unlabelled.
                ("Anna", "hi", None),
                ("Me", "who?", None),
                ("Anna", "a friend of Mark", Some(Stage::Rapport)),
                ("them", "From: a\nSubject: b\n\nhello", None),
            ]
        );
        assert_eq!(normalize(n.clone()), n);
        // In a benign block every turn is `none`.
        let benign = conv("en", vec![message("me", "Anna: hi\nMe: who?\nAnna: your sister", Some(Stage::None))]);
        assert!(normalize(benign).messages.iter().all(|m| m.stage == Some(Stage::None)));
        let ocr = as_ocr_block(&c, &mut rng(1));
        assert_eq!(normalize(normalize(ocr.clone())), normalize(ocr));
    }

    #[test]
    fn named_block_round_trips() {
        for lang in ["en", "zh", "ar"] {
            let c = scam(lang);
            for seed in 0..40 {
                let block = as_named_block(&c, &mut rng(seed));
                assert_eq!(block.messages.len(), 1);
                assert_eq!(block.messages[0].stage, c.messages.last().unwrap().stage);
                let back = normalize(block.clone());
                let texts: Vec<&str> = back.messages.iter().map(|m| m.text.as_str()).collect();
                let original: Vec<&str> = c.messages.iter().map(|m| m.text.as_str()).collect();
                assert_eq!(texts, original, "{lang} seed {seed}:\n{}", block.messages[0].text);
                let mut names = HashMap::new();
                for (a, b) in c.messages.iter().zip(&back.messages) {
                    assert_eq!(names.entry(a.sender.as_str()).or_insert(b.sender.as_str()), &b.sender.as_str(), "consistent names");
                }
                assert_ne!(names["them"], names["me"]);
            }
        }
    }

    #[test]
    fn ocr_block_reads_back_as_unknown_turns() {
        for lang in ["en", "zh", "ar"] {
            let c = scam(lang);
            for seed in 0..20 {
                let ocr = as_ocr_block(&c, &mut rng(seed));
                assert_eq!(ocr.id, format!("{}~ocr", c.id));
                assert_eq!(ocr.messages[0].stage, c.messages.last().unwrap().stage);
                let back = normalize(ocr.clone());
                assert!(back.messages.len() >= c.messages.len(), "{lang} seed {seed}:\n{}", ocr.messages[0].text);
                assert!(back.messages.iter().all(|m| m.sender == UNKNOWN));
            }
        }
    }

    #[test]
    fn ocr_noise_is_light_and_stamps_parse() {
        let text = "Hello my dear, I am Lily from Singapore and I love morning runs along the river";
        let mut r = rng(3);
        let changed: usize = (0..200)
            .map(|_| {
                let noisy = ocr_noise(text, &mut r);
                noisy.chars().zip(text.chars()).filter(|(a, b)| a != b).count().min(1)
            })
            .sum();
        assert!((20..200).contains(&changed), "{changed} of 200 noisy copies differ");
        for lang in ["en", "zh", "ko", "ja", "th", "ar", "de"] {
            let mut clock = Clock::start(&mut r);
            for _ in 0..50 {
                clock.tick(&mut r);
                let stamp = clock.stamp(Some(lang), &mut r);
                assert!(is_stamp(&stamp), "{lang}: {stamp}");
            }
        }
    }

    #[test]
    fn flat_email_and_dropped_names() {
        let c = scam("en");
        let flat = as_flat(&c);
        assert_eq!(flat.messages.len(), 1);
        assert!(!flat.messages[0].text.contains('\n') && !flat.messages[0].text.contains("  "));
        assert!(flat.messages[0].text.starts_with("Hi, is this David?") && flat.messages[0].text.ends_with("hurry"));
        assert!(split_block(&flat.messages[0].text).is_none());

        let email = as_email_thread(&c, &mut rng(5));
        assert!((7..=8).contains(&email.messages.len()), "{} emails: one per run of a sender", email.messages.len());
        assert_eq!(normalize(email.clone()), email, "emails are not split");
        assert!(email.messages[0].text.starts_with("Subject: Hi, is this David?"));
        assert!(email.messages[1].text.contains("wrote:\n> "));
        assert_eq!(email.messages.last().unwrap().stage, Some(Stage::Extraction));
        assert_eq!(email.messages.last().unwrap().sender, "them");
        let bodies: usize = c.messages.iter().filter(|m| email.messages.iter().any(|e| e.text.contains(&m.text))).count();
        assert_eq!(bodies, c.messages.len(), "every text is in an email");

        let dropped = drop_names(&c);
        assert!(dropped.messages.iter().all(|m| m.sender == UNKNOWN));
        assert_eq!(dropped.messages.iter().map(|m| (&m.text, m.stage)).collect::<Vec<_>>(), c.messages.iter().map(|m| (&m.text, m.stage)).collect::<Vec<_>>());
    }

    #[test]
    fn merged_runs_take_the_stage_of_their_last_turn() {
        let c = scam("en");
        for seed in 0..30 {
            let merged = merge_runs(&c, &mut rng(seed));
            assert!(merged.messages.len() < c.messages.len());
            let mut at = 0;
            for m in &merged.messages {
                // A merged message is `Name: text` lines; the others are the originals.
                let lines: Vec<&str> = if m.sender == UNKNOWN { m.text.lines().collect() } else { vec![m.text.as_str()] };
                assert!((1..=5).contains(&lines.len()));
                for line in &lines {
                    assert!(line.ends_with(&c.messages[at].text), "seed {seed}: {line:?}");
                    at += 1;
                }
                assert_eq!(m.stage, c.messages[at - 1].stage, "seed {seed}: {:?}", m.text);
            }
            assert_eq!(at, c.messages.len());
        }
    }

    #[test]
    fn unlabelled_and_benign_stages_are_kept() {
        let mut masked = scam("en");
        masked.messages.iter_mut().for_each(|m| m.stage = None);
        let mut benign = scam("en");
        benign.messages.iter_mut().for_each(|m| m.stage = Some(Stage::None));
        for seed in 0..10 {
            for kind in Augmentation::ALL {
                assert!(kind.apply(&masked, &mut rng(seed)).messages.iter().all(|m| m.stage.is_none()), "{kind:?}");
                assert!(kind.apply(&benign, &mut rng(seed)).messages.iter().all(|m| m.stage == Some(Stage::None)), "{kind:?}");
            }
        }
    }

    #[test]
    fn augmentations_are_deterministic_under_a_seed() {
        let c = scam("zh");
        for kind in Augmentation::ALL {
            let a = kind.apply(&c, &mut rng(11));
            assert_eq!(a, kind.apply(&c, &mut rng(11)), "{kind:?}");
            assert_eq!((a.lang.as_deref(), a.label, a.scam_type), (Some("zh"), c.label, c.scam_type));
            assert!(a.id.starts_with("zh-1~"));
        }
        assert_eq!(augment(&c, &mut rng(7)), augment(&c, &mut rng(7)));
        let outputs: HashSet<String> = (0..20).map(|s| as_ocr_block(&c, &mut rng(s)).messages[0].text.clone()).collect();
        assert!(outputs.len() > 15, "seeds give different blocks");
        let kinds: HashSet<String> = (0..50).flat_map(|s| augment(&c, &mut rng(s))).map(|a| a.id).collect();
        assert_eq!(kinds.len(), 6, "every augmentation is picked: {kinds:?}");
        assert!(augment(&conv("en", vec![]), &mut rng(0)).is_empty());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        const PIECES: &[&str] = &[
            "Anna: hi there", "Me: who is this?", "[10:32] Bob: ok", "陈俊杰：你好", "10:32", "下午3:45", "오후 3:45", "", "",
            "just a line", "another short line", "From: x", "Subject: y", "> quoted", "- item", "Yesterday 9:41 PM",
            "a much longer line of text that goes on and on about investments and platforms and profits",
            "لينا: مساء الخير", "Anna (10:40): 500 USDT", "Full Name: ", "https://x.io/a: b", "Bob, [31.01.24 15:45]",
        ];

        fn block() -> impl Strategy<Value = String> {
            proptest::collection::vec(0..PIECES.len(), 0..14).prop_map(|ix| ix.into_iter().map(|i| PIECES[i]).collect::<Vec<_>>().join("\n"))
        }

        proptest! {
            #[test]
            fn normalize_is_idempotent(texts in proptest::collection::vec(block(), 1..4)) {
                let c = conv("en", texts.iter().map(|t| message("them", t, Some(Stage::Pitch))).collect());
                let once = normalize(c);
                prop_assert_eq!(normalize(once.clone()), once);
            }

            #[test]
            fn augmented_blocks_normalize_idempotently(seed in 0u64..1000, lang in prop::sample::select(vec!["en", "zh", "ar"])) {
                for a in augment(&scam(lang), &mut rng(seed)) {
                    let once = normalize(a);
                    prop_assert_eq!(normalize(once.clone()), once);
                }
            }
        }
    }
}

//! A lean SentencePiece unigram tokenizer for `tokenizer.json` files in XLM-R's shape:
//! special tokens split off the raw text, SentencePiece's precompiled character map, runs
//! of spaces collapsed, metaspace `▁` words, Viterbi segmentation and `<s> … </s>`.
//!
//! It reproduces the ids of the `tokenizers` crate for that pipeline exactly, but keeps the
//! 250k-piece vocabulary in one flat trie instead of a hash map per trie node, so it loads
//! several times faster in a small fraction of the memory.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use base64::Engine;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use unicode_segmentation::UnicodeSegmentation;

/// SentencePiece's metaspace, which stands for a space inside pieces.
const METASPACE: char = '\u{2581}';
/// How much worse than the rarest piece an unknown character scores (as in SentencePiece).
const UNK_PENALTY: f64 = 10.0;

/// A darts-clone double-array trie (the format of SentencePiece's character map), read
/// with bounds checks so a corrupt array ends a search instead of panicking.
struct DoubleArray {
    units: Vec<u32>,
}

impl DoubleArray {
    fn from_le_bytes(bytes: &[u8]) -> Self {
        let units = bytes.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        Self { units }
    }

    /// `(value, length)` of every key that is a prefix of `key`, shortest first. Like
    /// SentencePiece, the search stops at a NUL byte.
    fn prefixes<'a>(&'a self, key: &'a [u8]) -> impl Iterator<Item = (u32, usize)> + 'a {
        let offset = |unit: u32| (unit >> 10) << ((unit & (1 << 9)) >> 6);
        let mut node = self.units.first().map(|&root| offset(root) as usize);
        let mut pos = 0;
        std::iter::from_fn(move || {
            while let (Some(n), Some(&c)) = (node, key.get(pos)) {
                pos += 1;
                let next = n ^ c as usize;
                let unit = match self.units.get(next) {
                    Some(&unit) if c != 0 && unit & ((1 << 31) | 0xFF) == c as u32 => unit,
                    _ => break,
                };
                let child = next ^ offset(unit) as usize;
                node = Some(child);
                if (unit >> 8) & 1 == 1 {
                    return self.units.get(child).map(|&leaf| (leaf & 0x7FFF_FFFF, pos));
                }
            }
            node = None;
            None
        })
    }
}

/// The vocabulary as a byte trie whose nodes keep their children side by side, in the
/// order of their `labels`. Built from the sorted pieces in one pass, much faster than a
/// double array.
struct PieceTrie {
    labels: Vec<u8>,
    nodes: Vec<TrieNode>,
}

/// A [`PieceTrie`] node.
#[derive(Clone, Copy)]
struct TrieNode {
    /// The children are nodes `first..end`.
    first: u32,
    end: u32,
    /// The id of the piece ending here, or `u32::MAX`.
    id: u32,
}

impl PieceTrie {
    /// Builds the trie of `pieces` `(bytes, id)`; a repeated piece keeps its last id, as in
    /// `tokenizers`.
    fn build<'a>(pieces: impl Iterator<Item = (&'a [u8], u32)>) -> Result<Self> {
        // Sorting on the first 8 bytes first spares most comparisons a trip to the bytes.
        let head = |p: &[u8]| p.iter().take(8).enumerate().fold(0u64, |h, (i, &b)| h | (b as u64) << (56 - 8 * i));
        let mut pieces: Vec<(u64, &[u8], u32)> = pieces.map(|(p, id)| (head(p), p, id)).collect();
        pieces.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)).then(b.2.cmp(&a.2)));
        pieces.dedup_by(|later, kept| later.1 == kept.1);
        let leaf = TrieNode { first: 0, end: 0, id: u32::MAX };
        let (mut labels, mut nodes) = (vec![0], vec![leaf]);
        // Nodes still to expand, depth first: the node, the pieces under its prefix, its length.
        let mut todo = vec![(0, 0, pieces.len(), 0)];
        while let Some((node, mut lo, hi, depth)) = todo.pop() {
            if lo < hi && pieces[lo].1.len() == depth {
                nodes[node].id = pieces[lo].2;
                lo += 1;
            }
            let first = u32::try_from(labels.len())?;
            // The rest are longer than `depth`, sorted, so each byte there is one child.
            let byte = |p: &(u64, &[u8], u32)| if depth < 8 { (p.0 >> (56 - 8 * depth)) as u8 } else { p.1[depth] };
            while lo < hi {
                let label = byte(&pieces[lo]);
                let end = lo + pieces[lo..hi].partition_point(|p| byte(p) == label);
                todo.push((labels.len(), lo, end, depth + 1));
                labels.push(label);
                nodes.push(leaf);
                lo = end;
            }
            nodes[node].first = first;
            nodes[node].end = u32::try_from(labels.len())?;
        }
        Ok(Self { labels, nodes })
    }

    /// `(id, length)` of every piece that is a prefix of `text`, shortest first.
    fn prefixes<'a>(&'a self, text: &'a [u8]) -> impl Iterator<Item = (u32, usize)> + 'a {
        let mut node = 0;
        let mut pos = 0;
        std::iter::from_fn(move || {
            while let Some(&c) = text.get(pos) {
                let TrieNode { first, end, .. } = self.nodes[node];
                node = first as usize + self.labels[first as usize..end as usize].binary_search(&c).ok()?;
                pos += 1;
                if self.nodes[node].id != u32::MAX {
                    return Some((self.nodes[node].id, pos));
                }
            }
            None
        })
    }

    /// The id of exactly `piece`.
    fn get(&self, piece: &[u8]) -> Option<u32> {
        self.prefixes(piece).find(|&(_, len)| len == piece.len()).map(|(id, _)| id)
    }
}

/// SentencePiece's "precompiled charsmap" normaliser as the `tokenizers` crate applies it.
struct Charsmap {
    trie: DoubleArray,
    /// NUL-terminated replacements, indexed by the trie's values.
    replacements: String,
}

impl Charsmap {
    /// Reads the blob: a little-endian u32 trie size in bytes, the trie, the replacements.
    fn parse(blob: &[u8]) -> Result<Self> {
        let size = blob.get(..4).ok_or_else(|| anyhow!("precompiled_charsmap shorter than its header"))?;
        // Whole units only, as the `spm_precompiled` crate reads it.
        let trie_end = 4 + u32::from_le_bytes([size[0], size[1], size[2], size[3]]) as usize / 4 * 4;
        let trie = blob.get(4..trie_end).ok_or_else(|| anyhow!("precompiled_charsmap shorter than its trie"))?;
        let replacements = std::str::from_utf8(&blob[trie_end..])
            .context("precompiled_charsmap replacements are not UTF-8")?
            .to_owned();
        Ok(Self { trie: DoubleArray::from_le_bytes(trie), replacements })
    }

    /// The replacement for the shortest key that prefixes `chunk`.
    fn transform(&self, chunk: &str) -> Option<&str> {
        let (at, _) = self.trie.prefixes(chunk.as_bytes()).next()?;
        let rest = self.replacements.get(at as usize..)?;
        Some(&rest[..rest.find('\0').unwrap_or(rest.len())])
    }

    /// Appends the normalised `text` to `out`. Like `tokenizers` (and SentencePiece), a
    /// grapheme shorter than 6 bytes is replaced whole when some key prefixes it, even if
    /// that key covers only its first character; otherwise each character is looked up alone.
    fn normalize(&self, text: &str, out: &mut String) {
        for grapheme in text.graphemes(true) {
            if grapheme.len() < 6 {
                if let Some(norm) = self.transform(grapheme) {
                    out.push_str(norm);
                    continue;
                }
            }
            for (i, c) in grapheme.char_indices() {
                match self.transform(&grapheme[i..i + c.len_utf8()]) {
                    Some(norm) => out.push_str(norm),
                    None => out.push(c),
                }
            }
        }
    }
}

/// A token matched in the raw text before normalisation (`<s>`, `<mask>`, …).
struct AddedToken {
    content: String,
    id: u32,
    /// Also swallows the whitespace before the token.
    lstrip: bool,
    /// Also swallows the whitespace after the token.
    rstrip: bool,
}

/// One Viterbi lattice position: the best path ending here.
#[derive(Clone, Copy)]
struct Best {
    score: f64,
    /// Where the last piece of that path starts; `usize::MAX` while unreached.
    start: usize,
    id: u32,
}

/// A unigram tokenizer equivalent to the `tokenizers` crate on XLM-R's pipeline.
pub struct Unigram {
    added: Vec<AddedToken>,
    charsmap: Charsmap,
    /// Piece bytes → id.
    pieces: PieceTrie,
    /// Score of each id.
    scores: Vec<f64>,
    unk: u32,
    unk_score: f64,
    /// Ids the post-processor puts before and after the text.
    prefix: Vec<u32>,
    suffix: Vec<u32>,
}

#[derive(Deserialize)]
struct TokenizerJson<'a> {
    #[serde(default)]
    added_tokens: Vec<AddedTokenJson>,
    #[serde(default)]
    normalizer: Value,
    #[serde(default)]
    pre_tokenizer: Value,
    #[serde(default)]
    post_processor: Value,
    #[serde(default)]
    truncation: Value,
    #[serde(default)]
    padding: Value,
    #[serde(borrow)]
    model: ModelJson<'a>,
}

#[derive(Deserialize)]
struct AddedTokenJson {
    id: u32,
    content: String,
    #[serde(default)]
    single_word: bool,
    #[serde(default)]
    lstrip: bool,
    #[serde(default)]
    rstrip: bool,
    #[serde(default)]
    normalized: bool,
}

#[derive(Deserialize)]
struct ModelJson<'a> {
    #[serde(rename = "type", default)]
    kind: String,
    unk_id: Option<u32>,
    #[serde(default)]
    byte_fallback: bool,
    #[serde(borrow, default)]
    vocab: Vocab<'a>,
}

/// `[piece, score]`, the piece borrowed from the file unless it has escapes.
#[derive(Deserialize)]
struct Piece<'a>(#[serde(borrow)] Cow<'a, str>, f64);

/// `model.vocab`: a unigram list of pieces, or another model's vocabulary (skipped).
#[derive(Default)]
enum Vocab<'a> {
    Pieces(Vec<Piece<'a>>),
    #[default]
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Vocab<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct VocabVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for VocabVisitor<'a> {
            type Value = Vocab<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a vocabulary")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut pieces = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(piece) = seq.next_element()? {
                    pieces.push(piece);
                }
                Ok(Vocab::Pieces(pieces))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Vocab::Other)
            }
        }
        deserializer.deserialize_any(VocabVisitor(PhantomData))
    }
}

/// Whether `v` is an object with `"type": kind`.
fn has_type(v: &Value, kind: &str) -> bool {
    v["type"] == kind
}

/// The ids of `item`, a `SpecialToken` of a `TemplateProcessing` post-processor's template.
fn special_ids(post: &Value, item: &Value) -> Option<Vec<u32>> {
    let name = item["SpecialToken"]["id"].as_str()?;
    let ids = post["special_tokens"][name]["ids"].as_array()?;
    ids.iter().map(|id| id.as_u64().and_then(|id| u32::try_from(id).ok())).collect()
}

impl Unigram {
    /// Loads the tokenizer from a Hugging Face `tokenizer.json`; `None` when the file
    /// describes another pipeline than the one this type implements.
    pub fn from_tokenizer_json(path: impl AsRef<Path>) -> Result<Option<Self>> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let json: TokenizerJson =
            serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))?;
        Self::from_json(json).with_context(|| format!("loading {}", path.display()))
    }

    fn from_json(json: TokenizerJson) -> Result<Option<Self>> {
        let TokenizerJson { added_tokens, normalizer, pre_tokenizer, post_processor, truncation, padding, model } =
            json;
        let Vocab::Pieces(vocab) = model.vocab else { return Ok(None) };
        let Some(unk) = model.unk_id else { return Ok(None) };
        let steps = normalizer["normalizers"].as_array().map(Vec::as_slice).unwrap_or_default();
        let [precompiled, collapse] = steps else { return Ok(None) };
        let template = post_processor["single"].as_array().map(Vec::as_slice).unwrap_or_default();
        let [first, text, last] = template else { return Ok(None) };
        let recognised = model.kind == "Unigram"
            && !model.byte_fallback
            && truncation.is_null()
            && padding.is_null()
            && has_type(&normalizer, "Sequence")
            && has_type(precompiled, "Precompiled")
            && has_type(collapse, "Replace")
            && collapse["pattern"]["Regex"] == " {2,}"
            && collapse["content"] == " "
            && has_type(&pre_tokenizer, "Metaspace")
            && pre_tokenizer["replacement"] == METASPACE.to_string().as_str()
            && pre_tokenizer["prepend_scheme"] == "always"
            && pre_tokenizer["split"] == true
            && has_type(&post_processor, "TemplateProcessing")
            && text["Sequence"]["id"] == "A";
        let (Some(prefix), Some(suffix)) = (special_ids(&post_processor, first), special_ids(&post_processor, last))
        else {
            return Ok(None);
        };
        let Some(charsmap) = precompiled["precompiled_charsmap"].as_str() else { return Ok(None) };
        if !recognised || unk as usize >= vocab.len() {
            return Ok(None);
        }

        u32::try_from(vocab.len()).context("too many pieces")?;
        // `tokenizers` never matches an empty piece.
        let keys = vocab.iter().zip(0..).filter(|(Piece(p, _), _)| !p.is_empty());
        let pieces = PieceTrie::build(keys.map(|(Piece(p, _), id)| (p.as_bytes(), id)))?;
        let scores: Vec<f64> = vocab.iter().map(|Piece(_, score)| *score).collect();
        let min_score = scores.iter().copied().fold(f64::INFINITY, f64::min);

        let mut added = Vec::with_capacity(added_tokens.len());
        // `tokenizers` ignores empty added tokens.
        for t in added_tokens.into_iter().filter(|t| !t.content.is_empty()) {
            // Tokens matched after normalisation or only as whole words are not implemented.
            if t.normalized || t.single_word || pieces.get(t.content.as_bytes()) != Some(t.id) {
                return Ok(None);
            }
            added.push(AddedToken { content: t.content, id: t.id, lstrip: t.lstrip, rstrip: t.rstrip });
        }
        let charsmap =
            base64::engine::general_purpose::STANDARD.decode(charsmap).context("precompiled_charsmap is not base64")?;
        Ok(Some(Self {
            added,
            charsmap: Charsmap::parse(&charsmap)?,
            pieces,
            scores,
            unk,
            unk_score: min_score - UNK_PENALTY,
            prefix,
            suffix,
        }))
    }

    /// The id of `piece`, if it is in the vocabulary.
    pub fn token_to_id(&self, piece: &str) -> Option<u32> {
        self.pieces.get(piece.as_bytes())
    }

    /// Token ids of `text`, with the special tokens around it (`<s> … </s>`).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut ids = self.prefix.clone();
        let mut normalized = String::new();
        let mut words = String::new();
        let mut lattice = Vec::new();
        for (span, added) in self.split_added(text) {
            if let Some(id) = added {
                ids.push(id);
                continue;
            }
            normalized.clear();
            self.charsmap.normalize(&text[span], &mut normalized);
            if normalized.is_empty() {
                continue;
            }
            // Runs of spaces become one, every space a `▁`, and each `▁` starts a word.
            words.clear();
            if !normalized.starts_with([' ', METASPACE]) {
                words.push(METASPACE);
            }
            let mut after_space = false;
            for c in normalized.chars() {
                if c != ' ' {
                    words.push(c);
                } else if !after_space {
                    words.push(METASPACE);
                }
                after_space = c == ' ';
            }
            let mut start = 0;
            for (i, _) in words.match_indices(METASPACE).filter(|&(i, _)| i > 0) {
                self.segment(&words[start..i], &mut lattice, &mut ids);
                start = i;
            }
            self.segment(&words[start..], &mut lattice, &mut ids);
        }
        ids.extend_from_slice(&self.suffix);
        ids
    }

    /// Splits raw `text` around added tokens (leftmost, then longest match), like the
    /// `tokenizers` crate's added vocabulary; empty spans are left out.
    fn split_added(&self, text: &str) -> Vec<(Range<usize>, Option<u32>)> {
        let mut spans = Vec::new();
        let mut done = 0;
        let mut pos = 0;
        while pos < text.len() {
            let rest = &text.as_bytes()[pos..];
            let found = self
                .added
                .iter()
                .filter(|t| t.content.as_bytes()[0] == rest[0] && rest.starts_with(t.content.as_bytes()))
                .max_by_key(|t| t.content.len());
            let Some(token) = found else {
                pos += 1;
                continue;
            };
            let mut start = pos;
            let mut end = pos + token.content.len();
            if token.lstrip {
                let kept = text[..start].trim_end_matches(char::is_whitespace).len();
                start = kept.max(done);
            }
            if token.rstrip {
                end = text.len() - text[end..].trim_start_matches(char::is_whitespace).len();
            }
            if done < start {
                spans.push((done..start, None));
            }
            spans.push((start..end, Some(token.id)));
            done = end;
            pos = end;
        }
        if done < text.len() {
            spans.push((done..text.len(), None));
        }
        spans
    }

    /// Appends the ids of the best segmentation of `word`. Characters without a piece of
    /// their own score `unk_score`; consecutive unknown pieces are fused and looked up as a
    /// whole (falling back to `unk`), as `tokenizers` does.
    fn segment(&self, word: &str, lattice: &mut Vec<Best>, ids: &mut Vec<u32>) {
        lattice.clear();
        lattice.resize(word.len() + 1, Best { score: 0.0, start: usize::MAX, id: self.unk });
        let relax = |node: &mut Best, score: f64, start: usize, id: u32| {
            if node.start == usize::MAX || score > node.score {
                *node = Best { score, start, id };
            }
        };
        for (start, c) in word.char_indices() {
            let base = lattice[start].score;
            let mut single = false;
            for (id, len) in self.pieces.prefixes(&word.as_bytes()[start..]) {
                relax(&mut lattice[start + len], self.scores[id as usize] + base, start, id);
                single |= len == c.len_utf8();
            }
            if !single {
                relax(&mut lattice[start + c.len_utf8()], self.unk_score + base, start, self.unk);
            }
        }
        let first = ids.len();
        let mut unknown_end = None;
        let mut end = word.len();
        while end > 0 {
            let node = lattice[end];
            if node.id == self.unk {
                unknown_end.get_or_insert(end);
            } else {
                if let Some(unknown_end) = unknown_end.take() {
                    ids.push(self.token_to_id(&word[end..unknown_end]).unwrap_or(self.unk));
                }
                ids.push(node.id);
            }
            end = node.start;
        }
        if let Some(unknown_end) = unknown_end {
            ids.push(self.token_to_id(&word[..unknown_end]).unwrap_or(self.unk));
        }
        ids[first..].reverse();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn double_array_finds_every_prefix_shortest_first() {
        let keys: Vec<(&[u8], u32)> = vec![(b"a", 1), (b"ab", 2), (b"abcd", 3), (b"b", 4)];
        let trie = DoubleArray::from_le_bytes(&yada::builder::DoubleArrayBuilder::build(&keys).unwrap());
        assert_eq!(trie.prefixes(b"abcde").collect::<Vec<_>>(), vec![(1, 1), (2, 2), (3, 4)]);
        assert_eq!(trie.prefixes(b"a\0bcd").collect::<Vec<_>>(), vec![(1, 1)]);
        assert_eq!(DoubleArray { units: vec![] }.prefixes(b"a").count(), 0);
    }

    #[test]
    fn piece_trie_finds_every_prefix_shortest_first_and_keeps_the_last_duplicate() {
        let pieces: Vec<(&[u8], u32)> = vec![(b"b", 0), (b"abcd", 1), (b"a", 2), (b"ab", 3), (b"b", 4), (b"ac", 5)];
        let trie = PieceTrie::build(pieces.into_iter()).unwrap();
        assert_eq!(trie.prefixes(b"abcde").collect::<Vec<_>>(), vec![(2, 1), (3, 2), (1, 4)]);
        assert_eq!(trie.prefixes(b"xab").count(), 0);
        assert_eq!(trie.get(b"abc"), None);
        assert_eq!(trie.get(b"ac"), Some(5));
        assert_eq!(trie.get(b"b"), Some(4));
        assert_eq!(PieceTrie::build(std::iter::empty()).unwrap().prefixes(b"a").count(), 0);
    }

    /// A toy vocabulary through the converter's `tokenizer.json` writer: the lean tokenizer
    /// must recognise it and agree with the `tokenizers` crate, including on a run of
    /// unknown pieces whose concatenation is itself a piece.
    #[test]
    fn toy_vocabulary_matches_the_tokenizers_crate() {
        let pieces = [
            ("<s>", 0.0),
            ("<pad>", 0.0),
            ("</s>", 0.0),
            ("<unk>", 0.0),
            ("\u{2581}", -2.0),
            ("a", -3.0),
            ("b", -3.0),
            ("ab", -4.0),
            ("\u{2581}ab", -5.0),
            ("<unk><unk>", -1.0),
            ("\"q\\", -6.0),
            ("c", -20.0),
        ];
        let vocab = crate::model::e5s1::E5s1Vocab {
            pieces: pieces.iter().map(|&(p, s)| (p.to_owned(), s)).collect(),
            bos: 0,
            eos: 2,
            pad: 1,
            unk: 3,
        };
        let map = [(0xFF1C, vec![0x3C]), (0xFF1E, vec![0x3E]), (0x9, vec![0x20]), (0xFF21, vec![0x61])];
        let json = crate::model::spm::tokenizer_json(&vocab, &map.into_iter().collect()).unwrap();
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), json.to_string()).unwrap();
        let lean = Unigram::from_tokenizer_json(file.path()).unwrap().expect("recognised");
        let reference = tokenizers::Tokenizer::from_file(file.path()).unwrap();
        for text in
            ["ab", "a b", "＜unk＞＜unk＞", "x＜unk＞＜unk＞y", "\"q\\ ab", "zzz", "ab  c\td", "<s>a</s>", "Ａ", ""]
        {
            let want = reference.encode(text, true).unwrap().get_ids().to_vec();
            assert_eq!(lean.encode(text), want, "{text:?}");
        }
        assert_eq!(lean.encode("＜unk＞＜unk＞"), vec![0, 4, 9, 2], "the fused unknowns are looked up whole");

        // Any other pipeline is left to the `tokenizers` crate.
        let variants: [(&str, serde_json::Value); 5] = [
            ("/truncation", serde_json::json!({"max_length": 8})),
            ("/pre_tokenizer/prepend_scheme", "first".into()),
            ("/normalizer/normalizers/1/content", "_".into()),
            ("/model/byte_fallback", true.into()),
            ("/added_tokens/0/normalized", true.into()),
        ];
        for (at, value) in variants {
            let mut other = json.clone();
            *other.pointer_mut(at).unwrap() = value;
            std::fs::write(file.path(), other.to_string()).unwrap();
            assert!(Unigram::from_tokenizer_json(file.path()).unwrap().is_none(), "{at}");
        }
    }

    #[test]
    fn charsmap_replaces_a_grapheme_by_its_first_character_mapping() {
        let map = [(0xFF21, vec![0x41]), (0x9, vec![0x20]), (0xFB01, vec![0x66, 0x69])].into_iter().collect();
        let charsmap = Charsmap::parse(&crate::model::spm::precompiled_charsmap(&map).unwrap()).unwrap();
        let mut out = String::new();
        // "Ａ" + combining acute is one grapheme: SentencePiece drops the accent.
        charsmap.normalize("Ａ\u{301}\tﬁx", &mut out);
        assert_eq!(out, "A fix");
    }
}

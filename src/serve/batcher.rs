//! Dynamic batching: admitted requests wait in a queue; one inference thread takes every
//! request waiting (up to [`GATHER_MESSAGES`] messages), embeds all their messages in one
//! encoder call — length-sorted, token-budgeted batches across requests — and runs the head
//! on each request with its own options. Inference never runs on the async runtime.
//!
//! A request counts against `--max-concurrent` from admission (before its body is parsed)
//! until it leaves the queue, whether or not its client is still there; the work of a
//! client that went away is dropped unscored when its turn comes, and counted.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Result;
use tokio::sync::oneshot;

use super::metrics::Metrics;
use crate::chat::{self, Conversation};
use crate::classifier::{Classifier, ConversationScore, ScoreOptions};

/// Messages gathered into one inference call at most (one larger request runs alone).
const GATHER_MESSAGES: usize = 512;

/// Where a request's time went.
#[derive(Debug, Clone, Copy, Default)]
pub struct Timings {
    /// Waiting for the inference thread.
    pub queue: Duration,
    /// Tokenising its batch.
    pub tokenize: Duration,
    /// Transformer, head and decoding of its batch.
    pub inference: Duration,
}

/// A scored request.
pub struct Scored {
    /// One verdict per conversation, in request order.
    pub scores: Vec<ConversationScore>,
    /// Where the time went.
    pub timings: Timings,
}

/// Why a request was not scored.
#[derive(Debug)]
pub enum Refused {
    /// The queue holds `--max-concurrent` requests; retry after this many seconds.
    Full { retry_after: u64 },
    /// The server is shutting down.
    Closed,
    /// Inference failed (an internal error, not the request's fault).
    Failed(String),
}

struct Job {
    convs: Vec<Conversation>,
    options: ScoreOptions,
    messages: usize,
    enqueued: Instant,
    reply: oneshot::Sender<Result<Scored, String>>,
    /// Held until the job leaves the queue (answered or dropped).
    _permit: Permit,
}

struct Shared {
    admitted: AtomicUsize,
    waiting_messages: AtomicUsize,
    /// Recent inference speed in messages per second (f64 bits), for `Retry-After`.
    rate: AtomicU64,
    max_admitted: usize,
    metrics: Metrics,
}

/// The request queue in front of the inference thread.
pub struct Queue {
    sender: Mutex<Option<Sender<Job>>>,
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl Queue {
    /// Starts the inference thread for `classifier`; at most `max_admitted` requests are
    /// queued or scored at once.
    pub fn start(classifier: Classifier, max_admitted: usize, metrics: Metrics) -> Result<Self> {
        let (sender, receiver) = mpsc::channel();
        let shared = Arc::new(Shared {
            admitted: AtomicUsize::new(0),
            waiting_messages: AtomicUsize::new(0),
            rate: AtomicU64::new(50f64.to_bits()),
            max_admitted,
            metrics,
        });
        let worker_shared = shared.clone();
        let worker = std::thread::Builder::new()
            .name("scamstage-inference".into())
            .spawn(move || run(&classifier, &receiver, &worker_shared))?;
        Ok(Self { sender: Mutex::new(Some(sender)), shared, worker: Mutex::new(Some(worker)) })
    }

    /// Admits one request, or refuses it when `--max-concurrent` requests are already
    /// admitted; the permit is then given to [`Queue::score`].
    pub fn admit(&self) -> Result<Permit, Refused> {
        let shared = &self.shared;
        if shared.admitted.fetch_add(1, Ordering::SeqCst) >= shared.max_admitted {
            shared.admitted.fetch_sub(1, Ordering::SeqCst);
            let rate = f64::from_bits(shared.rate.load(Ordering::Relaxed)).max(1.0);
            let waiting = shared.waiting_messages.load(Ordering::Relaxed) as f64;
            return Err(Refused::Full { retry_after: (waiting / rate).ceil().clamp(1.0, 60.0) as u64 });
        }
        shared.metrics.queue_depth.inc();
        Ok(Permit(shared.clone()))
    }

    /// Queues `convs` under an admission `permit` and waits for their verdicts.
    pub async fn score(&self, permit: Permit, convs: Vec<Conversation>, options: ScoreOptions) -> Result<Scored, Refused> {
        let shared = &self.shared;
        let messages = convs.iter().map(|c| c.messages.len()).sum();
        let (reply, answer) = oneshot::channel();
        let job = Job { convs, options, messages, enqueued: Instant::now(), reply, _permit: permit };
        {
            let sender = self.sender.lock().unwrap_or_else(|e| e.into_inner());
            let sender = sender.as_ref().ok_or(Refused::Closed)?;
            shared.waiting_messages.fetch_add(messages, Ordering::SeqCst);
            shared.metrics.queue_messages.add(messages as i64);
            if sender.send(job).is_err() {
                shared.waiting_messages.fetch_sub(messages, Ordering::SeqCst);
                shared.metrics.queue_messages.sub(messages as i64);
                return Err(Refused::Closed);
            }
        }
        match answer.await {
            Ok(Ok(scored)) => Ok(scored),
            Ok(Err(e)) => Err(Refused::Failed(e)),
            Err(_) => Err(Refused::Failed("the inference thread stopped".into())),
        }
    }

    /// Stops taking requests, lets the inference thread finish what is queued and waits
    /// for it.
    pub fn close(&self) {
        self.sender.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(worker) = self.worker.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = worker.join();
        }
    }
}

/// One admitted request: counts against `--max-concurrent` until dropped, which happens
/// when its job leaves the queue (or when it never gets there).
pub struct Permit(Arc<Shared>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.admitted.fetch_sub(1, Ordering::SeqCst);
        self.0.metrics.queue_depth.dec();
    }
}

/// The inference thread: takes every waiting request, scores them together, answers each.
fn run(classifier: &Classifier, receiver: &Receiver<Job>, shared: &Shared) {
    let metrics = &shared.metrics;
    // Takes a job off the queue; `None` when its client went away (the job is dropped).
    let take = |job: Job| {
        shared.waiting_messages.fetch_sub(job.messages, Ordering::SeqCst);
        metrics.queue_messages.sub(job.messages as i64);
        if job.reply.is_closed() {
            metrics.abandoned.inc();
            return None;
        }
        Some(job)
    };
    while let Ok(first) = receiver.recv() {
        let mut jobs: Vec<Job> = take(first).into_iter().collect();
        let mut messages: usize = jobs.iter().map(|j| j.messages).sum();
        while messages < GATHER_MESSAGES {
            match receiver.try_recv() {
                Ok(job) => {
                    if let Some(job) = take(job) {
                        messages += job.messages;
                        jobs.push(job);
                    }
                }
                Err(_) => break,
            }
        }
        if jobs.is_empty() {
            continue;
        }
        metrics.batch_messages.observe(messages as f64);
        metrics.batch_requests.observe(jobs.len() as f64);
        let picked = Instant::now();
        match score_jobs(classifier, &jobs) {
            Ok((results, tokenize)) => {
                let elapsed = picked.elapsed();
                let rate = messages as f64 / elapsed.as_secs_f64().max(1e-3);
                let old = f64::from_bits(shared.rate.load(Ordering::Relaxed));
                shared.rate.store((0.7 * old + 0.3 * rate).to_bits(), Ordering::Relaxed);
                metrics.messages.inc_by(messages as u64);
                for (job, scores) in jobs.into_iter().zip(results) {
                    metrics.conversations.inc_by(scores.len() as u64);
                    let timings =
                        Timings { queue: picked - job.enqueued, tokenize, inference: elapsed.saturating_sub(tokenize) };
                    // The client may have gone away; its answer is then dropped.
                    let _ = job.reply.send(Ok(Scored { scores, timings }));
                }
            }
            Err(e) => {
                for job in jobs {
                    let _ = job.reply.send(Err(format!("{e:#}")));
                }
            }
        }
    }
}

/// Embeds the messages of every job in one call, then runs the head per job with its
/// options. Returns the verdicts of each job and the time spent tokenising.
fn score_jobs(classifier: &Classifier, jobs: &[Job]) -> Result<(Vec<Vec<ConversationScore>>, Duration)> {
    let texts: Vec<&str> = jobs.iter().flat_map(|j| chat::message_texts(&j.convs)).collect();
    let embeddings = classifier.encoder().embed(&texts)?;
    let mut vectors = embeddings.vectors.into_iter();
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        let embedded = chat::split_by_conversation(&job.convs, vectors.by_ref().take(job.messages).collect());
        results.push(classifier.score_embedded(&job.convs, &embedded, &job.options)?);
    }
    Ok((results, embeddings.tokenize_time))
}

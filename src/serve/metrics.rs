//! The service's Prometheus metrics, in a registry of its own (so several servers can run
//! in one process, as the tests do).

use prometheus::{Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

/// Every metric `/metrics` exposes.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Requests answered, by endpoint and HTTP status.
    pub requests: IntCounterVec,
    /// Request latency in seconds, by endpoint.
    pub latency: HistogramVec,
    /// Seconds a scoring request spent in each phase (`queue`, `tokenize`, `inference`).
    pub phases: HistogramVec,
    /// Messages per inference batch.
    pub batch_messages: Histogram,
    /// Requests per inference batch.
    pub batch_requests: Histogram,
    /// Scoring requests admitted and not yet answered.
    pub queue_depth: IntGauge,
    /// Messages waiting for the inference thread.
    pub queue_messages: IntGauge,
    /// Messages scored.
    pub messages: IntCounter,
    /// Conversations scored.
    pub conversations: IntCounter,
    /// Scoring requests dropped unscored because their client went away.
    pub abandoned: IntCounter,
}

fn buckets(start: f64, factor: f64, count: usize) -> Vec<f64> {
    prometheus::exponential_buckets(start, factor, count).expect("valid bucket parameters")
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new_custom(Some("scamstage".into()), None)?;
        let requests = IntCounterVec::new(Opts::new("requests_total", "HTTP requests answered"), &["endpoint", "status"])?;
        let latency = HistogramVec::new(
            HistogramOpts::new("request_duration_seconds", "HTTP request latency").buckets(buckets(0.001, 2.0, 18)),
            &["endpoint"],
        )?;
        let phases = HistogramVec::new(
            HistogramOpts::new("phase_duration_seconds", "Time of a scoring request in each phase").buckets(buckets(0.0005, 2.0, 18)),
            &["phase"],
        )?;
        let batch_messages =
            Histogram::with_opts(HistogramOpts::new("batch_messages", "Messages per inference batch").buckets(buckets(1.0, 2.0, 12)))?;
        let batch_requests =
            Histogram::with_opts(HistogramOpts::new("batch_requests", "Requests per inference batch").buckets(buckets(1.0, 2.0, 10)))?;
        let queue_depth = IntGauge::new("queue_depth", "Scoring requests admitted and not yet answered")?;
        let queue_messages = IntGauge::new("queue_messages", "Messages waiting for the inference thread")?;
        let messages = IntCounter::new("messages_scored_total", "Messages scored")?;
        let conversations = IntCounter::new("conversations_scored_total", "Conversations scored")?;
        let abandoned = IntCounter::new("requests_abandoned_total", "Scoring requests dropped unscored because their client went away")?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(phases.clone()))?;
        registry.register(Box::new(batch_messages.clone()))?;
        registry.register(Box::new(batch_requests.clone()))?;
        registry.register(Box::new(queue_depth.clone()))?;
        registry.register(Box::new(queue_messages.clone()))?;
        registry.register(Box::new(messages.clone()))?;
        registry.register(Box::new(conversations.clone()))?;
        registry.register(Box::new(abandoned.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            phases,
            batch_messages,
            batch_requests,
            queue_depth,
            queue_messages,
            messages,
            conversations,
            abandoned,
        })
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec only fails on metrics with invalid names, which `new` rules out.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

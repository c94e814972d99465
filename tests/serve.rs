//! The HTTP service on an ephemeral loopback port: every endpoint, every refusal, dynamic
//! batching, and draining on SIGTERM.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use scamstage::chat::Conversation;
use scamstage::classifier::ScoreOptions;
use scamstage::serve::{serve, Loader, ServeOptions};
use serde_json::{json, Value};

/// A server running on its own runtime thread; stopped (and drained) on drop.
struct TestServer {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    fn start(options: ServeOptions, load: Loader) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                serve(listener, options, load, async move {
                    let _ = stopped.await;
                })
                .await
            })
        });
        Self { url, stop: Some(stop), thread: Some(thread) }
    }

    /// Stops the server and returns how `serve` ended.
    fn shutdown(&mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.thread.take().map(|t| t.join().unwrap()).unwrap_or(Ok(()))
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while call(&self.url, "GET", "/health", None, None).status != 200 {
            assert!(Instant::now() < deadline, "server never became ready");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn metric(&self, name: &str) -> f64 {
        metric(&call(&self.url, "GET", "/metrics", None, None).body, name)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// One answer: status, the headers the tests look at, body text.
struct Answer {
    status: u16,
    retry_after: Option<String>,
    server_timing: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

fn call(url: &str, method: &str, path: &str, body: Option<&str>, key: Option<&str>) -> Answer {
    call_bytes(url, method, path, body.map(str::as_bytes), key)
}

fn call_bytes(url: &str, method: &str, path: &str, body: Option<&[u8]>, key: Option<&str>) -> Answer {
    let mut request = ureq::request(method, &format!("{url}{path}")).timeout(Duration::from_secs(300));
    if let Some(key) = key {
        request = request.set("Authorization", &format!("Bearer {key}"));
    }
    let result = match body {
        Some(b) => request.set("Content-Type", "application/json").send_bytes(b),
        None => request.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {path}: {e}"),
    };
    Answer {
        status: response.status(),
        retry_after: response.header("retry-after").map(str::to_string),
        server_timing: response.header("server-timing").map(str::to_string),
        body: response.into_string().unwrap(),
    }
}

/// Sum of every sample of `name` (all label sets) in a Prometheus exposition.
fn metric(exposition: &str, name: &str) -> f64 {
    exposition
        .lines()
        .filter(|l| l.split(['{', ' ']).next() == Some(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn loader() -> Loader {
    Box::new(|| Ok(common::load_classifier()))
}

/// Held-out authored conversations in several languages (real inputs, never trained on).
fn test_conversations() -> Vec<Conversation> {
    let mut convs = Vec::new();
    for lang in ["en", "zh", "th", "ar", "es", "ja"] {
        let path = format!("datasets/authored/{lang}/test.jsonl");
        let text = std::fs::read_to_string(&path).unwrap();
        convs.extend(text.lines().take(2).map(|l| serde_json::from_str::<Conversation>(l).unwrap()));
    }
    convs
}

/// Asserts a served verdict is the offline one, to the last digit: embeddings and head
/// outputs do not depend on what a request is batched with.
fn assert_same_verdict(served: &Value, offline: &Value, context: &str) {
    assert_eq!(served, offline, "{context}: served and offline verdicts differ");
}

fn offline(convs: &[Conversation]) -> Vec<Value> {
    let scores = common::classifier().score(convs, &ScoreOptions::default()).unwrap();
    scores.iter().map(|s| serde_json::to_value(s).unwrap()).collect()
}

#[test]
fn scores_like_offline_batches_concurrent_requests_and_reports_itself() {
    let server = TestServer::start(ServeOptions::default(), loader());
    server.wait_ready();
    let url = server.url.clone();
    let convs = test_conversations();
    let expected = offline(&convs);

    let info = call(&url, "GET", "/info", None, None).json();
    assert_eq!(info["labels"]["stages"], json!(["none", "contact", "rapport", "isolation", "pitch", "extraction", "recruitment"]));
    assert_eq!(info["model"]["encoder"], "multilingual-e5-small");
    assert!(info["threshold"].as_f64().unwrap() > 0.0 && info["device"].is_string() && info["version"].is_string());
    assert_eq!(info["schema_version"], 2);
    assert_eq!(info["labels"]["scam_types"].as_array().unwrap().len(), 9, "benign and the eight scam types");

    // One conversation in, its verdict out, identical to offline `score`.
    let one = call(&url, "POST", "/v1/score", Some(&serde_json::to_string(&convs[0]).unwrap()), None);
    assert_eq!(one.status, 200, "{}", one.body);
    assert_same_verdict(&one.json(), &expected[0], "one conversation");
    let timing = one.server_timing.expect("Server-Timing header");
    for phase in ["queue;dur=", "tokenize;dur=", "inference;dur="] {
        assert!(timing.contains(phase), "{timing}");
    }

    // A batch comes back in order, as {"conversations": [...]}, whichever wrapper it came in.
    let batch = call(&url, "POST", "/v1/score", Some(&json!({"conversations": convs}).to_string()), None);
    assert_eq!(batch.status, 200, "{}", batch.body);
    assert_same_verdict(&batch.json(), &json!({"conversations": expected}), "a batch");
    let array = call(&url, "POST", "/v1/score", Some(&serde_json::to_string(&convs[..2]).unwrap()), None);
    assert_same_verdict(&array.json(), &json!({"conversations": expected[..2]}), "an array");

    // Bare messages are scored as one conversation with id "messages".
    let bare = call(&url, "POST", "/v1/score/messages", Some(&serde_json::to_string(&convs[1].messages).unwrap()), None);
    assert_eq!(bare.status, 200, "{}", bare.body);
    let mut renamed = expected[1].clone();
    renamed["id"] = json!("messages");
    renamed.as_object_mut().unwrap().remove("lang");
    assert_same_verdict(&bare.json(), &renamed, "bare messages");

    // Concurrent requests: one long conversation keeps the inference thread busy while
    // the others queue; each gets its own verdict, and the queued ones share batches.
    let batches_before = server.metric("scamstage_batch_requests_count");
    let long = Conversation { messages: convs.iter().flat_map(|c| c.messages.clone()).collect(), ..convs[0].clone() };
    let long_expected = offline(std::slice::from_ref(&long)).remove(0);
    let (tx, rx) = mpsc::channel();
    let send = |body: String, key: usize| {
        let (url, tx) = (url.clone(), tx.clone());
        std::thread::spawn(move || tx.send((key, call(&url, "POST", "/v1/score", Some(&body), None))).unwrap())
    };
    let mut threads = vec![send(serde_json::to_string(&long).unwrap(), usize::MAX)];
    std::thread::sleep(Duration::from_millis(200));
    for (i, c) in convs.iter().enumerate() {
        threads.push(send(serde_json::to_string(c).unwrap(), i));
    }
    for t in threads {
        t.join().unwrap();
    }
    drop(tx);
    let answers: Vec<(usize, Answer)> = rx.iter().collect();
    assert_eq!(answers.len(), convs.len() + 1);
    for (key, answer) in answers {
        assert_eq!(answer.status, 200, "{}", answer.body);
        let want = if key == usize::MAX { &long_expected } else { &expected[key] };
        assert_same_verdict(&answer.json(), want, &format!("request {key}"));
    }
    let batches = server.metric("scamstage_batch_requests_count") - batches_before;
    assert!(batches < (convs.len() + 1) as f64, "{} requests took {batches} inference batches", convs.len() + 1);

    let metrics = call(&url, "GET", "/metrics", None, None).body;
    assert!(metrics.contains(r#"scamstage_requests_total{endpoint="/v1/score",status="200"}"#), "{metrics}");
    let scored_messages: usize = convs.iter().map(|c| c.messages.len()).sum::<usize>() * 3 + convs[0].messages.len();
    assert!(metric(&metrics, "scamstage_messages_scored_total") >= scored_messages as f64);
    for name in ["scamstage_request_duration_seconds_count", "scamstage_phase_duration_seconds_count", "scamstage_batch_messages_sum"] {
        assert!(metric(&metrics, name) > 0.0, "{name} in {metrics}");
    }
    assert_eq!(metric(&metrics, "scamstage_queue_depth"), 0.0, "nothing left queued");
}

#[test]
fn refuses_bad_requests_with_json_errors_and_the_right_status() {
    let (release, gate) = mpsc::channel::<()>();
    let options = ServeOptions {
        max_body_bytes: 256 * 1024,
        max_conversations: 2,
        max_messages: 40,
        max_concurrent: 1,
        api_key: Some("s3cret".into()),
        ..Default::default()
    };
    let server = TestServer::start(
        options,
        Box::new(move || {
            gate.recv()?;
            Ok(common::load_classifier())
        }),
    );
    let url = server.url.clone();
    let key = Some("s3cret");
    let conv = test_conversations().remove(0);
    let body = serde_json::to_string(&conv).unwrap();
    let post = |path: &str, body: &str| call(&url, "POST", path, Some(body), key);
    let error = |answer: Answer, status: u16| -> Value {
        assert_eq!(answer.status, status, "{}", answer.body);
        let v = answer.json();
        assert_eq!(v["status"], status);
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty() && !e.contains('\n')), "{v}");
        v
    };

    // Not ready yet: 503 with Retry-After, health says loading.
    let loading = post("/v1/score", &body);
    assert_eq!(loading.retry_after.as_deref(), Some("1"));
    error(loading, 503);
    assert_eq!(call(&url, "GET", "/health", None, None).status, 503);
    release.send(()).unwrap();
    server.wait_ready();

    // Authentication: everything but /health needs the bearer token.
    error(call(&url, "POST", "/v1/score", Some(&body), None), 401);
    error(call(&url, "GET", "/info", None, Some("wrong")), 401);
    error(call(&url, "GET", "/metrics", None, None), 401);
    assert_eq!(post("/v1/score", &body).status, 200);

    // Malformed JSON: 400 with the parser's position.
    let broken = "{\"messages\": [\n  {\"sender\": \"them\" \"text\": \"hi\"}]}";
    let parser = serde_json::from_str::<Value>(broken).unwrap_err();
    let v = error(post("/v1/score", broken), 400);
    assert_eq!((v["line"].as_u64(), v["column"].as_u64()), (Some(2), Some(parser.column() as u64)), "{v}");
    error(post("/v1/score", ""), 400);
    let latin1 = b"{\"messages\": [{\"sender\": \"them\", \"text\": \"caf\xe9\"}]}";
    error(call_bytes(&url, "POST", "/v1/score", Some(latin1), key), 400);

    // Body over the limit: 413, which a client that sends the whole body before reading
    // reads every time (the server reads and discards the rest rather than resetting the
    // connection), whether the length is declared or the body is chunked.
    let huge = json!({"messages": [{"sender": "them", "text": "x".repeat(300 * 1024)}]}).to_string();
    for _ in 0..5 {
        error(post("/v1/score", &huge), 413);
        error(post("/v1/parse", &huge), 413);
        let chunked = ureq::post(&format!("{url}/v1/score"))
            .set("Authorization", &format!("Bearer {}", key.unwrap()))
            .send(std::io::Cursor::new(huge.clone().into_bytes()));
        match chunked {
            Err(ureq::Error::Status(413, _)) => {}
            other => panic!("chunked body over the limit: {:?}", other.map(|r| r.status())),
        }
    }

    // Schema and limits: 422 naming the field.
    let field = |answer: Answer| error(answer, 422)["field"].as_str().map(str::to_string);
    let long_text = json!({"messages": [{"sender": "them", "text": "y".repeat(70 * 1024)}]}).to_string();
    assert_eq!(field(post("/v1/score", &long_text)).as_deref(), Some("messages[0].text"));
    let many = json!({"messages": vec![json!({"sender": "them", "text": "hi"}); 41]}).to_string();
    assert_eq!(field(post("/v1/score", &many)).as_deref(), Some("messages"));
    assert_eq!(field(post("/v1/score/messages", &json!(vec![json!({"sender": "them", "text": "hi"}); 41]).to_string())).as_deref(), Some("messages"));
    let three = json!({"conversations": [conv, conv, conv]}).to_string();
    assert_eq!(field(post("/v1/score", &three)).as_deref(), Some("conversations"));
    let empty = json!({"conversations": [conv, {"messages": [{"sender": "me", "text": "  "}]}]}).to_string();
    assert_eq!(field(post("/v1/score", &empty)).as_deref(), Some("conversations[1].messages[0].text"));
    let label = json!({"messages": [{"sender": "them", "text": "hi", "stage": "romance"}]}).to_string();
    assert_eq!(field(post("/v1/score", &label)).as_deref(), Some("messages[0].stage"));
    assert_eq!(field(post("/v1/score", r#"{"messages": "hello"}"#)).as_deref(), Some("messages"));
    assert_eq!(field(post("/v1/score", r#"{"messages": []}"#)).as_deref(), Some("messages"));
    assert_eq!(field(post("/v1/score/messages", &body)).as_deref(), Some("messages"));
    assert_eq!(field(post("/v1/score?threshold=1.5", &body)).as_deref(), Some("threshold"));
    error(post("/v1/score?threshold=high", &body), 400);
    // Hostile nesting is refused before parsing, quickly.
    let started = Instant::now();
    let deep = format!(r#"{{"messages": [{{"sender": "them", "text": "hi"}}], "x": {}}}"#, "[".repeat(200_000));
    assert!(error(post("/v1/score", &deep), 400)["error"].as_str().unwrap().contains("nested deeper than 16"));
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    error(call(&url, "GET", "/v2/score", None, key), 404);

    // Queue full: with --max-concurrent 1, a second request while one is scored gets 429.
    let long = Conversation { messages: conv.messages.iter().cycle().take(40).cloned().collect(), ..conv.clone() };
    let long_body = json!({"conversations": [long, long]}).to_string();
    let busy = {
        let url = url.clone();
        std::thread::spawn(move || call(&url, "POST", "/v1/score", Some(&long_body), Some("s3cret")))
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while metric(&call(&url, "GET", "/metrics", None, key).body, "scamstage_queue_depth") < 1.0 {
        assert!(Instant::now() < deadline, "the long request was never admitted");
        std::thread::sleep(Duration::from_millis(5));
    }
    let refused = post("/v1/score", &body);
    assert!(refused.retry_after.as_deref().and_then(|s| s.parse::<u64>().ok()).is_some_and(|s| s >= 1), "Retry-After");
    error(refused, 429);
    assert_eq!(busy.join().unwrap().status, 200, "the admitted request is still answered");

    let metrics = call(&url, "GET", "/metrics", None, key).body;
    for status in ["400", "401", "404", "413", "422", "429", "503"] {
        assert!(metrics.contains(&format!("status=\"{status}\"")), "{status} counted: {metrics}");
    }
}

#[test]
fn a_model_that_cannot_load_stops_the_server_with_its_error() {
    let mut server = TestServer::start(ServeOptions::default(), Box::new(|| anyhow::bail!("no model at /nowhere")));
    let error = server.shutdown_after_failure();
    assert!(format!("{error:#}").contains("no model at /nowhere"), "{error:#}");
}

impl TestServer {
    /// Waits for `serve` to end by itself (it must) and returns its error.
    fn shutdown_after_failure(&mut self) -> anyhow::Error {
        let thread = self.thread.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !thread.is_finished() {
            assert!(Instant::now() < deadline, "serve kept running after the model failed to load");
            std::thread::sleep(Duration::from_millis(20));
        }
        thread.join().unwrap().expect_err("serve fails")
    }
}

#[test]
fn sigterm_stops_accepting_and_answers_every_accepted_request() {
    let model = common::model_files().config.parent().unwrap().to_path_buf();
    let mut child = Command::new(env!("CARGO_BIN_EXE_scamstage"))
        .args(["serve", "--addr", "127.0.0.1:0", "--model"])
        .arg(&model)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let url = line.split_whitespace().find(|w| w.starts_with("http://")).unwrap_or_else(|| panic!("no address in {line:?}")).to_string();
    let deadline = Instant::now() + Duration::from_secs(120);
    while call(&url, "GET", "/health", None, None).status != 200 {
        assert!(Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(50));
    }

    let convs = test_conversations();
    let expected = offline(&convs[..4]);
    let threads: Vec<_> = convs[..4]
        .iter()
        .map(|c| {
            let (url, body) = (url.clone(), serde_json::to_string(c).unwrap());
            std::thread::spawn(move || call(&url, "POST", "/v1/score", Some(&body), None))
        })
        .collect();
    // Wait until all four are accepted (queued or being scored), then ask it to stop.
    let deadline = Instant::now() + Duration::from_secs(60);
    while metric(&call(&url, "GET", "/metrics", None, None).body, "scamstage_queue_depth") < 4.0 {
        assert!(Instant::now() < deadline, "requests never queued");
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    for (t, want) in threads.into_iter().zip(&expected) {
        let answer = t.join().unwrap();
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_same_verdict(&answer.json(), want, "a drained request");
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(rest.contains("stopped after answering every accepted request"), "{rest}");
    assert!(ureq::get(&format!("{url}/health")).call().is_err(), "no longer listening");
}

/// A server that never finishes loading its model: enough for what happens before scoring.
fn unloaded_server(options: ServeOptions) -> (TestServer, mpsc::Sender<()>) {
    let (release, gate) = mpsc::channel::<()>();
    let server = TestServer::start(
        options,
        Box::new(move || {
            gate.recv()?;
            anyhow::bail!("released")
        }),
    );
    (server, release)
}

/// Sends `raw` on a fresh connection (then closes the writing side when `then_close`) and
/// reads until the server closes it (or `within` passes); returns what came back and how
/// long it took.
fn raw_exchange(url: &str, raw: &[u8], within: Duration, then_close: bool) -> (String, Duration) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    stream.set_read_timeout(Some(within)).unwrap();
    let started = Instant::now();
    // Writing may fail once the server has answered and closed: the answer is what counts.
    let _ = stream.write_all(raw);
    if then_close {
        let _ = stream.shutdown(std::net::Shutdown::Write);
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    (String::from_utf8_lossy(&answer).into_owned(), started.elapsed())
}

#[test]
fn stalled_clients_time_out_and_cannot_hold_shutdown() {
    let options = ServeOptions { read_timeout: Duration::from_millis(800), shutdown_timeout: Duration::from_millis(500), ..Default::default() };
    let (mut server, _release) = unloaded_server(options);
    let url = server.url.clone();
    let within = Duration::from_secs(10);
    // Headers that never end: the connection is closed.
    let (answer, took) = raw_exchange(&url, b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Le", within, false);
    assert!(took < Duration::from_secs(5), "held {took:?}: {answer}");
    // A chunked body that never ends, and a body shorter than its Content-Length: 408.
    for raw in [
        &b"POST /v1/score HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"[..],
        &b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"messages\""[..],
    ] {
        let (answer, took) = raw_exchange(&url, raw, within, false);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("\"status\":408"), "{answer}");
        assert!(took < Duration::from_secs(5), "held {took:?}");
    }
    // Expect: 100-continue with a body over the limit: 413 at once, nothing read.
    let (answer, took) = raw_exchange(&url, b"POST /v1/score HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 99999999\r\n\r\n", within, false);
    assert!(answer.starts_with("HTTP/1.1 413") && took < Duration::from_secs(2), "{took:?}: {answer}");

    // A client stalled mid-headers does not keep the server from stopping.
    let stalled = {
        use std::io::Write;
        let mut s = std::net::TcpStream::connect(url.trim_start_matches("http://")).unwrap();
        s.write_all(b"GET /health HTTP/1.1\r\nHo").unwrap();
        s
    };
    let idle = std::net::TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    let started = Instant::now();
    server.shutdown().unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "shutdown took {:?}", started.elapsed());
    drop((stalled, idle));
}

#[test]
fn a_panicking_loader_stops_the_server_with_its_message() {
    let mut server = TestServer::start(ServeOptions::default(), Box::new(|| panic!("attention heads: 0")));
    let error = server.shutdown_after_failure();
    assert!(format!("{error:#}").contains("attention heads: 0"), "{error:#}");
}

#[test]
fn wrong_methods_and_auth_schemes() {
    let options = ServeOptions { api_key: Some("k3y".into()), ..Default::default() };
    let (server, _release) = unloaded_server(options);
    let url = server.url.clone();
    let get = call(&url, "GET", "/v1/score", None, Some("k3y"));
    assert_eq!(get.status, 405);
    let v = get.json();
    assert_eq!(v["status"], 405);
    assert!(v["error"].as_str().unwrap().contains("use POST"), "{v}");
    assert_eq!(call(&url, "POST", "/health", Some("{}"), None).status, 405);
    // The scheme is case-insensitive: a lower-case `bearer` passes (503: still loading).
    let lower = ureq::get(&format!("{url}/info")).set("Authorization", "bearer k3y").call();
    assert!(matches!(lower, Err(ureq::Error::Status(503, _))), "{lower:?}");
    let wrong = ureq::get(&format!("{url}/info")).set("Authorization", "Basic k3y").call();
    assert!(matches!(wrong, Err(ureq::Error::Status(401, _))), "{wrong:?}");
}

#[test]
fn clients_that_go_away_count_against_the_limit_and_their_work_is_dropped() {
    use std::io::Write;
    let options = ServeOptions { max_concurrent: 3, ..Default::default() };
    let server = TestServer::start(options, loader());
    server.wait_ready();
    let url = server.url.clone();
    // One long request keeps the inference thread busy (distinct texts: nothing is shared).
    let base = test_conversations().remove(0);
    let long = Conversation {
        messages: (0..1200).map(|i| {
            let m = &base.messages[i % base.messages.len()];
            scamstage::chat::Message { text: format!("{} ({i})", m.text), ..m.clone() }
        }).collect(),
        ..base.clone()
    };
    let busy = {
        let (url, body) = (url.clone(), serde_json::to_string(&long).unwrap());
        std::thread::spawn(move || call(&url, "POST", "/v1/score", Some(&body), None))
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.metric("scamstage_batch_requests_count") < 1.0 {
        assert!(Instant::now() < deadline, "the long request was never scored");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Clients that send a whole request, then hang up at once.
    let small = serde_json::to_string(&base).unwrap();
    for _ in 0..8 {
        let mut s = std::net::TcpStream::connect(url.trim_start_matches("http://")).unwrap();
        let head = format!("POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", small.len());
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(small.as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        drop(s);
    }
    assert_eq!(busy.join().unwrap().status, 200);
    let deadline = Instant::now() + Duration::from_secs(60);
    let exposition = loop {
        let m = call(&url, "GET", "/metrics", None, None).body;
        let gone = |status: &str| metric(&m.lines().filter(|l| l.contains(&format!("status=\"{status}\""))).collect::<Vec<_>>().join("\n"), "scamstage_requests_total");
        if metric(&m, "scamstage_queue_depth") == 0.0 && gone("429") + gone("499") >= 8.0 {
            break m;
        }
        assert!(Instant::now() < deadline, "hung-up requests never settled: {m}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let refused = metric(&exposition.lines().filter(|l| l.contains("status=\"429\"")).collect::<Vec<_>>().join("\n"), "scamstage_requests_total");
    assert!(refused >= 6.0, "with 3 admitted at most, most of the 8 were refused: {exposition}");
    let abandoned = metric(&exposition, "scamstage_requests_abandoned_total");
    assert!(abandoned >= 1.0, "{exposition}");
    let scored = metric(&exposition, "scamstage_messages_scored_total");
    assert_eq!(scored, (long.messages.len() + (8 - refused as usize - abandoned as usize) * base.messages.len()) as f64, "{exposition}");
}

/// One server for the HTTP property tests (an API key, a 64 KiB body limit, 2 s read
/// timeout), started on first use and kept for the whole test binary.
fn property_server() -> &'static str {
    static SERVER: std::sync::OnceLock<TestServer> = std::sync::OnceLock::new();
    let server = SERVER.get_or_init(|| {
        let options = ServeOptions {
            max_body_bytes: 64 * 1024,
            read_timeout: Duration::from_secs(2),
            api_key: Some("prop".into()),
            ..Default::default()
        };
        let server = TestServer::start(options, loader());
        server.wait_ready();
        server
    });
    &server.url
}

/// Bodies that look a little like requests: fragments of valid conversations and of every
/// chat format, JSON syntax and noise.
fn request_bodies() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    let fragment = prop_oneof![
        Just(b"{\"messages\":[{\"sender\":\"them\",\"text\":\"hi, wrong number?\"}]}".to_vec()),
        Just(b"{\"conversations\":[".to_vec()),
        Just(b"{\"id\":\"a\",\"messages\":[".to_vec()),
        Just(b"{\"sender\":\"me\",\"text\":\"".to_vec()),
        Just(b"\"threshold\":".to_vec()),
        Just(b"\"me\":[\"them\"]".to_vec()),
        Just(b"[12/03/24, 10:01:22] Anna: hi\n".to_vec()),
        Just(b"Anna: send the fee to release the parcel\n".to_vec()),
        Just("\u{200e}\u{feff}\u{202e}".as_bytes().to_vec()),
        Just(b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[".to_vec()),
        Just(b"1e999".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..40),
        "[\\[\\]{}\":,\\\\ a-z0-9\n\r]{0,40}".prop_map(String::into_bytes),
    ];
    proptest::collection::vec(fragment, 0..10).prop_map(|parts| parts.concat())
}

/// Raw request bytes: fragments of request lines and headers, in any order, with noise.
fn raw_requests() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    let fragment = prop_oneof![
        Just(b"POST /v1/score HTTP/1.1\r\n".to_vec()),
        Just(b"POST /v1/parse?format=auto&me=Anna HTTP/1.1\r\n".to_vec()),
        Just(b"GET /health HTTP/1.1\r\n".to_vec()),
        Just(b"GET /../../etc/passwd HTTP/1.0\r\n".to_vec()),
        Just(b"Host: x\r\n".to_vec()),
        Just(b"Authorization: Bearer prop\r\n".to_vec()),
        Just(b"Content-Length: 12\r\n".to_vec()),
        Just(b"Content-Length: 99999999999999999999\r\n".to_vec()),
        Just(b"Transfer-Encoding: chunked\r\n".to_vec()),
        Just(b"Expect: 100-continue\r\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"5\r\nhello\r\n0\r\n\r\n".to_vec()),
        Just(b"{\"messages\":[]}".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..30),
    ];
    proptest::collection::vec(fragment, 0..12).prop_map(|parts| parts.concat())
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 96, ..Default::default() })]

    /// Any body, to either endpoint, gets a verdict or a one-line JSON refusal with a 4xx:
    /// never a 5xx, never a dropped connection.
    #[test]
    fn any_body_gets_an_answer_or_a_json_refusal(body in request_bodies(), parse in proptest::prelude::any::<bool>()) {
        let url = property_server();
        let path = if parse { "/v1/parse" } else { "/v1/score" };
        let answer = call_bytes(url, "POST", path, Some(&body), Some("prop"));
        proptest::prop_assert!(answer.status == 200 || (400..500).contains(&answer.status), "{path}: {} {}", answer.status, answer.body);
        let v = answer.json();
        if answer.status != 200 {
            proptest::prop_assert!(v["error"].as_str().is_some_and(|e| !e.contains('\n')), "{v}");
        }
    }

    /// Any bytes on a connection get an HTTP answer below 500 or a closed connection, and
    /// the server goes on serving.
    #[test]
    fn any_request_bytes_leave_the_server_serving(bytes in raw_requests()) {
        let url = property_server();
        let (answer, _) = raw_exchange(url, &bytes, Duration::from_secs(30), true);
        for status in answer.match_indices("HTTP/1.1 ").filter_map(|(i, _)| answer.get(i + 9..i + 12)) {
            if let Ok(code) = status.parse::<u16>() {
                proptest::prop_assert!(code < 500, "{code} for {:?}: {answer}", String::from_utf8_lossy(&bytes));
            }
        }
        proptest::prop_assert_eq!(call(url, "GET", "/health", None, None).status, 200);
    }

    /// A valid conversation sent to /v1/parse comes back unchanged.
    #[test]
    fn valid_conversations_round_trip_through_parse(texts in proptest::collection::vec("[a-zA-Z0-9 ,.!?'éü你好😊]{0,30}[a-zA-Z0-9éü你好😊]", 1..12), id in "[a-z][a-z0-9-]{0,12}") {
        let messages: Vec<Value> = texts.iter().enumerate().map(|(i, t)| json!({"sender": if i % 2 == 0 { "them" } else { "me" }, "text": t.trim_start()})).collect();
        let conv = json!({"id": id, "messages": messages});
        let answer = call(property_server(), "POST", "/v1/parse", Some(&conv.to_string()), Some("prop"));
        proptest::prop_assert_eq!(answer.status, 200, "{}", answer.body);
        let back = &answer.json()["conversations"];
        proptest::prop_assert_eq!(back.as_array().map(Vec::len), Some(1));
        proptest::prop_assert_eq!(&back[0]["id"], &conv["id"]);
        proptest::prop_assert_eq!(&back[0]["messages"], &conv["messages"]);
    }
}

//! The review page in a real browser: `scamstage serve` (the binary, with an API key) on an
//! ephemeral loopback port, driven by headless Chromium. Every chat in `examples/` is
//! submitted as a file, an Arabic chat is pasted, and a malformed one; the verdict, timeline,
//! evidence marks, bubbles and the error shown in the DOM are compared with offline scoring.
//! Screenshots (desktop and phone widths) go to `target/<profile>/review-page/`.
//!
//! Needs Chromium (`apt-get install chromium`, or `CHROME=/path/to/chrome`); set
//! `SCAMSTAGE_SKIP_BROWSER=1` to skip it where no browser can be installed.

mod common;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use headless_chrome::protocol::cdp::{Emulation, Input, Page};
use headless_chrome::{Browser, LaunchOptions, Tab};
use scamstage::chat::{self, Conversation, InputFormat};
use scamstage::classifier::{ConversationScore, ScoreOptions};
use serde_json::{json, Value};

/// Longest wait for anything the page does.
const WAIT: Duration = Duration::from_secs(60);
const KEY: &str = "review-page-test-key";

/// `scamstage serve` on 127.0.0.1:0 with an API key; killed on drop.
struct Server {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("key");
        std::fs::write(&key_file, KEY).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_scamstage"))
            .args(["--threads", "2", "serve", "--addr", "127.0.0.1:0", "--api-key-file"])
            .arg(&key_file)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("scamstage serve starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.split("listening on ").nth(1).and_then(|s| s.split_whitespace().next()) {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        let url = rx.recv_timeout(WAIT).expect("the server says where it listens");
        let server = Self { child, url, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(120);
        while ureq::get(&format!("{}/health", server.url)).call().is_err() {
            assert!(Instant::now() < deadline, "the server never became ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromium() -> Option<PathBuf> {
    match headless_chrome::browser::default_executable() {
        Ok(path) => Some(path),
        Err(_) if std::env::var_os("SCAMSTAGE_SKIP_BROWSER").is_some() => None,
        Err(e) => panic!("{e}: install Chromium (apt-get install chromium), set CHROME, or set SCAMSTAGE_SKIP_BROWSER=1"),
    }
}

/// Evaluates `expr` in the page and returns its value as JSON (the expression must
/// produce a JSON string).
fn eval(tab: &Tab, expr: &str) -> Value {
    let result = tab.evaluate(expr, false).unwrap_or_else(|e| panic!("evaluating {expr}: {e}"));
    let text = result.value.and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(|| panic!("{expr} gave no string"));
    serde_json::from_str(&text).unwrap()
}

/// What the page shows: verdict facts, timeline segments, evidence marks, each bubble's
/// stage and side, and the input error.
const FACTS: &str = r#"JSON.stringify((() => {
  const $ = (id) => document.getElementById(id);
  const all = (sel) => [...document.querySelectorAll(sel)];
  const shown = (id) => $(id) && !$(id).hidden && !$(id).closest('[hidden]');
  return {
    heading: shown('verdict-h') ? $('verdict-h').textContent : null,
    risk: shown('risk') ? $('risk').textContent : null,
    scam_type: shown('scam-type') ? $('scam-type').dataset.value : null,
    stage: shown('stage') ? $('stage').dataset.value : null,
    first_flag: shown('first-flag') && $('first-flag').dataset.value !== undefined ? Number($('first-flag').dataset.value) : null,
    segments: all('#timeline a').map((a) => [a.dataset.stage, Number(a.dataset.first)]),
    evidence: all('#chat .msg.evidence').map((li) => Number(li.id.slice(4))),
    stages: all('#chat .msg').map((li) => li.dataset.stage),
    user: all('#chat .msg').map((li) => li.classList.contains('user')),
    error: shown('chat-error') ? $('chat-error').textContent : null,
  };
})())"#;

/// The facts the page should show for a verdict.
fn expected(score: &ConversationScore, threshold: f32, user: &[bool]) -> Value {
    let heading = if score.scam { format!("Scam, flagged at threshold {threshold:.2}") } else { format!("Not flagged at threshold {threshold:.2}") };
    json!({
        "heading": heading,
        "risk": format!("{:.2}", score.risk),
        "scam_type": score.scam_type.as_str(),
        "stage": score.stage.as_str(),
        "first_flag": score.first_flag,
        "segments": scamstage::render::timeline(score).iter().map(|(s, first, _)| json!([s.as_str(), first])).collect::<Vec<_>>(),
        "evidence": score.evidence.iter().map(|e| e.index).collect::<Vec<_>>(),
        "stages": score.messages.iter().map(|m| m.stage.as_str()).collect::<Vec<_>>(),
        "user": user,
        "error": null,
    })
}

/// Waits until the page shows `want` (the facts, or some of them); fails with both when it
/// does not within [`WAIT`].
fn wait_for(tab: &Tab, want: &Value, what: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let facts = eval(tab, FACTS);
        let matches = want.as_object().unwrap().iter().all(|(k, v)| &facts[k] == v);
        if matches {
            return;
        }
        if Instant::now() > deadline {
            panic!("{what}: the page shows\n{facts:#}\ninstead of\n{want:#}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn offline(conv: &Conversation, threshold: Option<f32>, me: Option<&str>) -> ConversationScore {
    let options = ScoreOptions { threshold, me: me.map(str::to_string) };
    common::classifier().score(std::slice::from_ref(conv), &options).unwrap().remove(0)
}

fn default_threshold() -> f32 {
    common::classifier().card().threshold
}

/// Which messages are the user's under `me` (the same rule as scoring).
fn user_side(conv: &Conversation, me: Option<&str>) -> Vec<bool> {
    scamstage::classifier::sender_roles(conv, me).iter().map(|&r| r == 0.0).collect()
}

fn first_conversation(path: &Path) -> Conversation {
    chat::read_path(path.to_str().unwrap(), InputFormat::Auto, &chat::Warnings::default()).unwrap().next().unwrap().unwrap()
}

fn shot_dir() -> PathBuf {
    // target/<profile>/deps/<test binary> → target/<profile>/review-page
    let dir = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("review-page");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Saves a screenshot at `width` CSS pixels (the whole page when `full`; messages far below
/// the viewport may be blank there, as the chat skips rendering them until scrolled to).
fn screenshot(tab: &Tab, name: &str, width: u32, full: bool) -> PathBuf {
    let mobile = width < 600;
    tab.call_method(Emulation::SetDeviceMetricsOverride {
        width,
        height: if mobile { 844 } else { 900 },
        device_scale_factor: 1.0,
        mobile,
        scale: None,
        screen_width: None,
        screen_height: None,
        position_x: None,
        position_y: None,
        dont_set_visible_size: None,
        screen_orientation: None,
        viewport: None,
        display_feature: None,
        device_posture: None,
    })
    .unwrap();
    if !full {
        // From the top on a desktop; on a phone, where the results sit below the input, from
        // the verdict (when there is one) rather than the form.
        let scroll = if mobile { "document.getElementById('results').hidden ? window.scrollTo(0, 0) : document.getElementById('results').scrollIntoView()" } else { "window.scrollTo(0, 0)" };
        tab.evaluate(scroll, false).unwrap();
    }
    let height = if full { eval(tab, "JSON.stringify(document.documentElement.scrollHeight)").as_f64().unwrap() } else { 0.0 };
    let png = tab
        .call_method(Page::CaptureScreenshot {
            format: Some(Page::CaptureScreenshotFormatOption::Png),
            quality: None,
            clip: full.then_some(Page::Viewport { x: 0.0, y: 0.0, width: width as f64, height: height.min(6000.0), scale: 1.0 }),
            from_surface: Some(true),
            capture_beyond_viewport: Some(full),
            optimize_for_speed: None,
        })
        .unwrap()
        .data;
    tab.call_method(Emulation::ClearDeviceMetricsOverride(None)).unwrap();
    use base64::Engine;
    let path = shot_dir().join(format!("{name}.png"));
    std::fs::write(&path, base64::engine::general_purpose::STANDARD.decode(png).unwrap()).unwrap();
    path
}

/// Submits a file through the file input.
fn submit_file(tab: &Tab, path: &Path) {
    tab.find_element("#chat-file").unwrap().set_input_files(&[path.to_str().unwrap()]).unwrap();
    tab.find_element("#review-button").unwrap().click().unwrap();
}

/// Pastes `text` into the emptied text box (as the browser's own text insertion) and submits it.
fn paste_and_submit(tab: &Tab, text: &str) {
    tab.evaluate("document.getElementById('chat-text').value = ''", false).unwrap();
    tab.find_element("#chat-text").unwrap().focus().unwrap();
    tab.call_method(Input::InsertText { text: text.to_string() }).unwrap();
    tab.find_element("#review-button").unwrap().click().unwrap();
}

#[test]
fn reviews_every_example_an_arabic_paste_and_a_malformed_chat_in_chromium() {
    let Some(chrome) = chromium() else {
        eprintln!("SCAMSTAGE_SKIP_BROWSER is set and no Chromium found: the browser test did not run");
        return;
    };
    common::model_files();
    let server = Server::start();
    let browser = Browser::new(LaunchOptions {
        headless: true,
        sandbox: false,
        path: Some(chrome),
        window_size: Some((1280, 900)),
        idle_browser_timeout: Duration::from_secs(180),
        args: vec![OsStr::new("--no-proxy-server"), OsStr::new("--disable-component-update"), OsStr::new("--lang=en-US")],
        ..LaunchOptions::default()
    })
    .expect("Chromium starts");
    let tab = browser.new_tab().unwrap();
    tab.set_default_timeout(WAIT);
    tab.navigate_to(&server.url).unwrap().wait_until_navigated().unwrap();
    let t = default_threshold();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");

    // The page is public; parsing asks for the key once, then keeps it for the tab.
    let whatsapp = examples.join("en-whatsapp-wrong-number.txt");
    submit_file(&tab, &whatsapp);
    tab.wait_for_element("#key-form:not([hidden]) #api-key").unwrap().focus().unwrap();
    tab.type_str(KEY).unwrap().press_key("Enter").unwrap();
    let conv = first_conversation(&whatsapp);
    wait_for(&tab, &expected(&offline(&conv, None, None), t, &user_side(&conv, None)), "WhatsApp example");
    screenshot(&tab, "whatsapp-desktop", 1280, false);
    screenshot(&tab, "whatsapp-desktop-full", 1280, true);
    screenshot(&tab, "whatsapp-phone", 390, false);

    // A timeline segment jumps to (and focuses) its first message.
    let last = eval(&tab, "JSON.stringify(document.querySelector('#timeline a:last-child').dataset.first)");
    tab.find_element("#timeline a:last-child").unwrap().click().unwrap();
    let focused = eval(&tab, "JSON.stringify(document.activeElement.id)");
    assert_eq!(focused, json!(format!("msg-{}", last.as_str().unwrap())));
    // A message's probabilities open on demand, one row per stage.
    tab.find_element("#msg-0 summary").unwrap().click().unwrap();
    let rows = eval(&tab, "JSON.stringify(document.querySelectorAll('#msg-0 .probs .v').length)");
    assert_eq!(rows, json!(scamstage::taxonomy::Stage::ALL.len()));

    // The threshold slider and the `me` choice re-score in place.
    tab.find_element("#threshold").unwrap().focus().unwrap();
    tab.press_key("End").unwrap();
    wait_for(&tab, &expected(&offline(&conv, Some(1.0), None), 1.0, &user_side(&conv, None)), "threshold 1.00");
    tab.find_element("#threshold").unwrap().focus().unwrap();
    tab.press_key("Home").unwrap();
    let other = conv.messages[0].sender.clone();
    tab.evaluate(
        &format!("(() => {{ const s = document.getElementById('me-select'); s.value = {}; s.dispatchEvent(new Event('change')); }})()", json!(other)),
        false,
    )
    .unwrap();
    wait_for(&tab, &expected(&offline(&conv, Some(0.0), Some(&other)), 0.0, &user_side(&conv, Some(&other))), "me = first sender");

    // Every example file.
    let mut files: Vec<PathBuf> = std::fs::read_dir(&examples).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for path in &files {
        let conv = first_conversation(path);
        submit_file(&tab, path);
        wait_for(&tab, &expected(&offline(&conv, None, None), t, &user_side(&conv, None)), &path.display().to_string());
        let name = path.file_stem().unwrap().to_str().unwrap();
        if name.starts_with("th-") || name.starts_with("zh-") {
            screenshot(&tab, &format!("{name}-desktop"), 1280, false);
            screenshot(&tab, &format!("{name}-phone"), 390, false);
        }
    }

    // An Arabic chat pasted as text renders right to left.
    let arabic = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/authored/ar/test.jsonl")).unwrap();
    let arabic = arabic.lines().next().unwrap();
    let conv = chat::parse_str(arabic, "pasted", InputFormat::Auto).remove(0).unwrap();
    paste_and_submit(&tab, arabic);
    wait_for(&tab, &expected(&offline(&conv, None, None), t, &user_side(&conv, None)), "pasted Arabic chat");
    let rtl = eval(&tab, "JSON.stringify([...document.querySelectorAll('#chat .text')].every((p) => p.matches(':dir(rtl)')))");
    assert_eq!(rtl, json!(true), "Arabic messages are laid out right to left");
    screenshot(&tab, "arabic-desktop", 1280, false);
    screenshot(&tab, "arabic-phone", 390, false);

    // A malformed chat: the error names the line and field, next to the input.
    paste_and_submit(&tab, "{\"id\": \"a\", \"messages\": [{\"sender\": \"them\", \"text\": \"hi\"}]}\n{\"id\": \"b\", \"messages\": [{\"sender\": \"them\", \"text\": \" \"}]}\n");
    let deadline = Instant::now() + WAIT;
    let error = loop {
        let facts = eval(&tab, FACTS);
        if let Some(e) = facts["error"].as_str() {
            break e.to_string();
        }
        assert!(Instant::now() < deadline, "no error shown for the malformed chat");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(error.contains("line 2") && error.contains("messages[0].text") && error.contains("empty message text"), "{error}");
    let invalid = eval(&tab, "JSON.stringify(document.getElementById('chat-text').getAttribute('aria-invalid'))");
    assert_eq!(invalid, json!("true"));
    // The Arabic chat's verdict is gone: it would pass for a verdict on the malformed one.
    let facts = eval(&tab, FACTS);
    assert_eq!(facts["heading"], json!(null), "{facts:#}");
    screenshot(&tab, "error-desktop", 1280, false);
    eprintln!("screenshots in {}", shot_dir().display());
}

/// `/` and its assets need no key and name no other origin; `/v1/parse` reads every input
/// format like the CLI and refuses bad input with the line and field.
#[test]
fn page_is_self_contained_and_parse_reads_every_format() {
    common::model_files();
    let server = Server::start();
    for path in ["/", "/review.js", "/scamstage.css"] {
        let response = ureq::get(&format!("{}{path}", server.url)).call().unwrap();
        assert!(response.header("content-security-policy").unwrap().contains("default-src 'none'"));
        let mut body = String::new();
        response.into_reader().read_to_string(&mut body).unwrap();
        for needle in ["http://", "https://", "//cdn", "@import", "url("] {
            assert!(!body.contains(needle), "{path} refers to another origin: {needle}");
        }
    }
    let parse = |query: &str, body: &[u8], key: Option<&str>| {
        let mut request = ureq::post(&format!("{}/v1/parse{query}", server.url));
        if let Some(key) = key {
            request = request.set("Authorization", &format!("Bearer {key}"));
        }
        match request.send_bytes(body) {
            Ok(r) => (r.status(), r.into_json::<Value>().unwrap()),
            Err(ureq::Error::Status(status, r)) => (status, r.into_json::<Value>().unwrap()),
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(parse("", b"Anna: hi", None).0, 401);
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap();
        let (status, body) = parse(&format!("?name={name}"), &std::fs::read(&path).unwrap(), Some(KEY));
        assert_eq!(status, 200, "{name}: {body}");
        let cli: Vec<Conversation> = chat::read_path(path.to_str().unwrap(), InputFormat::Auto, &chat::Warnings::default()).unwrap().map(Result::unwrap).collect();
        assert_eq!(body["conversations"], serde_json::to_value(&cli).unwrap(), "{name}");
        let senders = body["senders"][0].as_array().unwrap();
        let users: Vec<bool> = senders.iter().map(|s| s["user"].as_bool().unwrap()).collect();
        assert_eq!(users.iter().filter(|&&u| u).count(), 1, "{name}: one user sender among {senders:?}");
    }
    let (status, body) = parse("?name=chat.txt", b"[12/03/24, 10:01:22] Anna: hi\n\xff\xfe bad\n", Some(KEY));
    assert_eq!((status, body["line"].as_u64()), (422, Some(2)), "{body}");
    let (status, body) = parse("?format=jsonl", b"{\"messages\": [{\"sender\": \"a\", \"text\": \"x\"}]}\n{\"messages\": []}\n", Some(KEY));
    assert_eq!((status, body["line"].as_u64(), body["field"].as_str()), (422, Some(2), Some("messages")), "{body}");
    let (status, body) = parse("?format=yaml", b"a: b", Some(KEY));
    assert_eq!((status, body["field"].as_str()), (422, Some("format")), "{body}");
    let (status, body) = parse("", b"  \n", Some(KEY));
    // Empty input holds no conversation (as `score` reads it); the page has nothing to score.
    assert_eq!((status, body["field"].as_str(), body["error"].as_str()), (422, Some("conversations"), Some("no conversations to score")), "{body}");
    let (status, body) = parse("?me=Anna", b"Anna: hi\nLeo: add me on telegram\n", Some(KEY));
    assert_eq!(status, 200);
    assert_eq!(body["senders"][0], json!([{"name": "Anna", "user": true, "messages": 1}, {"name": "Leo", "user": false, "messages": 1}]));
}

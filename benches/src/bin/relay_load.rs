//! Relay load bench (issue 3, section 5): many live sessions on loopback, each with one
//! customer streaming one small delta per second and one agent receiving it.
//!
//! ```sh
//! cargo build --release -p cobrowse-relay -p cobrowse-benches
//! target/release/relay_load                          # 5,000 sessions, 5 s warm-up, 30 s measured
//! target/release/relay_load --sessions 10000 --seconds 30
//! target/release/relay_load --in-process             # relay in this process (see below)
//! target/release/relay_load --compare-bare           # then the same load on `bare_relay`
//! ```
//!
//! What it does, in order:
//!
//! 1. Raises the soft open-file limit (2 sockets per session on each side, plus slack) and, as
//!    root, the hard limit too; the relay process inherits it.
//! 2. Prepares the frames once with the engine: a small page (about 20 nodes) captured with
//!    the default rules; its keyframe; and the two mutation lists of a text change that
//!    toggles one text node between two values (A -> B and B -> A), so consecutive deltas
//!    keep the fingerprint chain valid forever. Every delta is encoded at send time with the
//!    session's own `seq` (`encode_delta` + `encode_frame`); the cost of that encode is
//!    measured and printed (it is part of the customer's send, not of the relay latency).
//! 3. Starts the relay: by default the release `cobrowse-relay` binary next to this one, as a
//!    **separate process** on `127.0.0.1:0` (so its memory is read from `/proc/<pid>/status`
//!    alone, and its CPU from `/proc/<pid>/stat`); `--in-process` runs
//!    `cobrowse_relay::serve` on its own 2-worker runtime inside this process instead (then
//!    memory and CPU figures include the clients).
//! 4. Ramps up N sessions, at most `--concurrency` (200) setting up at a time: `POST
//!    /api/sessions` (keep-alive HTTP connections), the customer's WebSocket (`Hello`,
//!    `Joined`, keyframe seq 1), then the agent's (`Hello`, `Join` with a token from
//!    `issue_agent_token`, one distinct agent identity per session, `Joined`, the relay-made
//!    keyframe).
//! 5. Once every session is set up, each customer sends one delta per second; the sessions'
//!    phases are spread evenly over the second, so the relay sees a smooth N frames/s.
//!    After `--warmup` seconds (not counted), frames sent during the next `--seconds` are
//!    measured; agents keep reading 2 s more for frames still in flight.
//! 6. Relay latency = from just before the customer's `send` of a delta to the agent's
//!    receipt of that delta (read from the frame's header `seq`, matched with the customer's
//!    send time kept per session; nothing is embedded in the frame). Both ends are tasks of
//!    this process's client runtime, so the figure includes the clients' own scheduling and
//!    both loopback TCP hops: it is an upper bound of the relay's own share.
//! 7. Prints a Markdown table and exits, with status 1 if a session failed to set up or a
//!    delta was lost, refused or out of order (latency never fails a run); a watchdog ends
//!    the run (and the relay) after `--timeout` seconds whatever happens (status 3).
//!
//! With `--compare-bare`, steps 3 to 6 run a second time, with fresh clients, against
//! `bare_relay` (next to this binary, or `--bare PATH`): a bare WebSocket forwarder on the
//! relay's own stack (see `bare_relay.rs`). `--rounds R` makes that R pairs of runs, in
//! alternating order (ours first, then the forwarder first, ...). The table then has one row
//! per run, followed by the ratios ours / bare of p50, p99, memory per session and relay CPU
//! per delta for each pair and their median: on a small, noisy machine a ratio measured in one
//! invocation says more than either absolute figure. Relay CPU per delta is the relay
//! process's user + system time during the window over the deltas sent in it (everything the
//! relay did meanwhile, its pings included). `--warm-pair` runs one more pair first (ours, then the
//! forwarder), prints its rows, and leaves it out of the table and the ratios. The exit
//! status covers every run.

use std::io::{BufRead, BufReader as StdBufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use cobrowse_engine::protocol::{AuthToken, ClientInfo, Message, MessageKind, MessageView, Role};
use cobrowse_engine::session::SessionId;
use cobrowse_engine::*;
use cobrowse_relay::auth::{AgentClaims, issue_agent_token};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMsg;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

const AGENT_SECRET: &str = "relay-load-agent-secret-0123456789";
const BACKEND_SECRET: &str = "relay-load-backend-secret-0123456789";
/// The bound on each step of a session's set-up.
const STEP: Duration = Duration::from_secs(30);
/// How long agents keep reading after the customers stop.
const DRAIN: Duration = Duration::from_secs(2);

const PAGE: &str = r#"<!DOCTYPE html><html><head><title>Shop</title></head><body>
<h1 id="title">Checkout</h1>
<p id="status">Waiting</p>
<ul id="items"><li>Tea</li><li>Cake</li><li>Jam</li></ul>
<div id="footer"><a id="help" href="https://example.com/help">Help</a></div>
</body></html>"#;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

// ---------------------------------------------------------------------------------------------
// Options.

struct Opts {
    sessions: usize,
    seconds: u64,
    warmup: u64,
    concurrency: usize,
    in_process: bool,
    relay_bin: Option<PathBuf>,
    compare_bare: bool,
    /// With `--compare-bare`: pairs of runs, in alternating order.
    rounds: u64,
    /// With `--compare-bare`: one pair of runs (ours, then the forwarder) before the rounds,
    /// reported but left out of the table's ratios (`--warm-pair`).
    warm_pair: bool,
    bare_bin: Option<PathBuf>,
    client_threads: usize,
    timeout: u64,
}

fn opts() -> Opts {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "usage: relay_load [--sessions N (5000)] [--seconds S (30)] [--warmup S (5)] \
             [--concurrency C (200)] [--client-threads T (nproc)] [--in-process] \
             [--relay PATH (target/release/cobrowse-relay)] [--compare-bare [--rounds R (1)] [--warm-pair]] \
             [--bare PATH (target/release/bare_relay)] [--timeout S]"
        );
        std::process::exit(0);
    }
    let path = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .map(PathBuf::from)
    };
    let num = |flag: &str| -> Option<u64> {
        let i = args.iter().position(|a| a == flag)?;
        Some(
            args.get(i + 1)
                .and_then(|v| v.replace('_', "").parse().ok())
                .unwrap_or_else(|| panic!("{flag} needs a number")),
        )
    };
    let sessions = num("--sessions").unwrap_or(5000) as usize;
    let seconds = num("--seconds").unwrap_or(30).max(1);
    let warmup = num("--warmup").unwrap_or(5);
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let compare_bare = args.iter().any(|a| a == "--compare-bare");
    let rounds = num("--rounds").unwrap_or(1).max(1);
    let warm_pair = compare_bare && args.iter().any(|a| a == "--warm-pair");
    let runs = if compare_bare {
        2 * (rounds + u64::from(warm_pair))
    } else {
        1
    };
    Opts {
        sessions,
        seconds,
        warmup,
        concurrency: num("--concurrency").unwrap_or(200).max(1) as usize,
        in_process: args.iter().any(|a| a == "--in-process"),
        relay_bin: path("--relay"),
        compare_bare,
        rounds,
        warm_pair,
        bare_bin: path("--bare"),
        client_threads: num("--client-threads").unwrap_or(cpus as u64).max(1) as usize,
        // Ramp-up allowance: 60 s plus 20 ms a session, then the run itself; for each run.
        timeout: num("--timeout").unwrap_or(
            runs * (60 + sessions as u64 / 50 + warmup + seconds + DRAIN.as_secs() + 30),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Process figures.

/// `VmRSS` of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    status_field(pid, "VmRSS:")
}

fn status_field(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Microseconds of CPU per delta: `cpu` seconds spent while `deltas` deltas were sent (NaN
/// for none).
fn cpu_us_per_delta(cpu: f64, deltas: u64) -> f64 {
    if deltas == 0 {
        f64::NAN
    } else {
        cpu * 1e6 / deltas as f64
    }
}

/// User + system CPU time of a process, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let ticks = rustix::param::clock_ticks_per_second().max(1) as f64;
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // Fields after the command name (which may hold spaces) start at ") ".
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            // utime and stime are fields 14 and 15 of stat; `rest` starts at field 3.
            let u: f64 = f.get(11)?.parse().ok()?;
            let st: f64 = f.get(12)?.parse().ok()?;
            Some((u + st) / ticks)
        })
        .unwrap_or(0.0)
}

/// `TcpExt: ListenOverflows` of `/proc/net/netstat` (system-wide: connections dropped because
/// a listener's accept queue was full; the client retries the SYN after 1 s).
fn listen_overflows() -> u64 {
    let Ok(s) = std::fs::read_to_string("/proc/net/netstat") else {
        return 0;
    };
    let mut lines = s.lines();
    while let (Some(names), Some(values)) = (lines.next(), lines.next()) {
        if names.starts_with("TcpExt:") {
            let i = names
                .split_whitespace()
                .position(|n| n == "ListenOverflows");
            return i
                .and_then(|i| values.split_whitespace().nth(i)?.parse().ok())
                .unwrap_or(0);
        }
    }
    0
}

/// Raises the open-file limit to at least `want` (soft, and hard when allowed); returns the
/// (soft, hard) limits in force afterwards.
fn raise_nofile(want: u64) -> (u64, u64) {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limits = |r: Rlimit| (r.current.unwrap_or(u64::MAX), r.maximum.unwrap_or(u64::MAX));
    let (soft, hard) = limits(getrlimit(Resource::Nofile));
    if soft < want {
        let raised = Rlimit {
            current: Some(want),
            maximum: Some(hard.max(want)),
        };
        if setrlimit(Resource::Nofile, raised).is_err() {
            // Not allowed to raise the hard limit: go as high as it is.
            let _ = setrlimit(
                Resource::Nofile,
                Rlimit {
                    current: Some(hard),
                    maximum: Some(hard),
                },
            );
        }
    }
    limits(getrlimit(Resource::Nofile))
}

// ---------------------------------------------------------------------------------------------
// Frames.

/// The prepared page states and their changes.
struct Frames {
    rules: Rules,
    /// Records of state A (the page as parsed) and B (one text changed).
    records: [Vec<NodeRecord>; 2],
    /// Fingerprints of A and B.
    fp: [u64; 2],
    /// Mutations A -> B and B -> A.
    muts: [Vec<Mutation>; 2],
}

impl Frames {
    fn new() -> Frames {
        let rules = Rules::default();
        let mut a = parse_document_str(PAGE);
        prepare(&mut a, &rules);
        assign_ids(&mut a, &rules);
        let text = a
            .descendants(a.root())
            .find(|&n| a.data(n).character_data() == Some("Waiting"))
            .expect("the status text");
        let mut b = a.clone();
        b.set_character_data(text, "Paid");
        refresh(&mut b, &rules);
        let mut ab = Vec::new();
        diff(&a, &mut b, &rules, &mut ab);
        let mut a2 = b.clone();
        a2.set_character_data(text, "Waiting");
        refresh(&mut a2, &rules);
        let mut ba = Vec::new();
        diff(&b, &mut a2, &rules, &mut ba);
        assert_eq!(a2.fingerprint(), a.fingerprint(), "B -> A restores A");
        assert_ne!(a.fingerprint(), b.fingerprint());
        let fp = [a.fingerprint(), b.fingerprint()];
        let records = [snapshot(&mut a, &rules), snapshot(&mut b, &rules)];
        Frames {
            rules,
            records,
            fp,
            muts: [ab, ba],
        }
    }

    /// The state after frame `seq`: keyframe 1 is A, delta 2 is B, 3 is A, ...
    fn state(seq: u64) -> usize {
        seq.is_multiple_of(2) as usize
    }

    /// A `Frame` message with the keyframe of the state at `seq`.
    fn keyframe(&self, seq: u64) -> Vec<u8> {
        let s = Self::state(seq);
        let h = FrameHeader::keyframe(seq, self.fp[s], self.rules.sanitizes());
        encode_frame(&encode_keyframe(&h, &self.records[s]))
    }

    /// A `Frame` message with delta `seq` (on top of `seq - 1`).
    fn delta(&self, seq: u64) -> Vec<u8> {
        let s = Self::state(seq);
        let h = FrameHeader::delta(seq, self.fp[s], self.rules.sanitizes());
        // Into state B the change is A -> B (muts[0]); into A it is B -> A (muts[1]).
        encode_frame(&encode_delta(&h, &self.muts[1 - s]))
    }

    /// Checks the chain with a mirror: keyframe 1 then deltas 2..=n all apply.
    fn check(&self, n: u64) {
        let mut m = Mirror::new(MirrorOptions::default());
        let frame_of = |msg: &[u8]| MessageView::access(msg).unwrap().frame().unwrap().to_vec();
        m.apply_frame(&frame_of(&self.keyframe(1)), &mut ())
            .expect("keyframe applies");
        for seq in 2..=n {
            m.apply_frame(&frame_of(&self.delta(seq)), &mut ())
                .unwrap_or_else(|e| panic!("delta {seq}: {e}"));
        }
        assert_eq!(m.fingerprint(), self.fp[Self::state(n)]);
        // A keyframe mid-chain restores too.
        let mut m = Mirror::new(MirrorOptions::default());
        m.apply_frame(&frame_of(&self.keyframe(7)), &mut ())
            .expect("keyframe 7 applies");
        m.apply_frame(&frame_of(&self.delta(8)), &mut ())
            .expect("delta 8 applies on keyframe 7");
    }
}

// ---------------------------------------------------------------------------------------------
// Shared counters.

#[derive(Default)]
struct Counters {
    sessions_ok: AtomicU64,
    setup_failed: AtomicU64,
    /// Deltas sent by customers during the measured window.
    sent: AtomicU64,
    /// Of those, received by the agents (matched by seq).
    received: AtomicU64,
    /// Every delta sent (warm-up and window).
    sent_total: AtomicU64,
    /// Every delta received.
    received_total: AtomicU64,
    /// Deltas that arrived with a seq the agent did not expect (a gap or a repeat).
    out_of_order: AtomicU64,
    /// Deltas whose send time was not found (should stay 0).
    unmatched: AtomicU64,
    /// Keyframes received by agents after set-up (relay-made, after a failure).
    agent_keyframes: AtomicU64,
    /// `KeyframeRequest`s received by customers once the deltas started.
    keyframe_requests: AtomicU64,
    /// `KeyframeRequest`s received by customers during set-up: the agent's `Join` reached the
    /// relay before the customer's keyframe 1 had been applied (two connections race); the
    /// relay asks once, keyframe 1 then applies and reaches the agent. Not an error.
    setup_keyframe_requests: AtomicU64,
    /// `Error` messages received by anyone.
    error_messages: AtomicU64,
    /// Sends that failed.
    send_failures: AtomicU64,
    /// Connections that closed before the end.
    closed_early: AtomicU64,
    /// Customer ticks skipped because the task was more than a period late.
    late_ticks: AtomicU64,
}

/// The timeline, fixed once every session is set up.
#[derive(Clone, Copy)]
struct Timeline {
    /// First tick of session 0.
    start: Instant,
    /// Measured window (by send time).
    from: Instant,
    to: Instant,
}

/// Per-session send times, keyed by seq (a small ring: frames are one second apart and
/// arrive within milliseconds).
struct Probe {
    seq: [AtomicU64; 8],
    nanos: [AtomicU64; 8],
}

impl Probe {
    fn new() -> Probe {
        Probe {
            seq: Default::default(),
            nanos: Default::default(),
        }
    }
    fn record(&self, seq: u64, nanos: u64) {
        let i = (seq % 8) as usize;
        self.nanos[i].store(nanos, Relaxed);
        self.seq[i].store(seq, std::sync::atomic::Ordering::Release);
    }
    fn sent(&self, seq: u64) -> Option<u64> {
        let i = (seq % 8) as usize;
        (self.seq[i].load(std::sync::atomic::Ordering::Acquire) == seq)
            .then(|| self.nanos[i].load(Relaxed))
    }
}

struct Shared {
    frames: Arc<Frames>,
    counters: Counters,
    epoch: Instant,
    timeline: OnceLock<Timeline>,
    go: tokio::sync::Notify,
    stop_customers: AtomicBool,
    stop: tokio::sync::watch::Sender<bool>,
    /// Total encode time of deltas (ns) and their count, to show it is negligible.
    encode_nanos: AtomicU64,
    encodes: AtomicU64,
    /// Set-up times (ms) of the sessions.
    setup_ms: Mutex<Vec<f64>>,
    /// WebSocket pings received by the clients (customers and agents) in each second of the
    /// measured window, by receipt time (report only).
    pings: Vec<AtomicU64>,
}

impl Shared {
    fn nanos(&self, t: Instant) -> u64 {
        t.duration_since(self.epoch).as_nanos() as u64
    }

    /// Counts a ping received now, if inside the measured window.
    fn ping_received(&self) {
        let Some(tl) = self.timeline.get() else {
            return;
        };
        let now = Instant::now();
        if now >= tl.from && now < tl.to {
            let s = now.duration_since(tl.from).as_secs() as usize;
            if let Some(a) = self.pings.get(s) {
                bump(a);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP (keep-alive) for `POST /api/sessions`.

struct HttpPool {
    addr: SocketAddr,
    idle: Mutex<Vec<BufReader<TcpStream>>>,
}

impl HttpPool {
    async fn create_session(&self) -> Result<(String, String), String> {
        for _ in 0..2 {
            let pooled = self.idle.lock().unwrap().pop();
            let fresh = pooled.is_none();
            let mut conn = match pooled {
                Some(c) => c,
                None => BufReader::new(
                    TcpStream::connect(self.addr)
                        .await
                        .map_err(|e| format!("connect: {e}"))?,
                ),
            };
            match self.post(&mut conn).await {
                Ok(r) => {
                    self.idle.lock().unwrap().push(conn);
                    return Ok(r);
                }
                Err(e) if fresh => return Err(e),
                Err(_) => continue, // a stale pooled connection: once more on a fresh one
            }
        }
        Err("POST failed twice".into())
    }

    async fn post(&self, conn: &mut BufReader<TcpStream>) -> Result<(String, String), String> {
        let req = format!(
            "POST /api/sessions HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\n\r\n",
            self.addr
        );
        conn.get_mut()
            .write_all(req.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut line = String::new();
        conn.read_line(&mut line).await.map_err(|e| e.to_string())?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let mut len = None;
        loop {
            line.clear();
            if conn.read_line(&mut line).await.map_err(|e| e.to_string())? == 0 {
                return Err("connection closed".into());
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse::<usize>().ok();
            }
        }
        let len = len.ok_or("no content-length")?;
        let mut body = vec![0; len];
        conn.read_exact(&mut body)
            .await
            .map_err(|e| e.to_string())?;
        if status != 201 {
            return Err(format!(
                "POST /api/sessions: {status} {}",
                String::from_utf8_lossy(&body)
            ));
        }
        let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        Ok((
            v["id"].as_str().ok_or("no id")?.to_owned(),
            v["customer_secret"].as_str().ok_or("no secret")?.to_owned(),
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Clients.

fn client_config() -> WebSocketConfig {
    // Small client buffers: the clients' memory is not what is measured, but 2N of them at the
    // 128 KiB default would crowd the machine.
    WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
}

async fn connect(addr: SocketAddr, query: &str) -> Result<Ws, String> {
    let url = format!("ws://{addr}/ws{query}");
    let (ws, _) = tokio::time::timeout(
        STEP,
        tokio_tungstenite::connect_async_with_config(url, Some(client_config()), true),
    )
    .await
    .map_err(|_| "connect timed out".to_owned())?
    .map_err(|e| format!("connect: {e}"))?;
    Ok(ws)
}

fn hello(role: Role) -> Vec<u8> {
    Message::Hello {
        role,
        client: ClientInfo {
            browser: "Firefox".into(),
            browser_version: "128.0".into(),
            os: "Linux".into(),
            client_version: "relay_load".into(),
        },
        resume: None,
    }
    .encode()
}

async fn send(ws: &mut Ws, bytes: Vec<u8>) -> Result<(), String> {
    tokio::time::timeout(STEP, ws.send(WsMsg::Binary(bytes.into())))
        .await
        .map_err(|_| "send timed out".to_owned())?
        .map_err(|e| format!("send: {e}"))
}

/// Reads until `pred` accepts a message (an `Error` or a close fails).
async fn until(ws: &mut Ws, what: &str, pred: impl Fn(&MessageView) -> bool) -> Result<(), String> {
    let fut = async {
        loop {
            match ws.next().await {
                Some(Ok(WsMsg::Binary(b))) => {
                    let v = MessageView::access(&b).map_err(|e| format!("bad message: {e}"))?;
                    if pred(&v) {
                        return Ok(());
                    }
                    if v.kind() == MessageKind::Error {
                        return Err(format!("{what}: {:?}", v.to_message()));
                    }
                }
                Some(Ok(_)) => {}
                other => return Err(format!("{what}: closed ({other:?})")),
            }
        }
    };
    tokio::time::timeout(STEP, fut)
        .await
        .map_err(|_| format!("{what}: timed out"))?
}

fn agent_token(i: usize) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    issue_agent_token(
        AGENT_SECRET.as_bytes(),
        &AgentClaims {
            sub: format!("load-agent-{i}"),
            name: format!("Load Agent {i}"),
            cobrowse: true,
            exp: now + 3 * 3600,
        },
    )
}

/// Sets up session `i`: returns the customer's and the agent's sockets.
async fn setup(
    i: usize,
    addr: SocketAddr,
    http: &HttpPool,
    shared: &Shared,
) -> Result<(Ws, Ws), String> {
    let (id, secret) = http.create_session().await?;
    let mut customer = connect(addr, &format!("?session={id}&secret={secret}")).await?;
    send(&mut customer, hello(Role::Customer)).await?;
    until(&mut customer, "customer Joined", |v| {
        v.kind() == MessageKind::Joined
    })
    .await?;
    send(&mut customer, shared.frames.keyframe(1)).await?;
    let mut agent = connect(addr, "").await?;
    send(&mut agent, hello(Role::Agent)).await?;
    let join = Message::Join {
        session_id: SessionId::parse(&id).map_err(|e| format!("session id: {e}"))?,
        token: AuthToken::new(agent_token(i)),
    };
    send(&mut agent, join.encode()).await?;
    until(&mut agent, "agent Joined", |v| {
        v.kind() == MessageKind::Joined
    })
    .await?;
    // The relay-made keyframe (from the customer's keyframe 1): the agent is in sync.
    until(&mut agent, "agent keyframe", |v| {
        v.frame()
            .and_then(|f| FrameView::access(f).ok())
            .is_some_and(|f| f.header().seq == 1)
    })
    .await?;
    Ok((customer, agent))
}

async fn customer_task(mut ws: Ws, i: usize, n: usize, probe: Arc<Probe>, shared: Arc<Shared>) {
    let c = &shared.counters;
    // Wait for the start (every session set up).
    let tl = loop {
        let notified = shared.go.notified();
        if let Some(tl) = shared.timeline.get() {
            break *tl;
        }
        tokio::select! {
            _ = notified => {}
            m = ws.next() => match m {
                Some(Ok(WsMsg::Binary(ref b))) if MessageView::access(b)
                    .is_ok_and(|v| v.kind() == MessageKind::KeyframeRequest) =>
                {
                    bump(&c.setup_keyframe_requests);
                }
                other => if !on_customer_message(other, &shared) { return; }
            }
        }
    };
    let phase = Duration::from_nanos(1_000_000_000 * i as u64 / n as u64);
    let mut tick = tokio::time::interval_at((tl.start + phase).into(), Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut seq = 1u64;
    let mut keyframe_due = false;
    loop {
        tokio::select! {
            t = tick.tick() => {
                if shared.stop_customers.load(Relaxed) {
                    break;
                }
                let now = Instant::now();
                if now.duration_since(t.into_std()) > Duration::from_millis(500) {
                    bump(&c.late_ticks);
                }
                seq += 1;
                let e0 = Instant::now();
                let bytes = if keyframe_due {
                    keyframe_due = false;
                    shared.frames.keyframe(seq)
                } else {
                    shared.frames.delta(seq)
                };
                let e1 = Instant::now();
                shared.encode_nanos.fetch_add((e1 - e0).as_nanos() as u64, Relaxed);
                bump(&shared.encodes);
                let sent_at = Instant::now();
                probe.record(seq, shared.nanos(sent_at));
                bump(&c.sent_total);
                if sent_at >= tl.from && sent_at < tl.to {
                    bump(&c.sent);
                }
                if ws.send(WsMsg::Binary(bytes.into())).await.is_err() {
                    bump(&c.send_failures);
                    bump(&c.closed_early);
                    return;
                }
            }
            m = ws.next() => {
                match m {
                    Some(Ok(WsMsg::Binary(ref b))) if MessageView::access(b)
                        .is_ok_and(|v| v.kind() == MessageKind::KeyframeRequest) =>
                    {
                        bump(&c.keyframe_requests);
                        keyframe_due = true;
                    }
                    other => if !on_customer_message(other, &shared) { return; }
                }
            }
        }
    }
    // Keep the socket open until the agents are told to stop.
    let mut stop = shared.stop.subscribe();
    let _ = stop.wait_for(|s| *s).await;
    let _ = ws.close(None).await;
}

/// Counts what a customer receives; `false` when the connection is gone.
fn on_customer_message(
    m: Option<Result<WsMsg, tokio_tungstenite::tungstenite::Error>>,
    shared: &Shared,
) -> bool {
    let c = &shared.counters;
    match m {
        Some(Ok(WsMsg::Binary(b))) => {
            if let Ok(v) = MessageView::access(&b) {
                match v.kind() {
                    MessageKind::Error => bump(&c.error_messages),
                    MessageKind::KeyframeRequest => bump(&c.keyframe_requests),
                    _ => {}
                }
            }
            true
        }
        Some(Ok(WsMsg::Close(_))) | None | Some(Err(_)) => {
            bump(&c.closed_early);
            false
        }
        Some(Ok(WsMsg::Ping(_))) => {
            shared.ping_received();
            true
        }
        Some(Ok(_)) => true,
    }
}

/// Reads frames until told to stop; returns the window's latencies in microseconds, and the
/// slow ones (over [`SLOW_US`]) with the millisecond of the window they were sent in.
async fn agent_task(
    mut ws: Ws,
    probe: Arc<Probe>,
    shared: Arc<Shared>,
) -> (Vec<u32>, Vec<(u32, u32)>) {
    let c = &shared.counters;
    let mut stop = shared.stop.subscribe();
    let mut lat = Vec::new();
    let mut slow = Vec::new();
    let mut expect: u64 = 2;
    loop {
        let m = tokio::select! {
            m = ws.next() => m,
            _ = stop.wait_for(|s| *s) => break,
        };
        let now = Instant::now();
        match m {
            Some(Ok(WsMsg::Binary(b))) => {
                let Ok(v) = MessageView::access(&b) else {
                    bump(&c.error_messages);
                    continue;
                };
                match v.kind() {
                    MessageKind::Frame => {
                        let Some(h) = v.frame().and_then(|f| FrameView::access(f).ok()) else {
                            bump(&c.error_messages);
                            continue;
                        };
                        let h = h.header();
                        if h.kind == FrameKind::Keyframe {
                            bump(&c.agent_keyframes);
                            expect = h.seq + 1;
                            continue;
                        }
                        if h.seq != expect {
                            bump(&c.out_of_order);
                        }
                        expect = h.seq + 1;
                        bump(&c.received_total);
                        match probe.sent(h.seq) {
                            Some(sent) => {
                                let tl = shared.timeline.get().expect("started");
                                let sent_at = shared.epoch + Duration::from_nanos(sent);
                                if sent_at >= tl.from && sent_at < tl.to {
                                    bump(&c.received);
                                    let us = now.saturating_duration_since(sent_at).as_micros();
                                    let us = us.min(u32::MAX as u128) as u32;
                                    lat.push(us);
                                    if us > SLOW_US {
                                        let at = sent_at.duration_since(tl.from).as_millis() as u32;
                                        slow.push((at, us));
                                    }
                                }
                            }
                            None => bump(&c.unmatched),
                        }
                    }
                    MessageKind::Error => bump(&c.error_messages),
                    _ => {}
                }
            }
            Some(Ok(WsMsg::Close(_))) | None | Some(Err(_)) => {
                bump(&c.closed_early);
                break;
            }
            Some(Ok(WsMsg::Ping(_))) => shared.ping_received(),
            Some(Ok(_)) => {}
        }
    }
    let _ = ws.close(None).await;
    (lat, slow)
}

/// Deltas slower than this (µs) are kept with their send time, for the reports of when slow
/// deltas happened (report only: nothing is judged on them).
const SLOW_US: u32 = 2_000;

fn bump(a: &AtomicU64) {
    a.fetch_add(1, Relaxed);
}

// ---------------------------------------------------------------------------------------------
// The relay.

enum Relay {
    Process(Child),
    InProcess(
        std::thread::JoinHandle<()>,
        tokio::sync::oneshot::Sender<()>,
    ),
}

impl Relay {
    fn pid(&self) -> u32 {
        match self {
            Relay::Process(c) => c.id(),
            Relay::InProcess(..) => std::process::id(),
        }
    }
}

/// The relay's configuration under load: every session and connection comes from 127.0.0.1,
/// so the per-address limits (session creations per minute, connections per address) and the
/// global creation rate are lifted; every other limit keeps its default.
const LOAD_CONFIG: &str = "[limits]\nsessions_per_ip_per_minute = 100000000\nsessions_per_second = 100000000\nmax_connections_per_ip = 100000000\n";

/// [`LOAD_CONFIG`] for the in-process relay.
fn lift_per_address_limits(limits: &mut cobrowse_relay::config::Limits) {
    limits.sessions_per_ip_per_minute = 100_000_000;
    limits.sessions_per_second = 100_000_000;
    limits.max_connections_per_ip = 100_000_000;
}

/// Starts the relay, or with `bare` the baseline forwarder `bare_relay` (always a separate
/// process).
fn start_relay(o: &Opts, bare: bool) -> (Relay, SocketAddr, String) {
    if o.in_process && !bare {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let h = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get()))
                .thread_name("relay")
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let mut config = cobrowse_relay::RelayConfig::default();
                lift_per_address_limits(&mut config.limits);
                let state = Arc::new(
                    cobrowse_relay::RelayState::new(
                        config,
                        AGENT_SECRET.as_bytes().to_vec(),
                        BACKEND_SECRET.into(),
                    )
                    .expect("relay state"),
                );
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                cobrowse_relay::serve(listener, state, async {
                    let _ = stop_rx.await;
                })
                .await
                .unwrap();
            });
        });
        let addr = addr_rx.recv().expect("relay address");
        return (
            Relay::InProcess(h, stop_tx),
            addr,
            "in process (`cobrowse_relay::serve`, own runtime, default limits but the per-address ones)".into(),
        );
    }
    let (given, name, flag, build) = if bare {
        (
            &o.bare_bin,
            "bare_relay",
            "--bare",
            "-p cobrowse-benches --bin bare_relay",
        )
    } else {
        (
            &o.relay_bin,
            "cobrowse-relay",
            "--relay",
            "-p cobrowse-relay",
        )
    };
    let bin = given.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .expect("current exe")
            .with_file_name(name)
    });
    assert!(
        bin.exists(),
        "{} not found: run `cargo build --release {build}` (or pass {flag} PATH)",
        bin.display()
    );
    let mut command = Command::new(&bin);
    let mut config = None;
    if !bare {
        // All the load comes from one address: the per-address limits are lifted (see
        // `lift_per_address_limits`), the rest stay at their defaults.
        let path = std::env::temp_dir().join(format!("relay_load-{}.toml", std::process::id()));
        std::fs::write(&path, LOAD_CONFIG).expect("write the relay's config");
        command.arg("--config").arg(&path);
        config = Some(path);
    }
    let mut child = command
        .env("COBROWSE_LISTEN", "127.0.0.1:0")
        .env("COBROWSE_AGENT_SECRET", AGENT_SECRET)
        .env("COBROWSE_BACKEND_SECRET", BACKEND_SECRET)
        // The relay's own lines (listening, warnings); session events (one per join or leave,
        // none per frame) are not echoed.
        .env(
            "COBROWSE_LOG",
            "warn,cobrowse_relay=info,cobrowse_relay::audit=warn,cobrowse_relay::ws=warn",
        )
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let mut lines = StdBufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(20);
    let addr = loop {
        let Some(Ok(line)) = lines.next() else {
            let _ = child.kill();
            panic!("the relay exited before listening");
        };
        let plain = strip_ansi(&line);
        if let Some(rest) = plain.split("listening on http://").nth(1) {
            break rest.trim().parse::<SocketAddr>().expect("listen address");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the relay did not say where it listens");
        }
    };
    // The relay read its config before it listened: the file is not left in the temp dir.
    if let Some(path) = config {
        let _ = std::fs::remove_file(path);
    }
    // Keep draining its log so it never blocks on a full pipe; warnings go to our stderr.
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            eprintln!("relay: {}", strip_ansi(&line));
        }
    });
    let what = format!(
        "separate process `{}` (pid {}, {})",
        bin.file_name().unwrap().to_string_lossy(),
        child.id(),
        if bare {
            "bare forwarder"
        } else {
            "default limits but the per-address ones"
        }
    );
    (Relay::Process(child), addr, what)
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Main.

/// A thread that sleeps 1 ms in a loop from `from` to `to` and returns its oversleeps over
/// 5 ms (milliseconds into the window, oversleep in ms), to tell CPU contention apart.
fn canary(from: Instant, to: Instant) -> std::thread::JoinHandle<Vec<(u32, f64)>> {
    std::thread::spawn(move || {
        let mut stalls = Vec::new();
        while Instant::now() < from {
            std::thread::sleep(Duration::from_millis(1));
        }
        loop {
            let t = Instant::now();
            if t >= to {
                return stalls;
            }
            std::thread::sleep(Duration::from_millis(1));
            let over = t.elapsed().as_secs_f64() * 1000.0 - 1.0;
            if over > 5.0 {
                stalls.push((t.duration_since(from).as_millis() as u32, over));
            }
        }
    })
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn main() {
    let o = opts();
    let n = o.sessions;
    if o.in_process && o.compare_bare {
        // In process, the memory and CPU figures include the clients: no fair ratio.
        eprintln!("relay_load: --compare-bare needs the relay as a separate process");
        std::process::exit(2);
    }
    // Each side holds 2 sockets a session, plus up to `concurrency` HTTP connections during
    // the ramp-up and a few dozen other descriptors.
    // In process, one process holds both sides.
    let sides = if o.in_process { 2 } else { 1 };
    let need = |n: usize| sides * (2 * n as u64 + o.concurrency as u64 + 64);
    let (soft, hard) = raise_nofile(need(n) + 1024);
    if soft < need(n) {
        let fit = ((soft / sides).saturating_sub(o.concurrency as u64 + 64) / 2) as usize;
        eprintln!(
            "relay_load: {n} sessions need {} open files in this process and in the relay, but \
             the limit is {soft} (hard {hard}, and raising the hard limit needs root with \
             CAP_SYS_RESOURCE). Raise it with `ulimit -n {}` first, or run at most \
             --sessions {fit}.",
            need(n),
            need(n) + 1024,
        );
        std::process::exit(2);
    }

    // Watchdog: the run ends whatever happens.
    let relay_pid = Arc::new(AtomicU64::new(0));
    {
        let relay_pid = relay_pid.clone();
        let timeout = o.timeout;
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(timeout));
            eprintln!("relay_load: hard timeout ({timeout} s) reached, stopping");
            let pid = relay_pid.load(Relaxed) as u32;
            if pid != std::process::id()
                && let Some(pid) = rustix::process::Pid::from_raw(pid as i32)
            {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
            std::process::exit(3);
        });
    }

    println!("# relay_load");
    println!();
    println!("- machine: {}", cobrowse_benches::machine());
    println!(
        "- open-file limit: {soft} (hard {hard}); client runtime: {} worker threads",
        o.client_threads
    );

    // Frames.
    let frames = Frames::new();
    frames.check(40);
    let kf = frames.keyframe(1);
    let d = frames.delta(2);
    let enc_n = 100_000u64;
    let t = Instant::now();
    let mut sink = 0usize;
    for s in 2..2 + enc_n {
        sink += std::hint::black_box(frames.delta(s)).len();
    }
    let enc_ns = t.elapsed().as_nanos() as f64 / enc_n as f64;
    std::hint::black_box(sink);
    println!(
        "- page: {} nodes; keyframe message {} bytes; delta message {} bytes ({} mutation); \
         delta encode (`encode_delta` + `encode_frame`) {:.0} ns each (mean of {enc_n})",
        frames.records[0].len(),
        kf.len(),
        d.len(),
        frames.muts[0].len(),
        enc_ns
    );

    let frames = Arc::new(frames);
    // Runs: ours alone, or `rounds` pairs in alternating order (ours first in odd rounds, the
    // bare forwarder first in even ones), so neither always runs in a warmed-up client.
    let rounds = if o.compare_bare { o.rounds } else { 1 };
    let mut runs: Vec<(String, bool, Outcome)> = Vec::new();
    if o.warm_pair {
        // The first process runs of an invocation were the slowest in an A/A control (the same
        // relay as both contenders, BENCHMARKS.md "Relay"): this pair warms the client process
        // and the machine for both, and only its notes are printed.
        for bare in [false, true] {
            let name = if bare { "bare_relay" } else { "cobrowse-relay" };
            let run = measure(&o, bare, frames.clone(), &relay_pid);
            println!(
                "- warm-up pair, {name} (left out of the table and the ratios): {}",
                run.row
            );
            if !run.clean {
                eprintln!("relay_load: the warm-up run of {name} was not clean");
                std::process::exit(1);
            }
        }
    }
    for round in 1..=rounds {
        let order: &[bool] = match (o.compare_bare, round % 2 == 1) {
            (false, _) => &[false],
            (true, true) => &[false, true],
            (true, false) => &[true, false],
        };
        for &bare in order {
            let name = if bare { "bare_relay" } else { "cobrowse-relay" };
            let name = if rounds > 1 {
                format!("{name} (round {round})")
            } else {
                name.to_owned()
            };
            runs.push((name, bare, measure(&o, bare, frames.clone(), &relay_pid)));
        }
    }

    // The table: one row per run, then each run's notes.
    let label = |head: String| if o.compare_bare { head } else { String::new() };
    println!();
    println!(
        "{}| sessions requested | established | WebSockets | offered deltas/s | relayed deltas/s (achieved) | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors | memory per session |",
        label("| relay ".into())
    );
    println!(
        "{}|---|---|---|---|---|---|---|---|---|---|---|---|",
        label("|---".into())
    );
    for (name, _, run) in &runs {
        println!("{}{}", label(format!("| {name} ")), run.row);
    }
    println!();
    for (name, _, run) in &runs {
        if o.compare_bare {
            println!("- {name} run:");
            for line in run.notes.lines() {
                println!("  {line}");
            }
        } else {
            print!("{}", run.notes);
        }
    }
    if o.compare_bare {
        // Per round, ours / bare; then the median over rounds.
        let ratios: Vec<[f64; 4]> = runs
            .chunks(2)
            .map(|pair| {
                let (ours, bare) = if pair[0].1 {
                    (&pair[1].2, &pair[0].2)
                } else {
                    (&pair[0].2, &pair[1].2)
                };
                [
                    ours.p50 / bare.p50,
                    ours.p99 / bare.p99,
                    ours.kib_per_session / bare.kib_per_session,
                    ours.cpu_us_per_delta / bare.cpu_us_per_delta,
                ]
            })
            .collect();
        for (i, r) in ratios.iter().enumerate() {
            println!(
                "- ratio ours / bare, round {}: p50 {:.2}, p99 {:.2}, relay memory per session {:.2}, relay CPU per delta {:.2}",
                i + 1,
                r[0],
                r[1],
                r[2],
                r[3]
            );
        }
        let median = |k: usize| {
            let mut v: Vec<f64> = ratios.iter().map(|r| r[k]).collect();
            v.sort_by(f64::total_cmp);
            let (lo, hi) = (v[0], v[v.len() - 1]);
            let m = if v.len() % 2 == 1 {
                v[v.len() / 2]
            } else {
                (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
            };
            format!("{m:.2} ({lo:.2}-{hi:.2})")
        };
        println!(
            "- ratio ours / bare, median over {} round(s) (min-max): p50 {}, p99 {}, relay memory per session {}, relay CPU per delta {}",
            ratios.len(),
            median(0),
            median(1),
            median(2),
            median(3)
        );
    }
    if runs.iter().any(|(_, _, run)| !run.clean) {
        eprintln!("relay_load: sessions failed to set up, or deltas were lost or refused");
        std::process::exit(1);
    }
}

/// What one run reports.
struct Outcome {
    /// The table row (from "sessions requested" on).
    row: String,
    /// The notes under the table, one Markdown bullet a line.
    notes: String,
    /// Every session set up and every delta arrived in order without an error (what the exit
    /// status says; latency never fails a run).
    clean: bool,
    /// Latency percentiles, ms.
    p50: f64,
    p99: f64,
    /// Relay memory per session mid-window, KiB.
    kib_per_session: f64,
    /// Relay CPU per delta sent in the window, µs ([`cpu_us_per_delta`]).
    cpu_us_per_delta: f64,
}

/// One run: starts the relay (with `bare`, the baseline forwarder), drives the load from a
/// fresh client runtime, stops the relay.
fn measure(o: &Opts, bare: bool, frames: Arc<Frames>, relay_pid: &AtomicU64) -> Outcome {
    let (relay, addr, relay_what) = start_relay(o, bare);
    relay_pid.store(relay.pid() as u64, Relaxed);
    let rpid = relay.pid();
    let role = if bare { "baseline" } else { "relay" };
    println!("- {role}: {relay_what}, listening on {addr}");
    eprintln!("relay_load: {role} run");
    std::thread::sleep(Duration::from_millis(300));
    let rss_idle = rss_kib(rpid);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(o.client_threads)
        .thread_name("client")
        .enable_all()
        .build()
        .unwrap();
    let (stop_tx, _) = tokio::sync::watch::channel(false);
    let shared = Arc::new(Shared {
        frames,
        counters: Counters::default(),
        epoch: Instant::now(),
        timeline: OnceLock::new(),
        go: tokio::sync::Notify::new(),
        stop_customers: AtomicBool::new(false),
        stop: stop_tx,
        encode_nanos: AtomicU64::new(0),
        encodes: AtomicU64::new(0),
        setup_ms: Mutex::new(Vec::with_capacity(o.sessions)),
        pings: (0..o.seconds).map(|_| AtomicU64::new(0)).collect(),
    });

    let outcome = rt.block_on(run(o, bare, addr, rpid, rss_idle, shared));

    // Stop the relay.
    match relay {
        Relay::Process(mut c) => {
            let _ = c.kill();
            let _ = c.wait();
            relay_pid.store(0, Relaxed);
        }
        Relay::InProcess(h, stop) => {
            let _ = stop.send(());
            // Its connections are closed by the clients' shutdown below; do not wait long.
            drop(h);
        }
    }
    rt.shutdown_timeout(Duration::from_secs(2));
    outcome
}

/// Runs the load against the relay at `addr` (process `rpid`) and returns what it measured.
async fn run(
    o: &Opts,
    bare: bool,
    addr: SocketAddr,
    rpid: u32,
    rss_idle: u64,
    shared: Arc<Shared>,
) -> Outcome {
    let n = o.sessions;
    let c = &shared.counters;
    let http = Arc::new(HttpPool {
        addr,
        idle: Mutex::new(Vec::new()),
    });
    let sem = Arc::new(tokio::sync::Semaphore::new(o.concurrency));
    let ramp_t0 = Instant::now();
    let overflows0 = listen_overflows();
    let mut setups = Vec::with_capacity(n);
    let first_error: Arc<Mutex<Option<String>>> = Arc::default();
    for i in 0..n {
        let permit = sem.clone().acquire_owned().await.unwrap();
        let (http, shared, first_error) = (http.clone(), shared.clone(), first_error.clone());
        setups.push(tokio::spawn(async move {
            let t = Instant::now();
            let r = setup(i, addr, &http, &shared).await;
            drop(permit);
            let c = &shared.counters;
            match r {
                Ok((cust, agent)) => {
                    shared
                        .setup_ms
                        .lock()
                        .unwrap()
                        .push(t.elapsed().as_secs_f64() * 1000.0);
                    bump(&c.sessions_ok);
                    let probe = Arc::new(Probe::new());
                    let ct = tokio::spawn(customer_task(cust, i, n, probe.clone(), shared.clone()));
                    let at = tokio::spawn(agent_task(agent, probe, shared.clone()));
                    Some((ct, at))
                }
                Err(e) => {
                    bump(&c.setup_failed);
                    first_error.lock().unwrap().get_or_insert(e);
                    None
                }
            }
        }));
        if (i + 1) % 1000 == 0 {
            eprintln!(
                "relay_load: {} sessions started in {:.1} s ({} failed)",
                i + 1,
                ramp_t0.elapsed().as_secs_f64(),
                c.setup_failed.load(Relaxed)
            );
        }
    }
    let mut tasks = Vec::with_capacity(n);
    for s in setups {
        if let Ok(Some(t)) = s.await {
            tasks.push(t);
        }
    }
    let ramp = ramp_t0.elapsed();
    let overflows = listen_overflows().saturating_sub(overflows0);
    // The HTTP connections are not needed any more: free their descriptors on both sides.
    http.idle.lock().unwrap().clear();
    let established = c.sessions_ok.load(Relaxed);
    eprintln!(
        "relay_load: {established} sessions set up in {:.1} s; {} s warm-up, {} s measured",
        ramp.as_secs_f64(),
        o.warmup,
        o.seconds
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_established = rss_kib(rpid);

    // Go.
    let start = Instant::now() + Duration::from_millis(200);
    let from = start + Duration::from_secs(o.warmup);
    let to = from + Duration::from_secs(o.seconds);
    let _ = shared.timeline.set(Timeline { start, from, to });
    let canary = canary(from, to);
    shared.go.notify_waiters();
    tokio::time::sleep_until(from.into()).await;
    let cpu0 = (
        cpu_seconds(rpid),
        cpu_seconds(std::process::id()),
        Instant::now(),
    );
    tokio::time::sleep_until((from + Duration::from_secs(o.seconds / 2)).into()).await;
    let rss_steady = rss_kib(rpid);
    let client_rss = rss_kib(std::process::id());
    tokio::time::sleep_until(to.into()).await;
    let cpu1 = (
        cpu_seconds(rpid),
        cpu_seconds(std::process::id()),
        Instant::now(),
    );
    shared.stop_customers.store(true, Relaxed);
    let rss_end = rss_kib(rpid);
    let hwm = status_field(rpid, "VmHWM:");
    tokio::time::sleep(DRAIN).await;
    let _ = shared.stop.send(true);
    let mut lat: Vec<u32> = Vec::new();
    let mut slow: Vec<(u32, u32)> = Vec::new();
    for (ct, at) in tasks {
        if let Ok((v, s)) = at.await {
            lat.extend(v);
            slow.extend(s);
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), ct).await;
    }
    lat.sort_unstable();

    // Report.
    let secs = o.seconds as f64;
    let sent = c.sent.load(Relaxed);
    let received = c.received.load(Relaxed);
    let wall = (cpu1.2 - cpu0.2).as_secs_f64();
    let relay_cpu = (cpu1.0 - cpu0.0) / wall * 100.0;
    let relay_us_per_delta = cpu_us_per_delta(cpu1.0 - cpu0.0, sent);
    let client_cpu = (cpu1.1 - cpu0.1) / wall * 100.0;
    let mut setup_ms = std::mem::take(&mut *shared.setup_ms.lock().unwrap());
    setup_ms.sort_by(|a, b| a.total_cmp(b));
    let sp = |p: f64| {
        if setup_ms.is_empty() {
            f64::NAN
        } else {
            setup_ms[((setup_ms.len() - 1) as f64 * p).round() as usize]
        }
    };
    let per_session = |kib: u64| {
        if established == 0 {
            f64::NAN
        } else {
            kib.saturating_sub(rss_idle) as f64 / established as f64
        }
    };
    let errors = c.setup_failed.load(Relaxed)
        + c.error_messages.load(Relaxed)
        + c.keyframe_requests.load(Relaxed)
        + c.send_failures.load(Relaxed)
        + c.closed_early.load(Relaxed)
        + c.out_of_order.load(Relaxed)
        + c.unmatched.load(Relaxed)
        + (sent - received.min(sent));
    let enc = shared.encode_nanos.load(Relaxed) as f64 / shared.encodes.load(Relaxed).max(1) as f64;
    let mem_note = if o.in_process {
        "relay **and clients** (in-process run)"
    } else {
        "relay process only"
    };
    use std::fmt::Write;
    let row = format!(
        "| {n} | {established} | {} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {errors} | {:.1} KiB |",
        2 * established,
        sent as f64 / secs,
        received as f64 / secs,
        percentile(&lat, 0.50),
        percentile(&lat, 0.90),
        percentile(&lat, 0.99),
        percentile(&lat, 0.999),
        percentile(&lat, 1.0),
        per_session(rss_steady),
    );
    let mut out = String::new();
    let _ = writeln!(
        out,
        "- window: {} s after {} s warm-up; {sent} deltas sent, {received} received by agents, {} latency samples",
        o.seconds,
        o.warmup,
        lat.len()
    );
    let _ = writeln!(
        out,
        "- ramp-up: {established} sessions in {:.1} s ({:.0} sessions/s, {} at a time); set-up per session p50 {:.1} ms, p99 {:.1} ms; accept-queue overflows during the ramp-up (system-wide `ListenOverflows`, each a SYN retried after 1 s) {overflows}",
        ramp.as_secs_f64(),
        established as f64 / ramp.as_secs_f64(),
        o.concurrency,
        sp(0.5),
        sp(0.99)
    );
    let _ = writeln!(
        out,
        "- memory ({mem_note}), VmRSS: idle {:.1} MiB; all set up {:.1} MiB ({:.1} KiB/session); mid-window {:.1} MiB ({:.1} KiB/session); end {:.1} MiB; peak (VmHWM) {:.1} MiB",
        rss_idle as f64 / 1024.0,
        rss_established as f64 / 1024.0,
        per_session(rss_established),
        rss_steady as f64 / 1024.0,
        per_session(rss_steady),
        rss_end as f64 / 1024.0,
        hwm as f64 / 1024.0,
    );
    if !o.in_process {
        let _ = writeln!(
            out,
            "- client process VmRSS mid-window: {:.1} MiB",
            client_rss as f64 / 1024.0
        );
    }
    let _ = writeln!(
        out,
        "- CPU during the window (100 % = one core): relay {relay_cpu:.1} % ({relay_us_per_delta:.1} µs per delta sent), clients {client_cpu:.0} %{}; load average at the end {}",
        if o.in_process {
            " (same process: the relay's share is included in both)"
        } else {
            ""
        },
        cobrowse_benches::load_average()
    );
    let _ = writeln!(
        out,
        "- errors: setup failures {}, Error messages {}, KeyframeRequests {} (not counted: {} during set-up, a Join/keyframe race), send failures {}, early closes {}, out-of-order deltas {}, unmatched deltas {}, window deltas not received {}; late customer ticks (> 500 ms) {}; relay keyframes to agents after set-up {}",
        c.setup_failed.load(Relaxed),
        c.error_messages.load(Relaxed),
        c.keyframe_requests.load(Relaxed),
        c.setup_keyframe_requests.load(Relaxed),
        c.send_failures.load(Relaxed),
        c.closed_early.load(Relaxed),
        c.out_of_order.load(Relaxed),
        c.unmatched.load(Relaxed),
        sent - received.min(sent),
        c.late_ticks.load(Relaxed),
        c.agent_keyframes.load(Relaxed),
    );
    {
        // When the slow deltas were sent: spread out (scheduling noise) or in bursts (pauses).
        slow.sort_unstable();
        // Report only: per second of the window (by send time), the deltas over 2 ms and over
        // 5 ms, to tell a periodic burst (e.g. the relay's pings) from a tail spread evenly.
        let seconds = o.seconds as usize;
        let mut per_second = vec![(0usize, 0usize); seconds.max(1)];
        for &(at, us) in &slow {
            let s = &mut per_second[(at as usize / 1000).min(seconds.max(1) - 1)];
            s.0 += 1;
            if us > 5_000 {
                s.1 += 1;
            }
        }
        let cells: Vec<String> = per_second
            .iter()
            .map(|&(over2, over5)| format!("{over2}/{over5}"))
            .collect();
        let _ = writeln!(
            out,
            "- deltas over 2 ms / over 5 ms in each 1 s of the window (send time; report only): {}",
            cells.join(" ")
        );
        let pings: Vec<String> = shared
            .pings
            .iter()
            .map(|a| a.load(Relaxed).to_string())
            .collect();
        let _ = writeln!(
            out,
            "- WebSocket pings received by the clients in each 1 s of the window (report only): {}",
            pings.join(" ")
        );
        let slow: Vec<(u32, u32)> = slow.into_iter().filter(|&(_, us)| us > 10_000).collect();
        let mut by_100ms: Vec<(u32, usize, u32)> = Vec::new();
        for &(at, us) in &slow {
            match by_100ms.last_mut() {
                Some((b, k, m)) if *b == at / 100 => {
                    *k += 1;
                    *m = (*m).max(us);
                }
                _ => by_100ms.push((at / 100, 1, us)),
            }
        }
        by_100ms.sort_by_key(|&(_, k, _)| std::cmp::Reverse(k));
        let top: Vec<String> = by_100ms
            .iter()
            .take(8)
            .map(|&(b, k, m)| {
                format!(
                    "{:.1} s: {k} (max {:.1} ms)",
                    b as f64 / 10.0,
                    m as f64 / 1000.0
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "- deltas over 10 ms: {} ({:.3} %), in {} of the window's {} 100-ms slots; busiest slots (send time into the window): {}",
            slow.len(),
            slow.len() as f64 * 100.0 / lat.len().max(1) as f64,
            by_100ms.len(),
            o.seconds * 10,
            if top.is_empty() {
                "none".to_owned()
            } else {
                top.join(", ")
            }
        );
    }
    {
        let stalls = canary.join().unwrap_or_default();
        let list: Vec<String> = stalls
            .iter()
            .take(12)
            .map(|&(at, ms)| format!("{:.1} s: {ms:.0} ms", at as f64 / 1000.0))
            .collect();
        let _ = writeln!(
            out,
            "- canary (a thread of this process sleeping 1 ms in a loop; an oversleep over 5 ms means the 2 cores were busy elsewhere): {} stalls{}{}",
            stalls.len(),
            if list.is_empty() {
                String::new()
            } else {
                format!(": {}", list.join(", "))
            },
            if stalls.len() > list.len() {
                ", ..."
            } else {
                ""
            }
        );
    }
    if let Some(e) = first_error.lock().unwrap().as_ref() {
        let _ = writeln!(out, "- first set-up error: {e}");
    }
    let _ = writeln!(
        out,
        "- delta encode at send time: {enc:.0} ns mean over {} sends (all deltas, warm-up included: {} sent, {} received)",
        shared.encodes.load(Relaxed),
        c.sent_total.load(Relaxed),
        c.received_total.load(Relaxed),
    );
    let p99 = percentile(&lat, 0.99);
    let met = established as usize >= 5000 && n >= 5000 && p99 <= 10.0 && errors == 0;
    if !bare {
        let _ = writeln!(
            out,
            "- target (>= 5,000 sessions at 1 delta/s each, p99 <= 10 ms): {}",
            if n < 5000 {
                "not tested by this run (fewer than 5,000 sessions)".to_owned()
            } else if met {
                "**met**".to_owned()
            } else {
                format!("**missed** ({established} established, p99 {p99:.2} ms, {errors} errors)")
            }
        );
    }
    Outcome {
        row,
        notes: out,
        clean: established as usize == n && errors == 0,
        p50: percentile(&lat, 0.50),
        p99,
        kib_per_session: per_session(rss_steady),
        cpu_us_per_delta: relay_us_per_delta,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_per_delta_is_microseconds_of_cpu_over_the_deltas_sent() {
        assert_eq!(cpu_us_per_delta(1.5, 50_000), 30.0);
        assert_eq!(cpu_us_per_delta(0.25, 10_000), 25.0);
        assert!(cpu_us_per_delta(1.0, 0).is_nan());
    }
}

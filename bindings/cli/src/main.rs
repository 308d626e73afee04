//! `cobrowse`: diff, snapshot, apply and inspect co-browsing frames from the command line.
//!
//! Exit codes: 0 success, 2 usage error, 3 unreadable or unwritable file, 4 invalid rules,
//! 5 invalid frame (or a frame that does not apply).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use cobrowse_engine::{
    Capture, FrameKind, FrameView, Mirror, MirrorOptions, MutationKind, MutationRef, RecordDataRef,
    Rules, RulesConfig, Sanitize, parse_document_str,
};
use serde_json::{Value, json};

#[derive(Parser)]
#[command(
    name = "cobrowse",
    version,
    about = "Co-browsing engine: DOM diffs, frames and replay"
)]
#[command(
    after_help = "Exit codes: 0 ok, 2 usage, 3 unreadable/unwritable file, 4 invalid rules, 5 invalid frame"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct RuleArgs {
    /// Rules file (JSON or TOML): masking, blocking, disabled elements.
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// Do not sanitize (scripts, handlers, javascript: URLs are kept). Trusted content and
    /// testing only: the relay and the WASM client refuse such frames.
    #[arg(long)]
    no_sanitize: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Diff two pages, encode a delta frame, optionally replay it onto FROM.
    Diff {
        /// The page before.
        from: PathBuf,
        /// The page after.
        to: PathBuf,
        #[command(flatten)]
        rules: RuleArgs,
        /// Write the delta frame here.
        #[arg(long, value_name = "FILE")]
        frame_out: Option<PathBuf>,
        /// Replay the frame onto FROM (as the engine parsed it) and write the resulting page.
        #[arg(long, value_name = "OUT.html")]
        apply_out: Option<PathBuf>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Encode a keyframe (full snapshot) of a page.
    Snapshot {
        /// The page.
        page: PathBuf,
        #[command(flatten)]
        rules: RuleArgs,
        /// Write the keyframe here.
        #[arg(long, value_name = "FILE", required = true)]
        frame_out: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Apply frames, in order, onto a base page and write the result.
    Apply {
        /// The base page the first delta was computed against.
        base: PathBuf,
        /// Frames (keyframes and deltas), applied in order.
        #[arg(required = true)]
        frames: Vec<PathBuf>,
        #[command(flatten)]
        rules: RuleArgs,
        /// Where to write the resulting page.
        #[arg(long, value_name = "OUT.html", required = true)]
        out: PathBuf,
    },
    /// Describe a frame: header, counts, mutations.
    Inspect {
        /// The frame file.
        frame: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
}

enum Failure {
    File(String),
    Rules(String),
    Frame(String),
}

impl Failure {
    fn code(&self) -> u8 {
        match self {
            Failure::File(_) => 3,
            Failure::Rules(_) => 4,
            Failure::Frame(_) => 5,
        }
    }
    fn message(&self) -> &str {
        match self {
            Failure::File(m) | Failure::Rules(m) | Failure::Frame(m) => m,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("cobrowse: {}", f.message());
            ExitCode::from(f.code())
        }
    }
}

fn read_text(path: &Path) -> Result<String, Failure> {
    let bytes = std::fs::read(path)
        .map_err(|e| Failure::File(format!("cannot read {}: {e}", path.display())))?;
    // Pages are decoded as UTF-8 (invalid sequences become U+FFFD), as a browser's capture hands
    // them over already decoded.
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::File(format!("cannot read {}: {e}", path.display())))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    std::fs::write(path, bytes)
        .map_err(|e| Failure::File(format!("cannot write {}: {e}", path.display())))
}

fn load_rules(args: &RuleArgs) -> Result<Rules, Failure> {
    let config = match &args.rules {
        Some(path) => {
            let text = read_text(path)?;
            RulesConfig::from_text(&text)
                .map_err(|e| Failure::Rules(format!("{}: {e}", path.display())))?
        }
        None => RulesConfig::default(),
    };
    let sanitize = if args.no_sanitize {
        Sanitize::OffForTrustedContent
    } else {
        Sanitize::On
    };
    Rules::compile(&config, sanitize).map_err(|e| Failure::Rules(e.to_string()))
}

fn ms(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1e6).round() / 1e3
}

/// A mirror that trusts unsanitized frames (the CLI's `--no-sanitize` makes them).
fn cli_mirror() -> Mirror {
    Mirror::new(MirrorOptions {
        require_sanitized: false,
        ..Default::default()
    })
}

/// A mirror holding `frames` applied in order (a keyframe first).
fn replay(frames: &[&[u8]]) -> Result<Mirror, Failure> {
    let mut mirror = cli_mirror();
    for frame in frames {
        mirror
            .apply_frame(frame, &mut ())
            .map_err(|e| Failure::Frame(e.to_string()))?;
    }
    Ok(mirror)
}

fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Diff {
            from,
            to,
            rules,
            frame_out,
            apply_out,
            json,
        } => {
            let rules = load_rules(&rules)?;
            let (from_html, to_html) = (read_text(&from)?, read_text(&to)?);
            let t = Instant::now();
            let old = parse_document_str(&from_html);
            let new = parse_document_str(&to_html);
            let parse_ms = ms(t);
            // What the agents hold: FROM's keyframe (frame 1).
            let t = Instant::now();
            let mut capture = Capture::new(rules, old);
            let keyframe = capture.keyframe();
            let prepare_ms = ms(t);
            // TO replaces it: one delta (frame 2), encoded and checked against the keyframe.
            let t = Instant::now();
            let frame = match capture.replace_document(new) {
                Some(delta) => delta,
                None => capture.empty_delta(),
            };
            let diff_ms = ms(t);
            let rules = capture.rules();
            let mutations = capture.last_mutations();
            if let Some(path) = &frame_out {
                write(path, &frame)?;
            }
            let mut apply_ms = None;
            if let Some(path) = &apply_out {
                let mut mirror = replay(&[&keyframe])
                    .map_err(|f| Failure::Frame(format!("base page: {}", f.message())))?;
                let t = Instant::now();
                mirror
                    .apply_frame(&frame, &mut ())
                    .map_err(|e| Failure::Frame(e.to_string()))?;
                apply_ms = Some(ms(t));
                write(path, mirror.to_html().as_bytes())?;
            }
            let mut by_kind = BTreeMap::new();
            for m in mutations {
                *by_kind.entry(m.kind().name()).or_insert(0usize) += 1;
            }
            if json {
                let out = json!({
                    "mutations": mutations.len(),
                    "by_kind": by_kind,
                    "frame_bytes": frame.len(),
                    "bytes_per_mutation": if mutations.is_empty() { 0.0 } else { frame.len() as f64 / mutations.len() as f64 },
                    "fingerprint": format!("{:016x}", capture.tree().fingerprint()),
                    "sanitized": rules.sanitizes(),
                    "from_bytes": from_html.len(),
                    "to_bytes": to_html.len(),
                    "timings_ms": {
                        "parse": parse_ms, "prepare": prepare_ms, "diff": diff_ms, "apply": apply_ms,
                    },
                });
                println!("{out}");
            } else {
                println!(
                    "{} mutations, delta frame {} bytes",
                    mutations.len(),
                    frame.len()
                );
                for (k, n) in &by_kind {
                    println!("  {k:<12} {n}");
                }
                println!(
                    "parse {parse_ms} ms, prepare {prepare_ms} ms, diff and encode {diff_ms} ms"
                );
                if let Some(path) = &apply_out {
                    println!("replayed onto {} -> {}", from.display(), path.display());
                }
            }
            Ok(())
        }
        Command::Snapshot {
            page,
            rules,
            frame_out,
            json,
        } => {
            let rules = load_rules(&rules)?;
            let html = read_text(&page)?;
            let t = Instant::now();
            let mut capture = Capture::new(rules, parse_document_str(&html));
            let frame = capture.keyframe();
            let total_ms = ms(t);
            let rules = capture.rules();
            let nodes = FrameView::access(&frame)
                .map_err(|e| Failure::Frame(e.to_string()))?
                .record_count();
            let tree = capture.tree();
            write(&frame_out, &frame)?;
            if json {
                println!(
                    "{}",
                    json!({"nodes": nodes, "frame_bytes": frame.len(), "html_bytes": html.len(),
                           "ratio": frame.len() as f64 / html.len().max(1) as f64, "sanitized": rules.sanitizes(),
                           "fingerprint": format!("{:016x}", tree.fingerprint()), "timings_ms": {"total": total_ms}})
                );
            } else {
                println!(
                    "keyframe: {} nodes, {} bytes ({:.2}x the page's {} bytes), {total_ms} ms",
                    nodes,
                    frame.len(),
                    frame.len() as f64 / html.len().max(1) as f64,
                    html.len()
                );
            }
            Ok(())
        }
        Command::Apply {
            base,
            frames,
            rules,
            out,
        } => {
            let rules = load_rules(&rules)?;
            let html = read_text(&base)?;
            let base_frame = Capture::new(rules, parse_document_str(&html)).keyframe();
            let mut mirror = replay(&[&base_frame])
                .map_err(|f| Failure::Frame(format!("base page: {}", f.message())))?;
            for path in &frames {
                let bytes = read_bytes(path)?;
                mirror
                    .apply_frame(&bytes, &mut ())
                    .map_err(|e| Failure::Frame(format!("{}: {e}", path.display())))?;
            }
            write(&out, mirror.to_html().as_bytes())?;
            Ok(())
        }
        Command::Inspect { frame, json } => {
            let bytes = read_bytes(&frame)?;
            let view = FrameView::access(&bytes)
                .map_err(|e| Failure::Frame(format!("{}: {e}", frame.display())))?;
            let h = view.header();
            let mut by_kind = BTreeMap::new();
            let mut listing = Vec::new();
            for m in view.mutations() {
                *by_kind.entry(kind_of(&m).name()).or_insert(0usize) += 1;
                listing.push(describe(&m));
            }
            let kind = match h.kind {
                FrameKind::Keyframe => "keyframe",
                FrameKind::Delta => "delta",
            };
            if json {
                let out: Value = json!({
                    "kind": kind, "version": view.version(), "seq": h.seq, "base_seq": h.base_seq,
                    "fingerprint": format!("{:016x}", h.fingerprint), "sanitized": h.sanitized,
                    "bytes": bytes.len(), "strings": view.string_count(), "records": view.record_count(),
                    "mutations": view.mutation_count(), "by_kind": by_kind, "operations": listing,
                });
                println!("{out}");
            } else {
                println!(
                    "{kind} v{} seq {} base {} fingerprint {:016x} sanitized {} ({} bytes, {} strings)",
                    view.version(),
                    h.seq,
                    h.base_seq,
                    h.fingerprint,
                    h.sanitized,
                    bytes.len(),
                    view.string_count()
                );
                match h.kind {
                    FrameKind::Keyframe => println!("{} nodes", view.record_count()),
                    FrameKind::Delta => {
                        println!("{} mutations", view.mutation_count());
                        for line in &listing {
                            println!("  {line}");
                        }
                    }
                }
            }
            Ok(())
        }
    }
}

fn kind_of(m: &MutationRef<'_>) -> MutationKind {
    match m {
        MutationRef::Insert { .. } => MutationKind::Insert,
        MutationRef::Remove { .. } => MutationKind::Remove,
        MutationRef::Move { .. } => MutationKind::Move,
        MutationRef::SetAttr { .. } => MutationKind::SetAttr,
        MutationRef::RemoveAttr { .. } => MutationKind::RemoveAttr,
        MutationRef::SetText { .. } => MutationKind::SetText,
        MutationRef::SetProp { .. } => MutationKind::SetProp,
        MutationRef::SetFlags { .. } => MutationKind::SetFlags,
    }
}

fn short(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        format!("{s:?}")
    } else {
        format!("{:?}…", s.chars().take(MAX).collect::<String>())
    }
}

fn describe(m: &MutationRef<'_>) -> String {
    let id = |w: &cobrowse_engine::WireId| w.0;
    let prev = |p: &Option<cobrowse_engine::WireId>| {
        p.map_or("first".to_owned(), |w| format!("after #{}", w.0))
    };
    match m {
        MutationRef::Insert {
            parent,
            prev: p,
            nodes,
        } => {
            let top = nodes.first().map(|r| match &r.data {
                RecordDataRef::Element { name, .. } => format!("<{}>", name.local),
                RecordDataRef::Text(t) => format!("text {}", short(t)),
                RecordDataRef::Comment(_) => "comment".into(),
                RecordDataRef::Doctype { .. } => "doctype".into(),
                RecordDataRef::Fragment => "fragment".into(),
                RecordDataRef::Document { .. } => "document".into(),
            });
            format!(
                "insert {} ({} nodes) into #{} {}",
                top.unwrap_or_default(),
                nodes.len(),
                id(parent),
                prev(p)
            )
        }
        MutationRef::Remove { node } => format!("remove #{}", id(node)),
        MutationRef::Move {
            node,
            parent,
            prev: p,
        } => format!("move #{} into #{} {}", id(node), id(parent), prev(p)),
        MutationRef::SetAttr { node, name, value } => {
            format!("set #{} {}={}", id(node), name.local, short(value))
        }
        MutationRef::RemoveAttr { node, name } => format!("remove #{} {}", id(node), name.local),
        MutationRef::SetText { node, text } => format!("text #{} {}", id(node), short(text)),
        MutationRef::SetProp { node, prop } => format!("prop #{} {prop:?}", id(node)),
        MutationRef::SetFlags { node, flags } => format!("flags #{} {flags:#04x}", id(node)),
    }
}

//! rust_cpu_bench: gildash's native baseline. Runs the CPU workloads on std::thread and speaks the
//! JSONL protocol v2 (docs/protocol.md) on stdout, exactly like workloads/*.py; diagnostics go to stderr.
//! Each worker times itself (timeline.rs) and sends its on-CPU slices in `slices` lines.
//!
//! Life-cycle: SIGTERM/SIGINT stop the workers at their next chunk and still print an aborted summary;
//! a watchdog exits the process when its parent dies; bad arguments print an `error` line and exit 2.

mod args;
mod json;
mod sys;
mod timeline;
mod work;

use std::io::Write;
use std::process;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Barrier, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use args::{Args, Command, Workload};
use json::Json;
use timeline::SliceTimer;
use work::Outcome;

/// Protocol `t` is measured from here (set first thing in main).
static PROCESS_START: OnceLock<Instant> = OnceLock::new();
/// rustc's version, baked in by src/build.rs.
const RUSTC_VERSION: &str = env!("GILDASH_RUSTC_VERSION");
/// Minimum gap between two progress lines of one worker (protocol: at most ~10 per second).
const PROGRESS_EVERY: Duration = Duration::from_millis(100);
/// How often the watchdog looks for a new parent pid (protocol: exit within 1 s of the parent's death).
const WATCHDOG_EVERY: Duration = Duration::from_millis(200);

fn since_start(at: Instant) -> f64 {
    PROCESS_START.get().map_or(0.0, |start| at.saturating_duration_since(*start).as_secs_f64())
}

/// Write one protocol line, whole, under the stdout lock, and flush it.
fn emit(event: &str, fields: Vec<(&'static str, Json)>) {
    let mut all = vec![("event", Json::str(event)), ("t", Json::Float(since_start(Instant::now())))];
    all.extend(fields);
    let mut line = Json::Obj(all).to_line();
    line.push('\n');
    let mut out = std::io::stdout().lock();
    if out.write_all(line.as_bytes()).and_then(|()| out.flush()).is_err() {
        // Nobody reads our stdout any more: there is nothing useful left to do.
        process::exit(1);
    }
}

fn fail(message: &str, code: i32) -> ! {
    emit("error", vec![("message", Json::str(message)), ("traceback", Json::Null)]);
    process::exit(code);
}

fn start_parent_watchdog() {
    let Some(parent) = sys::parent_pid() else { return };
    let spawned = thread::Builder::new().name("parent-watchdog".into()).spawn(move || loop {
        thread::sleep(WATCHDOG_EVERY);
        if sys::parent_pid() != Some(parent) {
            eprintln!("rust_cpu_bench: parent process {parent} is gone; exiting");
            process::exit(1);
        }
    });
    if let Err(err) = spawned {
        eprintln!("rust_cpu_bench: cannot start the parent watchdog: {err}");
    }
}

fn emit_start(args: &Args) {
    let mut params = vec![
        ("threads", Json::UInt(args.threads as u128)),
        ("size", Json::UInt(args.size as u128)),
        ("executor", Json::str("thread")),
        ("seed", Json::Int(args.seed as i128)),
    ];
    if args.workload == Workload::Primes {
        params.push(("chunk", Json::UInt(args.chunk as u128)));
    }
    let executable = std::env::current_exe().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
    let cpu_count = thread::available_parallelism().map_or(Json::Null, |n| Json::UInt(n.get() as u128));
    let (check_every, check_unit) = match args.workload {
        Workload::SumSquares => (work::SUM_CHUNK, "iterations"),
        Workload::Primes => (work::PRIMES_STOP_EVERY, "numbers"),
    };
    let timeline = if timeline::enabled() {
        Json::Obj(vec![
            ("gap_s", Json::Float(timeline::GAP_NS as f64 / 1e9)),
            ("flush_s", Json::Float(timeline::FLUSH_NS as f64 / 1e9)),
            ("check_every", Json::UInt(check_every as u128)),
            ("check_unit", Json::str(check_unit)),
        ])
    } else {
        Json::Null
    };
    emit(
        "start",
        vec![
            ("protocol", Json::Int(2)),
            ("workload", Json::str(args.workload.name())),
            ("params", Json::Obj(params)),
            ("scaling", Json::str(args.workload.scaling())),
            ("pid", Json::UInt(process::id() as u128)),
            (
                "interpreter",
                Json::Obj(vec![
                    ("implementation", Json::str("rust")),
                    ("version", Json::str(RUSTC_VERSION)),
                    ("executable", Json::Str(executable)),
                    ("free_threaded", Json::Bool(true)),
                    ("gil_enabled", Json::Bool(false)),
                ]),
            ),
            ("cpu_count", cpu_count),
            ("affinity", Json::Null),
            ("timeline", timeline),
        ],
    );
}

/// Print one `slices` line (the Rust workers never block on purpose: `blocked` is always empty).
fn emit_slices(worker: usize, slices: Vec<(f64, f64)>) {
    if slices.is_empty() {
        return;
    }
    let spans = slices.into_iter().map(|(a, b)| Json::Arr(vec![Json::Float(a), Json::Float(b)])).collect();
    emit(
        "slices",
        vec![
            ("worker", Json::UInt(worker as u128)),
            ("slices", Json::Arr(spans)),
            ("blocked", Json::Arr(vec![])),
        ],
    );
}

/// Throttles one worker's progress lines and remembers the latest figures for a final line.
struct Progress {
    worker: usize,
    last_emit: Instant,
    latest: Option<(u64, u64)>,
}

impl Progress {
    fn report(&mut self, done: u64, total: u64) {
        self.latest = Some((done, total));
        if self.last_emit.elapsed() >= PROGRESS_EVERY {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if let Some((done, total)) = self.latest.take() {
            self.last_emit = Instant::now();
            emit(
                "progress",
                vec![
                    ("worker", Json::UInt(self.worker as u128)),
                    ("done", Json::UInt(done as u128)),
                    ("total", Json::UInt(total as u128)),
                ],
            );
        }
    }
}

/// What a worker thread hands back to main.
struct WorkerEnd {
    outcome: Outcome,
    end: Instant,
}

fn secs_between(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(b? - a?)
}

/// A worker_done result in the Python workloads' shape: the sum, or {primes, numbers, chunks}.
fn worker_result(workload: Workload, outcome: &Outcome) -> Json {
    match workload {
        Workload::SumSquares => Json::UInt(outcome.result),
        Workload::Primes => Json::Obj(vec![
            ("primes", Json::UInt(outcome.result)),
            ("numbers", Json::UInt(outcome.numbers as u128)),
            ("chunks", Json::UInt(outcome.chunks as u128)),
        ]),
    }
}

/// The summary's (result, expected, ok, metrics) for a finished run, as workloads/*.py compute them.
fn check_results(args: &Args, ends: &[WorkerEnd]) -> (Json, Json, bool, Vec<(&'static str, Json)>) {
    match args.workload {
        Workload::SumSquares => {
            let expected = work::sum_squares_expected(args.size);
            let first = ends.first().map_or(0, |e| e.outcome.result);
            let agree = ends.iter().all(|e| e.outcome.result == first);
            let ok = ends.iter().all(|e| e.outcome.result == expected);
            (Json::UInt(first), Json::UInt(expected), ok, vec![("workers_agree", Json::Bool(agree))])
        }
        Workload::Primes => {
            let count: u128 = ends.iter().map(|e| e.outcome.result).sum();
            let checked: u64 = ends.iter().map(|e| e.outcome.numbers).sum();
            let (expected, source) = match work::primes_known(args.size) {
                Some(known) => (Some(known), "known"),
                None => (work::primes_sieved(args.size), "sieve"),
            };
            // Every number must have been tested exactly once, not just the count come out right.
            let ok = checked == args.size && expected.map_or(true, |e| e == count);
            let chunks = ends.iter().map(|e| Json::UInt(e.outcome.chunks as u128)).collect();
            let metrics = vec![
                ("expected_from", Json::str(if expected.is_some() { source } else { "none" })),
                ("chunks_per_worker", Json::Arr(chunks)),
                ("numbers_checked", Json::UInt(checked as u128)),
            ];
            (Json::UInt(count), expected.map_or(Json::Null, Json::UInt), ok, metrics)
        }
    }
}

/// Spawn the workers, release them together, collect them, print the summary; returns the exit code.
fn run(args: &Args) -> i32 {
    let threads = args.threads;
    // Two barriers: main stamps the start between them, so every worker reads the same instant.
    let ready = Arc::new(Barrier::new(threads + 1));
    let go = Arc::new(Barrier::new(threads + 1));
    let start_at: Arc<OnceLock<Instant>> = Arc::new(OnceLock::new());
    let next_chunk = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::with_capacity(threads);
    for worker in 0..threads {
        let (ready, go, start_at, next_chunk) =
            (Arc::clone(&ready), Arc::clone(&go), Arc::clone(&start_at), Arc::clone(&next_chunk));
        let (workload, size, chunk, timeline) = (args.workload, args.size, args.chunk, timeline::enabled());
        let spawned = thread::Builder::new().name(format!("worker-{worker}")).spawn(move || {
            ready.wait();
            go.wait();
            let start = *start_at.get().expect("main stamps the start before the go barrier");
            let cpu_before = sys::thread_cpu_s();
            let mut progress = Progress { worker, last_emit: Instant::now(), latest: None };
            let origin = *PROCESS_START.get().expect("main stamps the process start first");
            let mut timer = timeline.then(|| SliceTimer::new(origin));
            // The progress callback runs once per chunk of work: that is the timeline's clock read.
            let mut report = |d: u64, t: u64| {
                if let Some(batch) = timer.as_mut().and_then(SliceTimer::check) {
                    emit_slices(worker, batch);
                }
                progress.report(d, t);
            };
            let outcome = match workload {
                Workload::SumSquares => work::sum_squares(size, &mut report),
                Workload::Primes => work::primes(size, chunk, &next_chunk, &mut report),
            };
            let end = Instant::now();
            let cpu_s = secs_between(cpu_before, sys::thread_cpu_s());
            if let Some(timer) = timer.as_mut() {
                emit_slices(worker, timer.close());
            }
            if outcome.completed {
                progress.flush();
                emit(
                    "worker_done",
                    vec![
                        ("worker", Json::UInt(worker as u128)),
                        ("duration_s", Json::Float(end.saturating_duration_since(start).as_secs_f64())),
                        ("cpu_s", Json::opt_float(cpu_s)),
                        ("result", worker_result(workload, &outcome)),
                    ],
                );
            }
            WorkerEnd { outcome, end }
        });
        match spawned {
            Ok(handle) => handles.push(handle),
            // The barriers would wait forever for the missing worker: report and leave.
            Err(err) => fail(&format!("cannot start worker thread {worker}: {err}"), 1),
        }
    }
    ready.wait();
    let cpu_before = sys::process_cpu();
    let start = Instant::now();
    start_at.set(start).expect("the start is stamped once");
    go.wait();

    let mut ends = Vec::with_capacity(threads);
    for handle in handles {
        match handle.join() {
            Ok(end) => ends.push(end),
            Err(_) => fail("a worker thread panicked (see stderr)", 1),
        }
    }
    let last_end = ends.iter().map(|e| e.end).max().unwrap_or(start);
    let wall_s = last_end.saturating_duration_since(start).as_secs_f64();
    let cpu_after = sys::process_cpu();
    let cpu_s = match (cpu_before, cpu_after) {
        (Some(b), Some(a)) => Some((a.user_s + a.sys_s) - (b.user_s + b.sys_s)),
        _ => None,
    };
    let aborted = ends.iter().any(|e| !e.outcome.completed);

    let ready_s = since_start(start);
    // Like the Python workloads: an aborted run checks nothing (and skips the sieve: exit within 1 s).
    let (result, expected, ok, mut metrics) = if aborted {
        (Json::Null, Json::Null, false, Vec::new())
    } else {
        check_results(args, &ends)
    };
    metrics.push(("ready_s", Json::Float(ready_s)));
    emit(
        "summary",
        vec![
            ("wall_s", Json::Float(wall_s)),
            ("wall_total_s", Json::Float(since_start(Instant::now()))),
            ("cpu_user_s", Json::opt_float(cpu_after.map(|c| c.user_s))),
            ("cpu_sys_s", Json::opt_float(cpu_after.map(|c| c.sys_s))),
            ("cpu_s", Json::opt_float(cpu_s)),
            ("ok", Json::Bool(ok)),
            ("result", result),
            ("expected", expected),
            ("gil_enabled", Json::Bool(false)),
            ("aborted", Json::Bool(aborted)),
            ("metrics", Json::Obj(metrics)),
        ],
    );
    if aborted {
        // Like a shell: 128 + the signal that stopped us.
        128 + sys::stop_signal().unwrap_or(15)
    } else if ok {
        0
    } else {
        1
    }
}

fn main() {
    PROCESS_START.get_or_init(Instant::now);
    sys::install_stop_handlers();
    let argv: Vec<String> = std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
    let args = match args::parse(&argv) {
        Ok(Command::Run(args)) => args,
        Ok(Command::Help) => {
            eprintln!("{}", args::USAGE);
            return;
        }
        Ok(Command::Version) => {
            println!("rust_cpu_bench {} (rustc {RUSTC_VERSION})", env!("CARGO_PKG_VERSION"));
            return;
        }
        Err(message) => {
            eprintln!("{}", args::USAGE);
            fail(&format!("rust_cpu_bench: {message}"), 2);
        }
    };
    start_parent_watchdog();
    emit_start(&args);
    let code = run(&args);
    process::exit(code);
}

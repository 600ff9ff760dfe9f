//! Command-line parsing with the same flags as the Python workloads (std only: no clap offline).

use crate::work::MAX_SIZE;

pub const USAGE: &str = "usage: rust_cpu_bench {sum_squares,primes} [--threads N] [--size N] \
[--executor thread] [--seed N] [--chunk N]\n       rust_cpu_bench --version";

/// Which workload to run.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    SumSquares,
    Primes,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::SumSquares => "sum_squares",
            Workload::Primes => "primes",
        }
    }

    /// weak: size is per worker; strong: size is the total.
    pub fn scaling(self) -> &'static str {
        match self {
            Workload::SumSquares => "weak",
            Workload::Primes => "strong",
        }
    }

    fn default_size(self) -> u64 {
        match self {
            Workload::SumSquares => 2_000_000,
            Workload::Primes => 300_000,
        }
    }
}

/// A validated invocation.
pub struct Args {
    pub workload: Workload,
    pub threads: usize,
    pub size: u64,
    /// Accepted for parity with the Python workloads; the Rust workloads are deterministic.
    pub seed: i64,
    /// primes only: numbers per work item taken from the shared counter (Python's --chunk).
    pub chunk: u64,
}

/// What the command line asked for.
pub enum Command {
    Run(Args),
    Help,
    Version,
}

/// Upper bound on --threads, the same as workloads/_protocol.py's MAX_THREADS.
const MAX_THREADS: usize = 1024;
/// Default primes work item, the same as workloads/primes.py's --chunk.
const DEFAULT_CHUNK: u64 = 10_000;

fn parse_int<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value.trim().parse::<T>().map_err(|_| format!("{flag}: invalid integer value: '{value}'"))
}

pub fn parse(argv: &[String]) -> Result<Command, String> {
    let mut workload: Option<Workload> = None;
    let mut threads: usize = 1;
    let mut size: Option<i128> = None;
    let mut seed: i64 = 0;
    let mut chunk: Option<i128> = None;
    let mut i = 0;
    while i < argv.len() {
        let arg = argv[i].as_str();
        i += 1;
        if arg == "-h" || arg == "--help" {
            return Ok(Command::Help);
        }
        if arg == "--version" || arg == "-V" {
            return Ok(Command::Version);
        }
        if !arg.starts_with('-') {
            if workload.is_some() {
                return Err(format!("unexpected argument: '{arg}'"));
            }
            workload = Some(match arg {
                "sum_squares" => Workload::SumSquares,
                "primes" => Workload::Primes,
                other => return Err(format!("unknown workload '{other}' (choose from sum_squares, primes)")),
            });
            continue;
        }
        // Both "--flag value" and "--flag=value", like argparse.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f, Some(v.to_string())),
            None => (arg, None),
        };
        let known = matches!(flag, "--threads" | "--size" | "--executor" | "--seed")
            || (flag == "--chunk" && workload != Some(Workload::SumSquares));
        if !known {
            return Err(format!("unrecognized argument: '{arg}'"));
        }
        let value = match inline {
            Some(v) => v,
            None => {
                let v = argv.get(i).ok_or_else(|| format!("{flag}: expected one argument"))?.clone();
                i += 1;
                v
            }
        };
        match flag {
            "--threads" => {
                let n: i64 = parse_int(flag, &value)?;
                if n < 1 || n as usize > MAX_THREADS {
                    return Err(format!("--threads must be between 1 and {MAX_THREADS}, got {n}"));
                }
                threads = n as usize;
            }
            "--size" => size = Some(parse_int(flag, &value)?),
            "--seed" => seed = parse_int(flag, &value)?,
            "--chunk" => chunk = Some(parse_int(flag, &value)?),
            _ => match value.as_str() {
                "thread" => {}
                "process" => {
                    return Err("--executor process is not supported by the Rust baseline (threads only)".into())
                }
                other => return Err(format!("--executor: invalid choice '{other}' (choose from thread)")),
            },
        }
    }
    let workload = workload.ok_or("missing workload (choose from sum_squares, primes)")?;
    if chunk.is_some() && workload != Workload::Primes {
        return Err("unrecognized arguments: --chunk".into());
    }
    // Python has no upper bound; ours keeps every sum inside u128 (and nobody waits for 10^12 anyway).
    let size = match size {
        None => workload.default_size(),
        Some(n) if n < 1 || n > MAX_SIZE as i128 => {
            return Err(format!("--size must be between 1 and {MAX_SIZE}, got {n}"));
        }
        Some(n) => n as u64,
    };
    let chunk = match chunk {
        None => DEFAULT_CHUNK,
        Some(n) if n < 1 || n > MAX_SIZE as i128 => {
            return Err(format!("--chunk must be between 1 and {MAX_SIZE}, got {n}"));
        }
        Some(n) => n as u64,
    };
    Ok(Command::Run(Args { workload, threads, size, seed, chunk }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Command, String> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn parses_flags_both_ways() {
        let Ok(Command::Run(a)) = run(&["primes", "--threads=3", "--size", "1000", "--seed", "7", "--chunk=9"])
        else {
            panic!("expected a run");
        };
        assert!(a.workload == Workload::Primes && a.threads == 3 && a.size == 1000 && a.seed == 7);
        assert_eq!(a.chunk, 9);
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            &["sum_squares", "--executor", "process"][..],
            &["sum_squares", "--threads", "0"],
            &["sum_squares", "--size", "-1"],
            &["sum_squares", "--size", "0"],
            &["sum_squares", "--threads", "1025"],
            &["sum_squares", "--chunk", "10"],
            &["--chunk", "10", "sum_squares"],
            &["primes", "--chunk", "0"],
            &["sum_squares", "--size", "abc"],
            &["sum_squares", "--bogus", "1"],
            &["nope"],
            &[],
            &["sum_squares", "--size"],
        ] {
            assert!(run(bad).is_err(), "{bad:?}");
        }
    }
}

//! `baton`: runs the Baton workflow engine (`baton serve`) and talks to a running one over the
//! Zeebe gRPC protocol (`deploy`, `create`, `cancel`, `jobs …`, `status`, …).
//!
//! Exit codes are part of the interface for scripts: 0 success, 1 the server rejected or failed
//! the request, 2 bad usage (clap's own code), 3 the server could not be reached.

mod bench;
mod client;
mod config;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "baton", version, about = "Baton: a Zeebe-compatible workflow engine")]
struct Cli {
    #[command(subcommand)]
    command: TopCommand,
}

/// `bench` sits beside the other commands rather than in [`Command`], whose variants the client
/// module matches exhaustively: the benchmark is neither a server nor a client command.
#[derive(Debug, Subcommand)]
enum TopCommand {
    #[command(flatten)]
    Command(Command),
    /// Measure throughput and latency of a model against an engine started in this process.
    Bench(Box<bench::BenchArgs>),
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the engine and serve the Zeebe gRPC gateway.
    Serve(config::ServeArgs),
    /// Deploy BPMN files.
    Deploy {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Create a process instance of the latest version of PROCESS_ID.
    Create {
        process_id: String,
        /// Variables as a JSON object.
        #[arg(long, value_name = "JSON")]
        vars: Option<String>,
        /// A specific version instead of the latest.
        #[arg(long)]
        version: Option<i32>,
        /// Wait until the instance completes and print its variables.
        #[arg(long)]
        with_result: bool,
        /// How long to wait with --with-result, e.g. 30s.
        #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
        result_timeout: std::time::Duration,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Publish a message; it correlates to instances waiting for NAME with correlation key KEY.
    Publish {
        name: String,
        /// The correlation key.
        #[arg(long)]
        key: String,
        /// Variables as a JSON object.
        #[arg(long, value_name = "JSON")]
        vars: Option<String>,
        /// How long the message waits for a subscription, e.g. 1m (0: correlate now or drop).
        #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
        ttl: std::time::Duration,
        /// A message id: a second message with the same id is refused while the first waits.
        #[arg(long)]
        id: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Broadcast a signal to every instance waiting for NAME.
    Signal {
        name: String,
        /// Variables as a JSON object.
        #[arg(long, value_name = "JSON")]
        vars: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Cancel a process instance.
    Cancel {
        key: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Resolve an incident (after fixing its cause, e.g. `jobs retries`).
    Resolve {
        key: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List open incidents.
    Incidents {
        /// Only the incidents of this process instance.
        #[arg(long, value_name = "KEY")]
        process_instance: Option<i64>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Work with jobs.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Show the cluster topology.
    Status {
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Debug, Subcommand)]
enum JobsCommand {
    /// Activate jobs of TYPE and print them.
    Activate {
        job_type: String,
        /// Most jobs to activate.
        #[arg(long, default_value_t = 10)]
        max: i32,
        /// How long the jobs stay locked to this worker, e.g. 5m.
        #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
        timeout: std::time::Duration,
        /// Wait up to this long for a job to appear (default: answer at once).
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        wait: Option<std::time::Duration>,
        #[arg(long, default_value = "baton-cli")]
        worker: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Complete a job.
    Complete {
        key: i64,
        #[arg(long, value_name = "JSON")]
        vars: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Fail a job; with --retries 0 it raises an incident.
    Fail {
        key: i64,
        #[arg(long)]
        retries: i32,
        #[arg(long, value_name = "TEXT")]
        message: Option<String>,
        /// Delay before the job can be activated again, e.g. 10s.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        backoff: Option<std::time::Duration>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Set a job's retries (e.g. before resolving its incident).
    Retries {
        key: i64,
        retries: i32,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// How to reach the server and how to print; shared by every client command.
#[derive(Debug, Clone, Args)]
struct ClientArgs {
    /// gRPC address of a running `baton serve` (or any Zeebe gateway).
    #[arg(long, env = "BATON_ADDRESS", default_value = "http://127.0.0.1:26500")]
    address: String,
    /// Print JSON instead of text, for scripts.
    #[arg(long)]
    json: bool,
}

/// Parses `500ms`, `30s`, `5m`, `1h`; a bare number is milliseconds, as on the wire.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let amount: u64 =
        digits.parse().map_err(|_| format!("expected a duration like 500ms, 30s, 5m or 1h, but got '{text}'"))?;
    let millis = match unit {
        "" | "ms" => Some(amount),
        "s" => amount.checked_mul(1_000),
        "m" => amount.checked_mul(60_000),
        "h" => amount.checked_mul(3_600_000),
        _ => return Err(format!("unknown duration unit '{unit}' in '{text}' (use ms, s, m or h)")),
    };
    millis.map(std::time::Duration::from_millis).ok_or_else(|| format!("duration '{text}' is too long"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    // A task woken by another normally runs next on the same worker. The gateway's HTTP/2
    // connection task is woken by every answer a call task finishes, so it would write each
    // answer in its own syscall (and wake the peer for each); queued behind the other woken
    // calls instead, it writes their answers together (README, "Performance").
    #[cfg(tokio_unstable)]
    builder.disable_lifo_slot();
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("baton: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            TopCommand::Bench(args) => bench::run(*args).await,
            TopCommand::Command(Command::Serve(args)) => serve::run(args).await,
            TopCommand::Command(command) => client::run(command).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("baton: {}", error.message);
            ExitCode::from(error.exit_code)
        }
    }
}

/// A failed command: what to tell the user and which exit code tells a script.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub exit_code: u8,
}

impl Failure {
    /// The request was rejected or failed on the server, or the server could not be started.
    pub fn failed(message: impl Into<String>) -> Failure {
        Failure { message: message.into(), exit_code: 1 }
    }

    /// The arguments were wrong in a way clap could not check (e.g. a config file).
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure { message: message.into(), exit_code: 2 }
    }

    pub fn unreachable(message: impl Into<String>) -> Failure {
        Failure { message: message.into(), exit_code: 3 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap().as_millis(), 500);
        assert_eq!(parse_duration("250").unwrap().as_millis(), 250);
        assert_eq!(parse_duration("30s").unwrap().as_secs(), 30);
        assert_eq!(parse_duration("5m").unwrap().as_secs(), 300);
        assert_eq!(parse_duration("1h").unwrap().as_secs(), 3600);
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

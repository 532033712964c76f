//! Runs the real `baton serve` binary for integration tests.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a server may take to print its ready line (it replays its log first).
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `baton serve`. Dropping it kills the process, so no test leaves one behind, even
/// when it panics.
pub struct Server {
    child: Child,
    pub grpc_addr: SocketAddr,
    pub log: PathBuf,
}

impl Server {
    /// Starts `baton serve` on free loopback ports over `data_dir` and waits for its ready line.
    /// The server's own log (stderr) is appended to `log`, so restarts of one test share a file.
    pub fn start(data_dir: &Path, partitions: u32, log: &Path) -> Server {
        let stderr = OpenOptions::new().create(true).append(true).open(log).expect("open the server log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
            .arg("serve")
            .args(["--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--partitions"])
            .arg(partitions.to_string())
            .arg("--data-dir")
            .arg(data_dir)
            // Settings from the environment would override the file but not the flags; these
            // are cleared so that none can sneak in.
            .env_remove("BATON_CONFIG")
            .env_remove("BATON_DATA_DIR")
            .env_remove("BATON_GRPC_ADDR")
            .env_remove("BATON_HTTP_ADDR")
            .env_remove("BATON_PARTITIONS")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start baton serve");
        let stdout = child.stdout.take().expect("stdout is piped");
        // Guard the child before waiting, so a server that never gets ready is still killed.
        let mut server = Server { child, grpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)), log: log.to_path_buf() };

        // The reader thread keeps draining stdout after the ready line until the process ends,
        // so the server can never block on (or be killed by) a full or closed pipe.
        let (ready, ready_line) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = ready_address(&line) {
                    let _ = ready.send(addr);
                }
            }
        });
        match ready_line.recv_timeout(READY_TIMEOUT) {
            Ok(addr) => server.grpc_addr = addr,
            Err(_) => panic!(
                "baton serve printed no ready line within {READY_TIMEOUT:?}; its log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            ),
        }
        server
    }

    pub fn uri(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }

    /// Kills the server with SIGKILL, like a crash or the OOM killer: no shutdown code runs.
    pub fn kill(mut self) {
        self.child.kill().expect("send SIGKILL");
        self.child.wait().expect("reap the killed server");
    }

    /// Asks the server to stop with SIGTERM and waits for it to exit.
    pub fn terminate(mut self, timeout: Duration) -> ExitStatus {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t");
        // SAFETY: kill(2) only sends a signal; `pid` is our own child, which has not been
        // reaped yet (we hold its `Child`), so the id cannot have been reused.
        let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(sent, 0, "cannot send SIGTERM: {}", std::io::Error::last_os_error());
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the server") {
                return status;
            }
            assert!(
                started.elapsed() < timeout,
                "baton serve did not stop within {timeout:?} of SIGTERM; its log:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The end of the server log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Already gone after kill() or terminate(): then both calls fail harmlessly.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The gRPC address in `baton listening: grpc=HOST:PORT http=... data=...`.
fn ready_address(line: &str) -> Option<SocketAddr> {
    let rest = line.strip_prefix("baton listening: grpc=")?;
    rest.split_whitespace().next()?.parse().ok()
}

//! The service's processes as a test or a bench sees them. A service's supervisors outlive
//! it (that is their job), so whoever starts services becomes the reaper of what they leave
//! ([`become_subreaper`]: this machine's init reaps nothing) and ends the supervisors when it
//! is done ([`end_supervisors`]).

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// A service that has started serving.
pub struct Launched {
    /// The `cimjob serve` process.
    pub child: Child,
    /// Its HTTP address, `http://127.0.0.1:PORT`.
    pub url: String,
    /// From spawn to serving (its address file written): what a start costs.
    pub started_in: Duration,
}

/// Spawns `serve` (a `cimjob serve --data-dir DATA_DIR …` command, with the stdio and
/// environment its caller wants) and waits until it serves: it writes its address to
/// `DATA_DIR/cimjob.addr` once listening. An early exit or no address `within` is an error
/// (the process is killed and reaped).
pub fn launch(mut serve: Command, data_dir: &Path, within: Duration) -> anyhow::Result<Launched> {
    let addr_file = data_dir.join("cimjob.addr");
    let _ = std::fs::remove_file(&addr_file);
    let spawned = Instant::now();
    let mut child = serve
        .spawn()
        .with_context(|| format!("cannot start {:?}", serve.get_program()))?;
    loop {
        if let Ok(addr) = std::fs::read_to_string(&addr_file) {
            if !addr.trim().is_empty() {
                return Ok(Launched {
                    child,
                    url: format!("http://{}", addr.trim()),
                    started_in: spawned.elapsed(),
                });
            }
        }
        if let Some(status) = child.try_wait()? {
            bail!("cimjob serve exited before serving: {status}");
        }
        if spawned.elapsed() > within {
            let _ = child.kill();
            let _ = child.wait();
            bail!("cimjob serve did not serve within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Makes this process the reaper of the processes its services leave (their supervisors
/// outlive them; a job whose supervisor was killed), so nothing is left a zombie.
pub fn become_subreaper() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        nix::sys::prctl::set_child_subreaper(true).expect("PR_SET_CHILD_SUBREAPER");
    });
}

/// The pids of the supervisors holding `data_dir`'s runs (named by their sockets).
pub fn supervisors(data_dir: &Path) -> Vec<u32> {
    std::fs::read_dir(data_dir.join("supervisors"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".sock")?.parse().ok())
        .collect()
}

/// Ends every supervisor of `data_dir` with `signal` — SIGTERM ends it with the runs it holds;
/// SIGKILL is what a machine restart does, leaving its runs to the next service — and reaps
/// it: once its service has gone it is this process's child (see [`become_subreaper`]).
pub fn end_supervisors(data_dir: &Path, signal: Signal) -> anyhow::Result<()> {
    for pid in supervisors(data_dir) {
        let pid = Pid::from_raw(pid as i32);
        let _ = kill(pid, signal);
        reap(pid, Duration::from_secs(30))?;
    }
    Ok(())
}

/// Waits (bounded) for `pid` to end and reaps it if it is this process's child; one that is
/// not is waited for until it is gone.
pub fn reap(pid: Pid, within: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => {}
            Ok(_) => return Ok(()),
            Err(_) if !alive(pid.as_raw() as u32) => return Ok(()),
            Err(_) => {}
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    bail!("process {pid} did not end within {within:?}")
}

/// Reaps this process's children that have ended (zombies): processes that became its
/// children when their parents died. Only where nothing else of this process waits for a
/// child of its own that could be taken from it (a nextest test, a bench between figures).
pub fn reap_ended_children() {
    let me = std::process::id();
    for pid in processes() {
        if parent(pid) == Some(me) && state(pid) == Some('Z') {
            let _ = waitpid(Pid::from_raw(pid as i32), None);
        }
    }
}

/// The pids of every process of this machine's /proc.
pub fn processes() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// Whether a process exists and has not ended (a zombie has).
pub fn alive(pid: u32) -> bool {
    state(pid).is_some_and(|s| s != 'Z')
}

/// A process's state letter (`R`, `S`, `T`, `Z`…); `None` once it is gone.
pub fn state(pid: u32) -> Option<char> {
    status_field(pid, "State:")?.chars().next()
}

/// A process's parent.
pub fn parent(pid: u32) -> Option<u32> {
    status_field(pid, "PPid:")?.parse().ok()
}

/// A process's command line, its arguments joined by spaces.
pub fn command_line(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(String::from_utf8_lossy(&raw).replace('\0', " "))
}

fn status_field(pid: u32, name: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .map(|v| v.trim().to_string())
}

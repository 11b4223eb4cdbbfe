//! Where the service keeps its data, and how the CLI finds the service.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

/// The default listen address: the WBEM HTTP port on loopback.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:5988";

/// The file in the data dir holding the address the service actually listens on, so a CLI
/// on the same machine (and tests using port 0) can find it.
pub const ADDRESS_FILE: &str = "cimjob.addr";

/// The file in the data dir that a serving service holds an exclusive `flock` on (and
/// writes its pid to), so a second service cannot run the same jobs from the same store.
pub const LOCK_FILE: &str = "cimjob.lock";

/// Claims `data_dir` for this process until the returned lock is dropped (or the process
/// ends, however it ends: the kernel releases the lock, so a crash leaves nothing to clean).
/// Refuses, naming the holder's pid, while another service holds it. The descriptor is
/// close-on-exec, so jobs never inherit the claim.
pub fn lock_data_dir(data_dir: &Path) -> anyhow::Result<Flock<File>> {
    let path = data_dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => lock,
        Err((_, Errno::EWOULDBLOCK)) => {
            // the holder writes its pid just after locking: it may not be there yet
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            let pid = match holder.trim() {
                "" => String::new(),
                pid => format!(" (pid {pid})"),
            };
            anyhow::bail!(
                "another cimjob service{pid} is already serving the data dir {}; stop it, or give this one its own --data-dir",
                data_dir.display()
            );
        }
        Err((_, e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", path.display()));
        }
    };
    lock.set_len(0)?;
    write!(lock, "{}", std::process::id())?;
    Ok(lock)
}

/// The data dir: `$CIMJOB_DATA_DIR`, else `$XDG_DATA_HOME/cimjob` (usually
/// `~/.local/share/cimjob`), else `./cimjob-data`.
pub fn default_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CIMJOB_DATA_DIR") {
        return PathBuf::from(dir);
    }
    dirs::data_dir().map_or_else(|| PathBuf::from("cimjob-data"), |d| d.join("cimjob"))
}

/// The service's base URL for the CLI: `--url`/`$CIMJOB_URL` if given, else the address the
/// local service wrote in its data dir, else the default port.
pub fn service_url(explicit: Option<&str>, data_dir: &Path) -> String {
    if let Some(url) = explicit {
        return url.trim_end_matches('/').to_string();
    }
    match std::fs::read_to_string(data_dir.join(ADDRESS_FILE)) {
        Ok(addr) if !addr.trim().is_empty() => format!("http://{}", addr.trim()),
        _ => format!("http://{DEFAULT_LISTEN}"),
    }
}

/// The credentials the CLI sends: `--user`/`--password` (or `$CIMJOB_USER`/`$CIMJOB_PASSWORD`);
/// else the `USER:PASSWORD` line of `~/.config/cimjob/credentials`; else, on the service's
/// machine, `admin` with the password the service wrote to its data dir on first start.
pub fn credentials(
    user: Option<&str>,
    password: Option<&str>,
    data_dir: &Path,
) -> Option<(String, String)> {
    if let (Some(u), Some(p)) = (user, password) {
        return Some((u.to_string(), p.to_string()));
    }
    let from_config = dirs::config_dir()
        .and_then(|d| std::fs::read_to_string(d.join("cimjob").join("credentials")).ok())
        .and_then(|text| {
            text.lines()
                .next()
                .and_then(|l| l.split_once(':'))
                .map(|(u, p)| (u.trim().to_string(), p.trim().to_string()))
        });
    if let Some((u, p)) = from_config {
        if user.is_none_or(|wanted| wanted == u) {
            return Some((u, p));
        }
    }
    if user.is_some_and(|u| u != "admin") {
        return None;
    }
    let admin =
        std::fs::read_to_string(data_dir.join(crate::auth::users::ADMIN_PASSWORD_FILE)).ok()?;
    Some(("admin".to_string(), admin.trim().to_string()))
}

/// The OS account the service runs as: the account jobs run as unless the service is root,
/// and the account the first `admin` maps to.
pub fn service_user() -> String {
    let uid = nix::unistd::geteuid();
    nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map_or_else(|| uid.to_string(), |u| u.name)
}

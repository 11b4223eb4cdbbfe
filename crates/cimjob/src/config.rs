//! Where the service keeps its data, and how the CLI finds the service.

use std::path::{Path, PathBuf};

/// The default listen address: the WBEM HTTP port on loopback.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:5988";

/// The file in the data dir holding the address the service actually listens on, so a CLI
/// on the same machine (and tests using port 0) can find it.
pub const ADDRESS_FILE: &str = "cimjob.addr";

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

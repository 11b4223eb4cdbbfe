//! The rules stay pure: nothing in this crate's dependency tree can reach a process, a
//! database, the network or an async runtime. A change that pulls one in fails here, not in
//! review.

use std::process::Command;

/// Crates that do I/O or run tasks; none may appear in `cimjob-rules`' tree.
const FORBIDDEN: &[&str] = &[
    "tokio",
    "rusqlite",
    "tokio-postgres",
    "postgres",
    "nix",
    "libc",
    "rustix",
    "hyper",
    "axum",
    "reqwest",
    "mio",
    "tracing",
];

#[test]
fn the_rules_depend_on_no_io_runtime_database_or_os_crate() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "tree",
            "--package",
            "cimjob-rules",
            "--edges",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8(output.stdout).expect("UTF-8");
    let names: Vec<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert!(
        names.contains(&"cimjob-rules") && names.contains(&"jiff"),
        "the tree should list the crate and its dependencies:\n{tree}"
    );
    let found: Vec<&&str> = FORBIDDEN.iter().filter(|f| names.contains(f)).collect();
    assert!(
        found.is_empty(),
        "cimjob-rules must stay pure, but its dependency tree holds {found:?}:\n{tree}"
    );
}

//! `cimjob serve`'s TOML config file: every serve option may be set there under its long name
//! (`max-running = 8`, `database-url = "postgres://…"`, `drain = true`), and a flag beats the
//! environment, which beats the file, which beats the built-in default.
//!
//! The file is `--config FILE` (or `$CIMJOB_CONFIG`), else [`DEFAULT_CONFIG`] when it exists.
//! Its values become the defaults of the options clap parses the command line with, so clap
//! keeps the precedence, checks every value the same way and says the same things about a bad
//! one. A key that names no serve option is an error naming it and the file.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{ArgAction, Command};

/// The config file a service reads when none is named and it exists.
pub const DEFAULT_CONFIG: &str = "/etc/cimjob/cimjob.toml";

/// Gives the `serve` subcommand of `command` the defaults the config file of this command line
/// (`args`, the program's name first) sets; `command` unchanged when it is not `serve` or no
/// file applies.
pub fn apply(command: Command, args: &[OsString]) -> anyhow::Result<Command> {
    if args.get(1).and_then(|a| a.to_str()) != Some("serve") {
        return Ok(command);
    }
    let Some(path) = config_path(&args[2..]) else {
        return Ok(command);
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("the config file {} is not TOML", path.display()))?;
    let mut serve = command
        .find_subcommand("serve")
        .cloned()
        .context("no serve command")?;
    for (key, value) in &table {
        serve = with_default(serve, key, value, &path)?;
    }
    // the service says which file it read
    let serve = serve.mut_arg("config", |arg| {
        arg.default_value(path.to_string_lossy().into_owned())
    });
    Ok(command.mut_subcommand("serve", |_| serve))
}

/// The config file of serve's arguments `args`: `--config FILE`, else `$CIMJOB_CONFIG`, else
/// [`DEFAULT_CONFIG`] if it exists.
fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let Some(text) = arg.to_str() else { continue };
        if text == "--" {
            break;
        }
        if text == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = text.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    if let Some(path) = std::env::var_os("CIMJOB_CONFIG") {
        return Some(PathBuf::from(path));
    }
    Path::new(DEFAULT_CONFIG)
        .exists()
        .then(|| PathBuf::from(DEFAULT_CONFIG))
}

/// `serve` with the option `key` defaulting to `value`.
fn with_default(
    serve: Command,
    key: &str,
    value: &toml::Value,
    path: &Path,
) -> anyhow::Result<Command> {
    let arg = serve
        .get_arguments()
        .find(|a| a.get_long() == Some(key) && key != "config" && key != "help")
        .with_context(|| {
            format!(
                "the config file {} sets {key:?}, which is not an option of cimjob serve (see cimjob serve --help)",
                path.display()
            )
        })?;
    let id = arg.get_id().clone();
    let many = matches!(arg.get_action(), ArgAction::Append);
    let texts: Vec<String> = match value {
        toml::Value::Array(items) if many => items
            .iter()
            .map(|item| scalar(key, item, path))
            .collect::<anyhow::Result<_>>()?,
        toml::Value::Array(_) => {
            bail!(
                "the config file {} gives {key:?} several values; it takes one",
                path.display()
            )
        }
        one => vec![scalar(key, one, path)?],
    };
    Ok(serve.mut_arg(id, |arg| arg.default_values(texts)))
}

/// One value as the command line would write it.
fn scalar(key: &str, value: &toml::Value, path: &Path) -> anyhow::Result<String> {
    Ok(match value {
        toml::Value::String(text) => text.clone(),
        toml::Value::Integer(n) => n.to_string(),
        toml::Value::Float(x) => x.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => bail!(
            "the config file {} gives {key:?} a {}; write a string, a number or true/false",
            path.display(),
            other.type_str()
        ),
    })
}

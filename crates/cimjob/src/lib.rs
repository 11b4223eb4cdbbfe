//! The cimjob service and CLI as a library: the front ends (the CIM-XML WBEM server, the
//! JSON API, indications, Notify), the CLI that talks to them, and `serve`, which wires them
//! to the engine, the store and the runner. The `cimjob` binary is [`commands::main`].
//!
//! - [`serve`]: `cimjob serve`: the store, the engine and one HTTP(S) listener.
//! - [`wbem`]: the CIM-XML server at `/cimom` (DSP0200/DSP0201).
//! - [`api`]: JSON over HTTP under `/api/v1`.
//! - [`indications`], [`notify`]: telling listeners and users of durable changes.
//! - [`auth`], [`tls`], [`http_server`]: who asks, over what.
//! - [`cli`], [`client`], [`commands`], [`config`]: the command line and how it finds the
//!   service.
//! - [`consumer`]: a reader of the change record with a position of its own.
//! - [`memory`]: giving freed memory back once the engine has let go of many finished jobs.
//!
//! What must stay true: no job rules here; every change goes through the engine.

#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod cli;
pub mod client;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod config_file;
pub mod consumer;
pub mod csrf;
pub mod exec_as;
pub mod http_server;
pub mod indications;
pub mod memory;
pub mod metrics;
pub mod notify;
pub mod retry;
pub mod run_events;
pub mod serve;
pub mod tls;
pub mod ui;
pub mod wbem;

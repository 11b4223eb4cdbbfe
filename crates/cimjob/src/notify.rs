//! Notify: when a job completes or fails, the user its Notify property names is told through
//! the notifiers the service was started with: a command, given the notice as JSON on its
//! standard input, and/or a webhook, POSTed the same JSON.
//!
//! The notice is `{"event": "completed" | "failed", "user": <Notify>, "job": <the job as the
//! JSON API shows it>}`. The command runs as `sh -c COMMAND` with `CIMJOB_NOTIFY_USER`,
//! `CIMJOB_JOB_ID` (the InstanceID) and `CIMJOB_NOTIFY_EVENT` set; exit status 0 is success.
//! A webhook succeeds with any 2xx answer. Failures are logged and retried with the same
//! bounded backoff as indications; each notice is sent on its own task, at most
//! [`MAX_CONCURRENT`] at once, so a slow notifier never holds up the engine.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use cimjob_core::events::{Event, EventKind};
use cimjob_core::model::properties::View;
use cimjob_core::model::Job;
use cimjob_core::state::Situation;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;

use crate::retry::RetryPolicy;

/// How many notices may be in flight at once.
pub const MAX_CONCURRENT: usize = 16;

/// How long one run of the notify command may take before it is killed (and the try fails).
pub const COMMAND_TIME_LIMIT: Duration = Duration::from_secs(60);

/// Where notices go.
#[derive(Clone, Debug, Default)]
pub struct NotifyConfig {
    /// `sh -c` this command with the notice on stdin.
    pub command: Option<String>,
    /// POST the notice here.
    pub webhook: Option<String>,
}

/// Sends notices for jobs that end.
pub struct Notifier {
    config: NotifyConfig,
    policy: RetryPolicy,
    client: reqwest::Client,
    slots: Arc<Semaphore>,
}

impl Notifier {
    /// A notifier, or `None` when neither a command nor a webhook is configured.
    pub fn new(
        config: NotifyConfig,
        policy: RetryPolicy,
        client: reqwest::Client,
    ) -> Option<Arc<Notifier>> {
        if config.command.is_none() && config.webhook.is_none() {
            return None;
        }
        Some(Arc::new(Notifier {
            config,
            policy,
            client,
            slots: Arc::new(Semaphore::new(MAX_CONCURRENT)),
        }))
    }

    /// Sends a notice if `event` is a job with Notify set reaching its end.
    pub fn job_event(self: &Arc<Self>, event: &Event) {
        if event.kind != EventKind::StateChanged {
            return;
        }
        let Some(job) = &event.current else { return };
        let Some(user) = job.notify.clone().filter(|u| !u.is_empty()) else {
            return;
        };
        let Some(what) = ending(job) else { return };
        let notice = json!({
            "event": what,
            "user": user,
            "job": crate::api::json::job_to_json(job, &View::local(event.at)),
        });
        let notifier = self.clone();
        let job_id = job.instance_id();
        tokio::spawn(async move {
            let Ok(_slot) = notifier.slots.clone().acquire_owned().await else {
                return;
            };
            notifier.deliver(&notice, &user, &job_id, what).await;
        });
    }

    async fn deliver(&self, notice: &Value, user: &str, job_id: &str, what: &str) {
        let body = notice.to_string();
        if let Some(command) = &self.config.command {
            let result = self
                .policy
                .run(
                    || run_command(command, &body, user, job_id, what),
                    |attempt, error: &String| {
                        tracing::warn!(%user, job = %job_id, attempt, %error, "the notify command failed");
                    },
                )
                .await;
            if let Err((attempts, _)) = result {
                tracing::error!(%user, job = %job_id, attempts, "gave up notifying by command");
            }
        }
        if let Some(url) = &self.config.webhook {
            let result = self
                .policy
                .run(
                    || post(&self.client, url, &body),
                    |attempt, error: &String| {
                        tracing::warn!(%user, job = %job_id, attempt, %error, "the notify webhook failed");
                    },
                )
                .await;
            if let Err((attempts, _)) = result {
                tracing::error!(%user, job = %job_id, attempts, "gave up notifying by webhook");
            }
        }
    }
}

/// "completed" or "failed" for a job that has ended, `None` while it goes on.
fn ending(job: &Job) -> Option<&'static str> {
    match job.situation {
        Situation::Completed => Some("completed"),
        s if s.is_final() => Some("failed"),
        _ => None,
    }
}

async fn run_command(
    command: &str,
    body: &str,
    user: &str,
    job_id: &str,
    what: &str,
) -> Result<(), String> {
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("CIMJOB_NOTIFY_USER", user)
        .env("CIMJOB_JOB_ID", job_id)
        .env("CIMJOB_NOTIFY_EVENT", what)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start sh: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // a command that does not read its input is not a failure
        let _ = stdin.write_all(body.as_bytes()).await;
    }
    match tokio::time::timeout(COMMAND_TIME_LIMIT, child.wait()).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(format!("the command ended with {status}")),
        Ok(Err(e)) => Err(format!("cannot wait for the command: {e}")),
        Err(_) => {
            let _ = child.kill().await;
            Err(format!(
                "the command took longer than {}s and was killed",
                COMMAND_TIME_LIMIT.as_secs()
            ))
        }
    }
}

async fn post(client: &reqwest::Client, url: &str, body: &str) -> Result<(), String> {
    let response = client
        .post(url)
        .header("Content-Type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("the webhook answered HTTP {}", response.status()))
    }
}

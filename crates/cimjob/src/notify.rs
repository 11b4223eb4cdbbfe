//! Notify: when a job completes or fails, the user its Notify property names is told through
//! the notifiers the service was started with: a command, given the notice as JSON on its
//! standard input, and/or a webhook, POSTed the same JSON.
//!
//! The notice is `{"event": "completed" | "failed", "user": <Notify>, "job": <the job as the
//! JSON API shows it>}`. The command runs as `sh -c COMMAND` with `CIMJOB_NOTIFY_USER`,
//! `CIMJOB_JOB_ID` (the InstanceID) and `CIMJOB_NOTIFY_EVENT` set; exit status 0 is success.
//! A webhook succeeds with any 2xx answer. Failures are logged and retried with the same
//! bounded backoff as indications; at most [`MAX_CONCURRENT`] notices are sent at once. The
//! notifier reads the durable change record from a position of its own (consumer `notify`):
//! when notices are slow it falls behind, never drops one, and after a restart resumes where
//! it stopped. The command runs in its own process group, killed whole after
//! [`COMMAND_TIME_LIMIT`].

use std::collections::BTreeSet;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use cimjob_engine::EngineHandle;

use cimjob_rules::events::{Event, EventKind};
use cimjob_rules::model::properties::View;
use cimjob_rules::model::Job;
use cimjob_rules::state::Situation;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;

use crate::consumer::Consumer;
use crate::retry::RetryPolicy;

/// How many notices may be in flight at once.
pub const MAX_CONCURRENT: usize = 16;

/// The consumer name of the notifier's position in the change record.
pub const CONSUMER: &str = "notify";

/// How long one run of the notify command may take before it is killed (and the try fails).
pub const COMMAND_TIME_LIMIT: Duration = Duration::from_secs(60);

/// Where notices go.
#[derive(Clone, Debug)]
pub struct NotifyConfig {
    /// `sh -c` this command with the notice on stdin.
    pub command: Option<String>,
    /// POST the notice here.
    pub webhook: Option<String>,
    /// The zone the job's times are shown in (the service's).
    pub zone: jiff::tz::TimeZone,
}

/// Sends notices for jobs that end.
pub struct Notifier {
    config: NotifyConfig,
    policy: RetryPolicy,
    client: reqwest::Client,
}

/// One notice on its way.
struct Notice {
    body: String,
    user: String,
    job_id: String,
    what: &'static str,
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
        }))
    }

    /// Follows `engine`'s changes from the notifier's position, once `delivering` is true
    /// (the one node of a cluster that delivers), sending a notice for every job with Notify
    /// set that ends; the task ends once the engine has stopped, its position saved (or,
    /// never delivering, once the gate is gone).
    pub fn follow(
        self: &Arc<Self>,
        engine: &EngineHandle,
        mut delivering: tokio::sync::watch::Receiver<bool>,
    ) -> JoinHandle<()> {
        let (notifier, engine) = (self.clone(), engine.clone());
        tokio::spawn(async move {
            if delivering.wait_for(|d| *d).await.is_err() {
                return;
            }
            let mut consumer = Consumer::resume(&engine, CONSUMER).await;
            let slots = Arc::new(Semaphore::new(MAX_CONCURRENT));
            // the changes whose notice is still being sent: the position stays below them
            let mut in_flight = BTreeSet::new();
            let (sent_tx, mut sent) = mpsc::unbounded_channel::<u64>();
            let mut last_seen = None;
            loop {
                tokio::select! {
                    Some(seq) = sent.recv() => {
                        in_flight.remove(&seq);
                    }
                    event = consumer.next() => {
                        let Some(event) = event else { break };
                        last_seen = Some(event.sequence);
                        if let Some(notice) = notifier.notice(&event) {
                            let Ok(slot) = slots.clone().acquire_owned().await else {
                                break;
                            };
                            in_flight.insert(event.sequence);
                            let (notifier, sent_tx) = (notifier.clone(), sent_tx.clone());
                            tokio::spawn(async move {
                                notifier.deliver(&notice).await;
                                let _ = sent_tx.send(event.sequence);
                                drop(slot);
                            });
                        }
                    }
                }
                let done = in_flight.first().map(|lowest| lowest - 1).or(last_seen);
                if let Some(done) = done {
                    consumer.reached(done).await;
                }
            }
            consumer.save().await;
        })
    }

    /// The notice `event` calls for: a job with Notify set reaching its end.
    fn notice(&self, event: &Event) -> Option<Notice> {
        if event.kind != EventKind::StateChanged {
            return None;
        }
        let job = event.current.as_ref()?;
        let user = job.notify.clone().filter(|u| !u.is_empty())?;
        let what = ending(job)?;
        let body = json!({
            "event": what,
            "user": user,
            "job": crate::api::json::job_to_json(job, &View::at(event.at, &self.config.zone)),
        })
        .to_string();
        Some(Notice {
            body,
            user,
            job_id: job.instance_id(),
            what,
        })
    }

    async fn deliver(&self, notice: &Notice) {
        let Notice {
            body,
            user,
            job_id,
            what,
        } = notice;
        let (body, user, job_id, what) = (body.as_str(), user.as_str(), job_id.as_str(), *what);
        if let Some(command) = &self.config.command {
            let result = self
                .policy
                .run(
                    || run_command(command, body, (user, job_id, what), COMMAND_TIME_LIMIT),
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
                    || post(&self.client, url, body),
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

/// Runs the notify command once with `body` on its stdin; `who` is (user, job, event) for
/// its environment.
async fn run_command(
    command: &str,
    body: &str,
    who: (&str, &str, &str),
    limit: Duration,
) -> Result<(), String> {
    let (user, job_id, what) = who;
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("CIMJOB_NOTIFY_USER", user)
        .env("CIMJOB_JOB_ID", job_id)
        .env("CIMJOB_NOTIFY_EVENT", what)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        // its own group, so a time-out kills what the command started too
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start sh: {e}"))?;
    let group = child.id().map(|pid| nix::unistd::Pid::from_raw(pid as i32));
    let mut stdin = child.stdin.take();
    let run = async {
        if let Some(stdin) = stdin.as_mut() {
            // a command that does not read its input is not a failure
            let _ = stdin.write_all(body.as_bytes()).await;
        }
        drop(stdin);
        child.wait().await
    };
    match tokio::time::timeout(limit, run).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(format!("the command ended with {status}")),
        Ok(Err(e)) => Err(format!("cannot wait for the command: {e}")),
        Err(_) => {
            if let Some(group) = group {
                let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
            }
            let _ = child.wait().await;
            Err(format!(
                "the command took longer than {:?} and was killed",
                limit
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_command_gets_the_notice_and_a_slow_one_is_killed_with_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("notice");
        let command = format!(
            "cat > {}; echo $CIMJOB_NOTIFY_USER >> {}",
            out.display(),
            out.display()
        );
        run_command(
            &command,
            "{\"a\":1}",
            ("alice", "CIMJOB:1", "completed"),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "{\"a\":1}alice\n");

        let pid_file = dir.path().join("pid");
        let slow = format!("sleep 30 & echo $! > {}; wait", pid_file.display());
        let error = run_command(
            &slow,
            "",
            ("alice", "CIMJOB:1", "failed"),
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
        assert!(error.contains("killed"), "{error}");
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // the background sleep was in the command's group: gone (or a zombie) soon after
        let mut gone = false;
        for _ in 0..100 {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|r| r.trim_start().chars().next());
            if stat.is_empty() || state == Some('Z') {
                gone = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(gone, "the command's child {pid} survived the time-out");
    }
}

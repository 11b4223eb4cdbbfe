//! Bounded exponential backoff, shared by indication delivery and Notify: both send to
//! something outside the service that may be down for a while, and both must give up in
//! bounded time rather than hold their queue for ever.

use std::future::Future;
use std::time::Duration;

/// How a failed send is retried: the first retry after `first`, each later one after twice
/// the wait before it but at most `max`; `attempts` tries in all (at least one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many tries in all before giving up.
    pub attempts: u32,
    /// The wait before the first retry (`cimjob serve --delivery-backoff`, 500 ms by
    /// default). OpenPegasus waits 30 s; a listener that restarts should not lose half a
    /// minute of job progress.
    pub first: Duration,
    /// The longest wait between two tries.
    pub max: Duration,
}

impl RetryPolicy {
    /// The wait after the `failed`-th failed try (counted from 1).
    pub fn delay(&self, failed: u32) -> Duration {
        let doublings = failed.saturating_sub(1).min(30);
        self.first
            .saturating_mul(1u32 << doublings)
            .min(self.max.max(self.first))
    }

    /// Tries `send` until it succeeds or `attempts` tries have failed; returns how many tries
    /// it took, or the last error and the number of tries. `on_failure` hears of every
    /// failed try (to log or record it).
    pub async fn run<F, Fut, E>(
        &self,
        mut send: F,
        mut on_failure: impl FnMut(u32, &E),
    ) -> Result<u32, (u32, E)>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(), E>>,
    {
        let attempts = self.attempts.max(1);
        let mut tried = 0;
        loop {
            tried += 1;
            match send().await {
                Ok(()) => return Ok(tried),
                Err(e) => {
                    on_failure(tried, &e);
                    if tried >= attempts {
                        return Err((tried, e));
                    }
                    tokio::time::sleep(self.delay(tried)).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn the_wait_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            attempts: 5,
            first: Duration::from_millis(500),
            max: Duration::from_secs(1),
        };
        assert_eq!(p.delay(1), Duration::from_millis(500));
        assert_eq!(p.delay(2), Duration::from_secs(1));
        assert_eq!(p.delay(40), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn retries_until_success_and_counts_the_tries() {
        let policy = RetryPolicy {
            attempts: 5,
            first: Duration::from_millis(100),
            max: Duration::from_millis(250),
        };
        let calls = Cell::new(0);
        let started = tokio::time::Instant::now();
        let failures = Cell::new(0);
        let result = policy
            .run(
                || {
                    calls.set(calls.get() + 1);
                    let n = calls.get();
                    async move {
                        if n < 4 {
                            Err("down")
                        } else {
                            Ok(())
                        }
                    }
                },
                |_, _| failures.set(failures.get() + 1),
            )
            .await;
        assert_eq!(result, Ok(4));
        assert_eq!(failures.get(), 3);
        // 100 + 200 + 250 (capped)
        assert_eq!(started.elapsed(), Duration::from_millis(550));
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_the_last_attempt_with_the_last_error() {
        let policy = RetryPolicy {
            attempts: 3,
            first: Duration::from_millis(10),
            max: Duration::from_secs(1),
        };
        let calls = Cell::new(0);
        let result = policy
            .run(
                || {
                    calls.set(calls.get() + 1);
                    let n = calls.get();
                    async move { Err::<(), _>(n) }
                },
                |_, _| {},
            )
            .await;
        assert_eq!(result, Err((3, 3)));
    }
}

//! The one retry policy of the OMA and Google clients: exponential backoff with full
//! jitter, `Retry-After` honoured up to a cap, and a deadline for the whole call.
//!
//! The adapter decides which failures are worth another attempt ([`Decision`]); this module
//! decides when and how often, and stops at the attempt limit or the deadline, whichever
//! comes first.

use std::future::Future;
use std::time::Duration;

use rand::Rng as _;
use tokio::time::Instant;

/// How often, how long apart and for how long in total a call is attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, counting the first. At least 1.
    pub max_attempts: u32,
    /// The backoff ceiling after the first failed attempt, doubled after each further one.
    /// The actual wait is drawn uniformly from zero to the ceiling ("full jitter"), so
    /// clients that failed together do not retry together.
    pub base_delay: Duration,
    /// The largest backoff ceiling, however many attempts failed.
    pub max_delay: Duration,
    /// The longest `Retry-After` the client waits for. A server that asks for more gets no
    /// retry, because an earlier one would be refused again.
    pub max_retry_after: Duration,
    /// The limit for the whole call, from the first attempt to the last, waits included.
    pub deadline: Duration,
}

impl RetryPolicy {
    /// The default for one call: 3 attempts, backoff from 250 ms, `Retry-After` up to 10 s,
    /// and 30 s in total.
    pub const DEFAULT: Self = Self {
        max_attempts: 3,
        base_delay: Duration::from_millis(250),
        max_delay: Duration::from_secs(4),
        max_retry_after: Duration::from_secs(10),
        deadline: Duration::from_secs(30),
    };

    /// A policy of a single attempt within `deadline`, for callers that retry on their own.
    pub const fn single_attempt(deadline: Duration) -> Self {
        Self {
            max_attempts: 1,
            deadline,
            ..Self::DEFAULT
        }
    }

    /// Returns the backoff wait after failed attempt number `attempt` (1-based): a random
    /// duration from zero to `base_delay * 2^(attempt-1)`, capped at `max_delay`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(1 << attempt.saturating_sub(1).min(16))
            .min(self.max_delay);
        let ceiling_nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        if ceiling_nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(rand::rng().random_range(0..=ceiling_nanos))
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Whether a failed attempt is worth another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Another attempt would fail the same way.
    Stop,
    /// Worth another attempt, after the server's `Retry-After` where it gave one.
    Retry {
        /// The server's `Retry-After`.
        retry_after: Option<Duration>,
    },
}

/// Why [`run`] gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GaveUp {
    /// The failure is not one that retrying fixes.
    NotRetryable,
    /// Every allowed attempt failed.
    AttemptsExhausted,
    /// The next wait would pass the deadline, or the server asked to wait longer than
    /// `max_retry_after`.
    WaitTooLong,
    /// The deadline passed during an attempt, which was abandoned.
    Deadline,
}

/// The outcome of a call that did not succeed.
#[derive(Debug)]
pub struct Failed<E> {
    /// The error of the last finished attempt. `None` only when the deadline cut off the
    /// first attempt.
    pub last_error: Option<E>,
    /// Attempts started, counting one cut off by the deadline.
    pub attempts: u32,
    /// Why no further attempt was made.
    pub reason: GaveUp,
}

/// Runs `attempt` until it succeeds, `classify` says [`Decision::Stop`], the attempts run
/// out, or the policy's deadline passes. `attempt` gets the 1-based attempt number.
///
/// `label` names the call in the retry logs, which carry no URL and no error body.
///
/// # Errors
///
/// [`Failed`] with the last error, the number of attempts and the reason for giving up.
pub async fn run<T, E, F, Fut, C>(
    policy: &RetryPolicy,
    label: &'static str,
    mut attempt: F,
    classify: C,
) -> Result<T, Failed<E>>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    C: Fn(&E) -> Decision,
    E: std::fmt::Display,
{
    let deadline = Instant::now() + policy.deadline;
    let max_attempts = policy.max_attempts.max(1);
    let mut last_error = None;
    let mut number = 1;

    loop {
        let error = match tokio::time::timeout_at(deadline, attempt(number)).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => error,
            Err(_elapsed) => {
                tracing::warn!(call = label, attempt = number, "call passed its deadline");
                return Err(Failed {
                    last_error,
                    attempts: number,
                    reason: GaveUp::Deadline,
                });
            }
        };

        let give_up = |error, reason| Failed {
            last_error: Some(error),
            attempts: number,
            reason,
        };
        let retry_after = match classify(&error) {
            Decision::Stop => return Err(give_up(error, GaveUp::NotRetryable)),
            Decision::Retry { retry_after } => retry_after,
        };
        if number >= max_attempts {
            tracing::warn!(call = label, attempt = number, cause = %error, "call failed, giving up");
            return Err(give_up(error, GaveUp::AttemptsExhausted));
        }

        let wait = match retry_after {
            Some(asked) if asked > policy.max_retry_after => {
                tracing::warn!(
                    call = label,
                    retry_after_s = asked.as_secs(),
                    "server asked to wait longer than the hub's limit, giving up"
                );
                return Err(give_up(error, GaveUp::WaitTooLong));
            }
            Some(asked) => asked,
            None => policy.backoff(number),
        };
        if Instant::now() + wait >= deadline {
            return Err(give_up(error, GaveUp::WaitTooLong));
        }

        tracing::warn!(
            call = label,
            attempt = number,
            cause = %error,
            delay_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            "call failed, retrying"
        );
        tokio::time::sleep(wait).await;
        last_error = Some(error);
        number += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(5),
            deadline: Duration::from_secs(30),
        }
    }

    fn retry(_: &&'static str) -> Decision {
        Decision::Retry { retry_after: None }
    }

    #[test]
    fn backoff_stays_under_doubling_ceiling() {
        let policy = policy();
        for _ in 0..200 {
            assert!(policy.backoff(1) <= Duration::from_millis(100));
            assert!(policy.backoff(3) <= Duration::from_millis(400));
            assert!(policy.backoff(20) <= Duration::from_secs(1));
            assert!(policy.backoff(u32::MAX) <= Duration::from_secs(1));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn succeeds_after_transient_failures() {
        let calls = AtomicU32::new(0);
        let result = run(
            &policy(),
            "test",
            |number| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move { if number < 3 { Err("busy") } else { Ok(number) } }
            },
            retry,
        )
        .await;

        assert_eq!(result.ok(), Some(3));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn stop_decision_ends_at_once() {
        let calls = AtomicU32::new(0);
        let failed = run(
            &policy(),
            "test",
            |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err::<(), _>("denied") }
            },
            |_| Decision::Stop,
        )
        .await
        .unwrap_err();

        assert_eq!(failed.reason, GaveUp::NotRetryable);
        assert_eq!(failed.attempts, 1);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_are_bounded() {
        let failed = run(&policy(), "test", |_| async { Err::<(), _>("busy") }, retry)
            .await
            .unwrap_err();

        assert_eq!(failed.reason, GaveUp::AttemptsExhausted);
        assert_eq!(failed.attempts, 4);
        assert_eq!(failed.last_error, Some("busy"));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_past_cap_is_not_waited_for() {
        let failed = run(
            &policy(),
            "test",
            |_| async { Err::<(), _>("slow down") },
            |_| Decision::Retry {
                retry_after: Some(Duration::from_secs(60)),
            },
        )
        .await
        .unwrap_err();

        assert_eq!(failed.reason, GaveUp::WaitTooLong);
        assert_eq!(failed.attempts, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn deadline_cuts_a_hanging_attempt() {
        let policy = RetryPolicy {
            deadline: Duration::from_secs(2),
            ..policy()
        };
        let failed = run(
            &policy,
            "test",
            |_| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Err::<(), _>("never")
            },
            retry,
        )
        .await
        .unwrap_err();

        assert_eq!(failed.reason, GaveUp::Deadline);
        assert_eq!(failed.attempts, 1);
        assert!(failed.last_error.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn deadline_stops_waits_that_would_pass_it() {
        let policy = RetryPolicy {
            max_attempts: 100,
            deadline: Duration::from_secs(10),
            ..policy()
        };
        let calls = AtomicU32::new(0);
        let failed = run(
            &policy,
            "test",
            |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err::<(), _>("slow down") }
            },
            |_| Decision::Retry {
                retry_after: Some(Duration::from_secs(4)),
            },
        )
        .await
        .unwrap_err();

        // Attempts at 0 s, 4 s and 8 s; a fourth would start at 12 s, past the deadline.
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(failed.reason, GaveUp::WaitTooLong);
    }
}

//! A circuit breaker in front of a credential source, so an outage costs one fast error per
//! call instead of a full retry cycle per call.
//!
//! After `failure_threshold` consecutive [`CredentialError::Unavailable`] results the breaker
//! opens: every call fails at once, saying when the source will be tried again. After the
//! cool-down one call goes through as a probe (half-open); its success closes the breaker,
//! its failure opens it for another cool-down. Other errors (a rejected token, say) come
//! from a source that answered, so they count as successes here.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use tokio::time::Instant;

use crate::domain::errors::CredentialError;
use crate::domain::models::{AuthMode, Credentials, ProviderStatus};
use crate::domain::ports::CredentialProvider;

/// When the breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive failed calls that open the breaker. At least 1.
    pub failure_threshold: u32,
    /// How long the breaker stays open before one probe call is let through.
    pub cool_down: Duration,
}

impl Default for BreakerSettings {
    /// 5 failures in a row open the breaker for 30 s.
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            cool_down: Duration::from_secs(30),
        }
    }
}

#[derive(Debug)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
        cause: String,
    },
    /// One probe call is running. Others fail at once until it ends.
    Probing {
        cause: String,
    },
}

/// A [`CredentialProvider`] that wraps another behind a circuit breaker.
pub struct CircuitBreaker {
    inner: Arc<dyn CredentialProvider>,
    /// The source's name in messages, such as `OMA Backend`.
    source_name: &'static str,
    settings: BreakerSettings,
    state: Arc<Mutex<State>>,
}

/// What a call may do, decided under the lock.
enum Admission {
    Pass,
    Probe(ProbeGuard),
}

/// Reopens the breaker at once if a probe is cancelled before it reports, so an abandoned
/// probe cannot leave the breaker half-open for good.
struct ProbeGuard {
    state: Arc<Mutex<State>>,
    finished: bool,
}

impl Drop for ProbeGuard {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let mut state = lock(&self.state);
        if let State::Probing { cause } = &*state {
            *state = State::Open {
                until: Instant::now(),
                cause: cause.clone(),
            };
        }
    }
}

impl CircuitBreaker {
    /// Wraps `inner`. `source_name` names the source in the fail-fast message.
    pub fn new(
        inner: Arc<dyn CredentialProvider>,
        source_name: &'static str,
        settings: BreakerSettings,
    ) -> Self {
        Self {
            inner,
            source_name,
            settings: BreakerSettings {
                failure_threshold: settings.failure_threshold.max(1),
                ..settings
            },
            state: Arc::new(Mutex::new(State::Closed { failures: 0 })),
        }
    }

    /// Returns whether calls currently fail at once.
    pub fn is_open(&self) -> bool {
        !matches!(*lock(&self.state), State::Closed { .. })
    }

    async fn call<T, F>(&self, request: F) -> Result<T, CredentialError>
    where
        F: std::future::Future<Output = Result<T, CredentialError>>,
    {
        let admission = self.admit()?;

        let result = request.await;

        let failed = matches!(&result, Err(CredentialError::Unavailable(_)));
        let cause = match &result {
            Err(error) => error.to_string(),
            Ok(_) => String::new(),
        };
        let mut state = lock(&self.state);
        match admission {
            Admission::Probe(mut guard) => {
                guard.finished = true;
                if failed {
                    tracing::warn!(
                        source = self.source_name,
                        "probe failed, the circuit stays open"
                    );
                    *state = self.open(cause);
                } else {
                    tracing::info!(
                        source = self.source_name,
                        "probe succeeded, the circuit is closed"
                    );
                    *state = State::Closed { failures: 0 };
                }
            }
            Admission::Pass => match &mut *state {
                State::Closed { failures } if failed => {
                    *failures += 1;
                    if *failures >= self.settings.failure_threshold {
                        tracing::warn!(
                            source = self.source_name,
                            failures = *failures,
                            cool_down_s = self.settings.cool_down.as_secs_f64(),
                            "source unreachable, opening the circuit"
                        );
                        *state = self.open(cause);
                    }
                }
                State::Closed { failures } => *failures = 0,
                // Another call opened the breaker or is probing; its outcome decides.
                State::Open { .. } | State::Probing { .. } => {}
            },
        }
        drop(state);
        result
    }

    fn open(&self, cause: String) -> State {
        State::Open {
            until: Instant::now() + self.settings.cool_down,
            cause,
        }
    }

    fn admit(&self) -> Result<Admission, CredentialError> {
        let mut state = lock(&self.state);
        let now = Instant::now();
        match &*state {
            State::Closed { .. } => Ok(Admission::Pass),
            State::Open { until, cause } if now >= *until => {
                *state = State::Probing {
                    cause: cause.clone(),
                };
                Ok(Admission::Probe(ProbeGuard {
                    state: Arc::clone(&self.state),
                    finished: false,
                }))
            }
            State::Open { until, cause } => Err(self.fail_fast(until.duration_since(now), cause)),
            State::Probing { cause } => Err(self.fail_fast(Duration::ZERO, cause)),
        }
    }

    fn fail_fast(&self, remaining: Duration, cause: &str) -> CredentialError {
        let retry_at: DateTime<Utc> = Utc::now()
            + chrono::TimeDelta::from_std(remaining).unwrap_or(chrono::TimeDelta::zero());
        let when = if remaining.is_zero() {
            "is trying it again now".to_owned()
        } else {
            format!(
                "will try it again at {} (in {} s)",
                retry_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                remaining.as_secs().max(1)
            )
        };
        CredentialError::Unavailable(format!(
            "The {} is unreachable, so the hub stopped calling it for a while and {when}. The last \
             failure: {cause}",
            self.source_name
        ))
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // Every critical section is a few assignments, so a poisoned state is still consistent.
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[async_trait]
impl CredentialProvider for CircuitBreaker {
    fn mode(&self) -> AuthMode {
        self.inner.mode()
    }

    async fn fetch_credentials(&self) -> Result<Credentials, CredentialError> {
        self.call(self.inner.fetch_credentials()).await
    }

    async fn status(&self) -> Result<ProviderStatus, CredentialError> {
        self.call(self.inner.status()).await
    }

    fn source_token_expiry(&self) -> Option<DateTime<Utc>> {
        self.inner.source_token_expiry()
    }
}

impl std::fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("source_name", &self.source_name)
            .field("settings", &self.settings)
            .field("open", &self.is_open())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use chrono::TimeDelta;

    use super::*;
    use crate::domain::models::AccessToken;
    use crate::domain::service::CredentialCache;

    /// A source that counts calls and fails with `Unavailable` while `down` is set.
    struct FlappingSource {
        calls: AtomicUsize,
        down: AtomicBool,
        lifetime: TimeDelta,
    }

    impl FlappingSource {
        fn new(lifetime_seconds: i64) -> Arc<Self> {
            Arc::new(Self {
                calls: AtomicUsize::new(0),
                down: AtomicBool::new(false),
                lifetime: TimeDelta::seconds(lifetime_seconds),
            })
        }

        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }

        fn set_down(&self, down: bool) {
            self.down.store(down, Ordering::SeqCst);
        }
    }

    #[async_trait]
    impl CredentialProvider for FlappingSource {
        fn mode(&self) -> AuthMode {
            AuthMode::OmaBackend
        }

        async fn fetch_credentials(&self) -> Result<Credentials, CredentialError> {
            let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            if self.down.load(Ordering::SeqCst) {
                return Err(CredentialError::Unavailable(
                    "connection refused".to_owned(),
                ));
            }
            Ok(Credentials {
                expires_at: Some(Utc::now() + self.lifetime),
                ..Credentials::bearer(AccessToken::new(format!("token-{call}")))
            })
        }

        async fn status(&self) -> Result<ProviderStatus, CredentialError> {
            Err(CredentialError::Unauthorized("rejected".to_owned()))
        }
    }

    fn breaker(source: &Arc<FlappingSource>) -> CircuitBreaker {
        CircuitBreaker::new(
            source.clone(),
            "OMA Backend",
            BreakerSettings {
                failure_threshold: 3,
                cool_down: Duration::from_secs(30),
            },
        )
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_threshold_and_fails_fast() {
        let source = FlappingSource::new(3600);
        source.set_down(true);
        let breaker = breaker(&source);

        for _ in 0..3 {
            assert!(breaker.fetch_credentials().await.is_err());
        }
        assert!(breaker.is_open());
        for _ in 0..100 {
            let error = breaker.fetch_credentials().await.unwrap_err();
            let CredentialError::Unavailable(message) = &error else {
                panic!("expected Unavailable, got {error:?}");
            };
            assert!(message.contains("OMA Backend is unreachable"), "{message}");
            assert!(message.contains("in 30 s"), "{message}");
            assert!(message.contains("connection refused"), "{message}");
        }

        assert_eq!(source.calls(), 3, "an open breaker sends nothing");
    }

    #[tokio::test(start_paused = true)]
    async fn half_open_probe_closes_on_success() {
        let source = FlappingSource::new(3600);
        source.set_down(true);
        let breaker = breaker(&source);
        for _ in 0..3 {
            let _ = breaker.fetch_credentials().await;
        }

        source.set_down(false);
        tokio::time::advance(Duration::from_secs(31)).await;

        assert!(
            breaker.fetch_credentials().await.is_ok(),
            "the probe passes"
        );
        assert!(!breaker.is_open());
        assert!(breaker.fetch_credentials().await.is_ok());
        assert_eq!(source.calls(), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn failed_probe_reopens_for_cool_down() {
        let source = FlappingSource::new(3600);
        source.set_down(true);
        let breaker = breaker(&source);
        for _ in 0..3 {
            let _ = breaker.fetch_credentials().await;
        }

        tokio::time::advance(Duration::from_secs(31)).await;
        assert!(breaker.fetch_credentials().await.is_err());
        assert_eq!(source.calls(), 4, "one probe");
        assert!(breaker.fetch_credentials().await.is_err());
        assert_eq!(source.calls(), 4, "open again after the failed probe");
    }

    #[tokio::test(start_paused = true)]
    async fn answers_that_are_not_outages_keep_it_closed() {
        let source = FlappingSource::new(3600);
        let breaker = breaker(&source);

        for _ in 0..10 {
            assert!(matches!(
                breaker.status().await,
                Err(CredentialError::Unauthorized(_))
            ));
        }

        assert!(!breaker.is_open());
    }

    #[tokio::test(start_paused = true)]
    async fn cancelled_probe_does_not_stick() {
        let source = FlappingSource::new(3600);
        source.set_down(true);
        let breaker = breaker(&source);
        for _ in 0..3 {
            let _ = breaker.fetch_credentials().await;
        }
        tokio::time::advance(Duration::from_secs(31)).await;

        // Admit a probe and drop it before it reports.
        let admission = breaker.admit();
        assert!(matches!(admission, Ok(Admission::Probe(_))));
        drop(admission);

        source.set_down(false);
        assert!(breaker.fetch_credentials().await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn cache_keeps_serving_usable_token_while_open() {
        let source = FlappingSource::new(3600);
        let cache = CredentialCache::new(Arc::new(breaker(&source)));
        let first = cache.get().await.expect("the first fetch succeeds");

        // Inside the refresh-ahead window, with the source down.
        source.set_down(true);
        tokio::time::advance(Duration::from_secs(3600 - 200)).await;
        for _ in 0..50 {
            let credentials = cache.get().await.expect("the usable token keeps serving");
            assert_eq!(credentials.access_token, first.access_token);
        }

        assert_eq!(
            source.calls(),
            4,
            "1 fetch, then 3 failed refreshes open the breaker"
        );
    }
}

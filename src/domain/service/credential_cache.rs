//! A cache of Google credentials in front of any [`CredentialProvider`].
//!
//! Every tool call asks the cache for a token, so the hit path takes a short `std` mutex
//! and clones an `Arc`: no `.await` and no allocation. A refresh is single-flight: however
//! many callers find the token stale at once, the provider sees one call, and its result
//! (success or error) reaches every caller that waited for it.
//!
//! Expiry is tracked on tokio's monotonic clock. When credentials arrive, their wall-clock
//! expiry is turned into deadlines on [`tokio::time::Instant`], which is immune to wall-clock
//! jumps and can be paused and advanced in tests.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use futures::FutureExt as _;
use futures::future::{BoxFuture, Shared};
use tokio::time::Instant;

use crate::domain::errors::CredentialError;
use crate::domain::models::{AccessToken, Credentials, EXPIRY_MARGIN};
use crate::domain::ports::CredentialProvider;

/// How long before expiry the cache fetches a new token while the old one still serves.
///
/// A token with a short life is refreshed after half of it instead, so a source that hands
/// out two-minute tokens is not called on every request.
pub const REFRESH_AHEAD: Duration = Duration::from_secs(300);

type RefreshFuture = Shared<BoxFuture<'static, Result<Arc<Credentials>, CredentialError>>>;

/// Caches credentials from a provider and refreshes them ahead of expiry.
///
/// Cheap to share: clone the `Arc` it is usually held in.
pub struct CredentialCache {
    inner: Arc<Inner>,
}

struct Inner {
    provider: Arc<dyn CredentialProvider>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    current: Option<Cached>,
    refresh: Option<RefreshFuture>,
    last_error: Option<CredentialError>,
}

#[derive(Clone)]
struct Cached {
    credentials: Arc<Credentials>,
    /// After this instant the token is no longer sent; `None` for an unknown expiry.
    usable_until: Option<Instant>,
    /// After this instant a caller starts a refresh; `None` for an unknown expiry.
    refresh_after: Option<Instant>,
}

impl Cached {
    fn new(credentials: Arc<Credentials>, received: Instant) -> Self {
        let Some(lifetime) = credentials.remaining_at(Utc::now()) else {
            return Self {
                credentials,
                usable_until: None,
                refresh_after: None,
            };
        };

        let ahead = REFRESH_AHEAD.min(lifetime / 2);
        Self {
            usable_until: Some(received + lifetime.saturating_sub(EXPIRY_MARGIN)),
            refresh_after: Some(received + lifetime.saturating_sub(ahead)),
            credentials,
        }
    }

    fn is_usable(&self, now: Instant) -> bool {
        self.usable_until.is_none_or(|deadline| now < deadline)
    }

    fn is_fresh(&self, now: Instant) -> bool {
        self.refresh_after.is_none_or(|deadline| now < deadline)
    }
}

impl CredentialCache {
    /// Creates an empty cache over a provider. Nothing is fetched until the first
    /// [`get`](Self::get).
    pub fn new(provider: Arc<dyn CredentialProvider>) -> Self {
        Self {
            inner: Arc::new(Inner {
                provider,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// Returns the provider behind the cache.
    pub fn provider(&self) -> &Arc<dyn CredentialProvider> {
        &self.inner.provider
    }

    /// Returns credentials whose access token is usable now.
    ///
    /// A cached token outside the refresh window is returned at once. A token inside it is
    /// returned while another caller refreshes, and the caller that starts the refresh waits
    /// for it, falling back to the old token if the refresh fails while the old one is
    /// still usable.
    ///
    /// # Errors
    ///
    /// Returns the provider's [`CredentialError`] when no usable token is cached and the
    /// refresh fails. Every caller waiting on that refresh gets the same error, and the next
    /// call starts a new refresh.
    pub async fn get(&self) -> Result<Arc<Credentials>, CredentialError> {
        let refresh = {
            let mut state = self.inner.lock();
            let now = Instant::now();
            if let Some(cached) = &state.current {
                if cached.is_fresh(now) {
                    return Ok(cached.credentials.clone());
                }
                if cached.is_usable(now) && state.refresh.is_some() {
                    return Ok(cached.credentials.clone());
                }
            }
            self.inner.join_or_start_refresh(&mut state)
        };

        match refresh.await {
            Ok(credentials) => Ok(credentials),
            Err(error) => {
                let state = self.inner.lock();
                match &state.current {
                    Some(cached) if cached.is_usable(Instant::now()) => {
                        tracing::warn!(cause = %error, "credential refresh failed; the current token is still usable");
                        Ok(cached.credentials.clone())
                    }
                    _ => Err(error),
                }
            }
        }
    }

    /// Drops the cached token if it is `rejected`, so the next [`get`](Self::get) fetches
    /// a new one. Call it when Google answers 401 to that token.
    ///
    /// A token other than the cached one is ignored: it was already replaced by a caller
    /// that saw the same 401 first. For the cached one, the provider hears of the rejection
    /// through [`CredentialProvider::token_rejected`].
    pub fn invalidate(&self, rejected: &AccessToken) {
        let mut state = self.inner.lock();
        if state
            .current
            .as_ref()
            .is_some_and(|cached| &cached.credentials.access_token == rejected)
        {
            tracing::debug!("dropping an access token Google rejected");
            state.current = None;
            drop(state);
            self.inner.provider.token_rejected(rejected);
        }
    }

    /// Returns the cached credentials, usable or not, without fetching.
    pub fn peek(&self) -> Option<Arc<Credentials>> {
        self.inner
            .lock()
            .current
            .as_ref()
            .map(|cached| cached.credentials.clone())
    }

    /// Returns the error of the last failed refresh, cleared by the next success.
    pub fn last_error(&self) -> Option<CredentialError> {
        self.inner.lock().last_error.clone()
    }
}

impl std::fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.inner.lock();
        f.debug_struct("CredentialCache")
            .field("mode", &self.inner.provider.mode())
            .field("cached", &state.current.is_some())
            .field("refreshing", &state.refresh.is_some())
            .finish()
    }
}

impl Inner {
    /// Locks the state. A panic while the lock was held leaves the state consistent (every
    /// critical section is a few assignments), so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn join_or_start_refresh(self: &Arc<Self>, state: &mut State) -> RefreshFuture {
        if let Some(refresh) = &state.refresh {
            return refresh.clone();
        }

        let inner = Arc::clone(self);
        let refresh = async move { inner.refresh().await }.boxed().shared();
        state.refresh = Some(refresh.clone());
        refresh
    }

    async fn refresh(&self) -> Result<Arc<Credentials>, CredentialError> {
        tracing::debug!(mode = %self.provider.mode(), "fetching Google credentials");
        let result = self.provider.fetch_credentials().await.map(Arc::new);

        let mut state = self.lock();
        state.refresh = None;
        match &result {
            Ok(credentials) => {
                let cached = Cached::new(Arc::clone(credentials), Instant::now());
                if !cached.is_usable(Instant::now()) {
                    tracing::warn!(
                        "the credential source returned a token that expires within a minute"
                    );
                }
                state.current = Some(cached);
                state.last_error = None;
            }
            Err(error) => {
                tracing::warn!(cause = %error, "fetching Google credentials failed");
                state.last_error = Some(error.clone());
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::models::AuthMode;
    use crate::domain::ports::MockCredentialProvider;
    use chrono::TimeDelta;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A provider that counts calls, waits a little (so callers pile up), and hands out
    /// numbered tokens valid for `lifetime`, or fails while `failing` is set.
    struct CountingProvider {
        calls: AtomicUsize,
        lifetime: TimeDelta,
        failing: std::sync::atomic::AtomicBool,
    }

    impl CountingProvider {
        fn new(lifetime_seconds: i64) -> Arc<Self> {
            Arc::new(Self {
                calls: AtomicUsize::new(0),
                lifetime: TimeDelta::seconds(lifetime_seconds),
                failing: false.into(),
            })
        }

        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    #[async_trait::async_trait]
    impl CredentialProvider for CountingProvider {
        fn mode(&self) -> AuthMode {
            AuthMode::OmaBackend
        }

        async fn fetch_credentials(&self) -> Result<Credentials, CredentialError> {
            let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
            if self.failing.load(Ordering::SeqCst) {
                return Err(CredentialError::Unavailable(
                    "the OMA Backend is down".to_owned(),
                ));
            }
            Ok(Credentials {
                expires_at: Some(Utc::now() + self.lifetime),
                ..Credentials::bearer(AccessToken::new(format!("token-{call}")))
            })
        }

        async fn status(&self) -> Result<crate::domain::models::ProviderStatus, CredentialError> {
            unreachable!("the cache never asks for status")
        }
    }

    async fn get_concurrently(
        cache: &Arc<CredentialCache>,
        callers: usize,
    ) -> Vec<Result<Arc<Credentials>, CredentialError>> {
        let tasks: Vec<_> = (0..callers)
            .map(|_| {
                let cache = Arc::clone(cache);
                tokio::spawn(async move { cache.get().await })
            })
            .collect();
        let mut results = Vec::with_capacity(callers);
        for task in tasks {
            results.push(task.await.expect("caller task panicked"));
        }
        results
    }

    fn token_of(result: &Result<Arc<Credentials>, CredentialError>) -> String {
        result
            .as_ref()
            .expect("expected credentials")
            .access_token
            .expose_secret()
            .to_owned()
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_fetch() {
        let provider = CountingProvider::new(3600);
        let cache = Arc::new(CredentialCache::new(provider.clone()));

        let results = get_concurrently(&cache, 150).await;

        assert_eq!(
            provider.calls(),
            1,
            "expected one provider call for 150 callers"
        );
        assert!(results.iter().all(|result| token_of(result) == "token-1"));
    }

    #[tokio::test(start_paused = true)]
    async fn cached_token_served_without_fetch() {
        let provider = CountingProvider::new(3600);
        let cache = CredentialCache::new(provider.clone());

        for _ in 0..1000 {
            cache.get().await.unwrap();
        }
        tokio::time::advance(Duration::from_secs(3000)).await;
        cache.get().await.unwrap();

        assert_eq!(provider.calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn expired_token_refetched_once_for_many_callers() {
        let provider = CountingProvider::new(3600);
        let cache = Arc::new(CredentialCache::new(provider.clone()));
        cache.get().await.unwrap();

        tokio::time::advance(Duration::from_secs(3600)).await;
        let results = get_concurrently(&cache, 120).await;

        assert_eq!(provider.calls(), 2, "expected one refresh for 120 callers");
        assert!(results.iter().all(|result| token_of(result) == "token-2"));
    }

    #[tokio::test(start_paused = true)]
    async fn refreshes_ahead_while_old_token_serves() {
        let provider = CountingProvider::new(3600);
        let cache = Arc::new(CredentialCache::new(provider.clone()));
        cache.get().await.unwrap();

        // Inside the refresh window, but still usable.
        tokio::time::advance(Duration::from_secs(3600 - 200)).await;
        let results = get_concurrently(&cache, 100).await;

        assert_eq!(provider.calls(), 2);
        let old = results
            .iter()
            .filter(|result| token_of(result) == "token-1")
            .count();
        let new = results
            .iter()
            .filter(|result| token_of(result) == "token-2")
            .count();
        assert_eq!(old + new, 100, "every caller got a token");
        assert!(new >= 1, "the caller that refreshed got the new token");
        assert_eq!(token_of(&cache.get().await), "token-2");
    }

    #[tokio::test(start_paused = true)]
    async fn failure_reaches_every_waiter_then_retries() {
        let provider = CountingProvider::new(3600);
        provider.failing.store(true, Ordering::SeqCst);
        let cache = Arc::new(CredentialCache::new(provider.clone()));

        let results = get_concurrently(&cache, 100).await;
        assert_eq!(
            provider.calls(),
            1,
            "expected one provider call for 100 callers"
        );
        for result in &results {
            let error = result.as_ref().expect_err("expected the provider's error");
            assert_eq!(
                error,
                &CredentialError::Unavailable("the OMA Backend is down".to_owned())
            );
        }
        assert!(cache.last_error().is_some());

        provider.failing.store(false, Ordering::SeqCst);
        assert_eq!(token_of(&cache.get().await), "token-2");
        assert_eq!(provider.calls(), 2, "the call after a failure tries again");
        assert!(cache.last_error().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn failed_refresh_ahead_keeps_usable_token() {
        let provider = CountingProvider::new(3600);
        let cache = CredentialCache::new(provider.clone());
        cache.get().await.unwrap();

        provider.failing.store(true, Ordering::SeqCst);
        tokio::time::advance(Duration::from_secs(3600 - 200)).await;

        assert_eq!(token_of(&cache.get().await), "token-1");
        assert_eq!(provider.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn invalidate_forces_fetch() {
        let provider = CountingProvider::new(3600);
        let cache = CredentialCache::new(provider.clone());
        let first = cache.get().await.unwrap();

        cache.invalidate(&AccessToken::new("some-other-token"));
        assert_eq!(
            token_of(&cache.get().await),
            "token-1",
            "a stale rejection is ignored"
        );

        cache.invalidate(&first.access_token);
        assert_eq!(token_of(&cache.get().await), "token-2");
    }

    #[tokio::test(start_paused = true)]
    async fn short_lived_tokens_refresh_at_half_life() {
        let provider = CountingProvider::new(120);
        let cache = CredentialCache::new(provider.clone());
        cache.get().await.unwrap();

        tokio::time::advance(Duration::from_secs(30)).await;
        cache.get().await.unwrap();
        assert_eq!(
            provider.calls(),
            1,
            "a two-minute token serves for its first half"
        );

        tokio::time::advance(Duration::from_secs(40)).await;
        cache.get().await.unwrap();
        assert_eq!(provider.calls(), 2);
    }

    #[tokio::test]
    async fn unknown_expiry_served_until_invalidated() {
        let mut provider = MockCredentialProvider::new();
        provider.expect_mode().return_const(AuthMode::LocalFile);
        provider
            .expect_fetch_credentials()
            .times(1)
            .returning(|| Ok(Credentials::bearer(AccessToken::new("no-expiry"))));
        let cache = CredentialCache::new(Arc::new(provider));

        for _ in 0..10 {
            assert_eq!(token_of(&cache.get().await), "no-expiry");
        }
    }
}

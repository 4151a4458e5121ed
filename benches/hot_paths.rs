//! Benchmarks of the hub's own hot paths, with Google and OMA mocked out: the credential
//! cache (a hit, and a first fetch that many callers wait on at once), and turning a Gmail
//! message into text.
//!
//! Run with `cargo bench --bench hot_paths`.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{TimeDelta, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use mcp_google_hub::CredentialCache;
use mcp_google_hub::domain::errors::CredentialError;
use mcp_google_hub::domain::mail_content::{self, encode_base64url};
use mcp_google_hub::domain::models::gmail::{MessagePart, MessagePartBody};
use mcp_google_hub::domain::models::{AccessToken, AuthMode, Credentials, ProviderStatus};
use mcp_google_hub::domain::ports::CredentialProvider;

/// Hands out a token valid for an hour, instantly.
struct InstantProvider;

#[async_trait]
impl CredentialProvider for InstantProvider {
    fn mode(&self) -> AuthMode {
        AuthMode::OmaBackend
    }

    async fn fetch_credentials(&self) -> Result<Credentials, CredentialError> {
        Ok(Credentials {
            expires_at: Some(Utc::now() + TimeDelta::hours(1)),
            ..Credentials::bearer(AccessToken::new("bench-token"))
        })
    }

    async fn status(&self) -> Result<ProviderStatus, CredentialError> {
        Ok(ProviderStatus::default())
    }
}

fn credential_cache(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cache = CredentialCache::new(Arc::new(InstantProvider));
    runtime.block_on(cache.get()).unwrap();

    c.bench_function("credential cache hit", |b| {
        b.to_async(&runtime).iter(|| cache.get())
    });
}

/// How many callers find the cache empty at once in the contended benchmark.
const CONTENDING_CALLERS: usize = 64;

/// A fresh cache per iteration, so every iteration is one refresh that all the callers
/// share: the figure is the cost of that single flight for 64 callers on two workers.
fn contended_refresh(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    c.bench_function("credential cache first fetch, 64 callers", |b| {
        b.to_async(&runtime).iter(|| async {
            let cache = Arc::new(CredentialCache::new(Arc::new(InstantProvider)));
            let callers: Vec<_> = (0..CONTENDING_CALLERS)
                .map(|_| {
                    let cache = Arc::clone(&cache);
                    tokio::spawn(async move { cache.get().await })
                })
                .collect();
            for caller in callers {
                caller.await.unwrap().unwrap();
            }
        })
    });
}

fn message_to_text(c: &mut Criterion) {
    let html = "<html><body>".to_owned()
        + &"<p>Quarterly numbers are <b>up</b> &amp; costs are down.</p>".repeat(200)
        + "</body></html>";
    let part = |part_id: &str, mime_type: &str, text: &str| MessagePart {
        part_id: part_id.to_owned(),
        mime_type: mime_type.to_owned(),
        body: Some(MessagePartBody {
            size: text.len() as i64,
            data: Some(encode_base64url(text.as_bytes())),
            attachment_id: None,
        }),
        ..MessagePart::default()
    };
    let html_only = part("", "text/html", &html);
    let plain = MessagePart {
        mime_type: "multipart/alternative".to_owned(),
        parts: vec![
            part(
                "0",
                "text/plain",
                &"Quarterly numbers are up.\n".repeat(400),
            ),
            part("1", "text/html", &html),
        ],
        ..MessagePart::default()
    };

    c.bench_function("extract html-only body (12 KB)", |b| {
        b.iter(|| mail_content::extract(&html_only))
    });
    c.bench_function("extract plain alternative (10 KB)", |b| {
        b.iter(|| mail_content::extract(&plain))
    });
}

criterion_group!(
    benches,
    credential_cache,
    contended_refresh,
    message_to_text
);
criterion_main!(benches);

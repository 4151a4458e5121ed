//! The requests every Gmail and Calendar method makes: headers, size limit, error
//! mapping, parsing, retries and one debug log line per attempt.

use std::time::Instant;

use chrono::Utc;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use url::Url;

use super::error::{ERROR_BODY_LIMIT, body_error, error_from_status, parse_success, retry_after};
use crate::domain::errors::GoogleApiError;
use crate::domain::models::AccessToken;
use crate::outbound::http::{describe_error, read_body_limited};
use crate::outbound::retry::{self, Decision, Failed, GaveUp, RetryPolicy};

/// The rate-limit reasons worth a retry within one call. `quotaExceeded` and
/// `dailyLimitExceeded` are not among them: those quotas recover in hours, not seconds.
const RETRYABLE_RATE_LIMIT_REASONS: [&str; 3] = [
    "rateLimitExceeded",
    "userRateLimitExceeded",
    "RESOURCE_EXHAUSTED",
];

/// The largest JSON body read for a list or a single calendar resource. By estimate, even a
/// full page of 2500 events with long descriptions and attendee lists stays in the low
/// megabytes. The limit leaves room for that and still bounds what a faulty server can send.
pub(super) const RESOURCE_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Query parameters in the order they are sent. Repeated names are allowed, because Google
/// takes a list such as `labelIds` as one parameter per value.
#[derive(Debug, Default)]
pub(super) struct Query(Vec<(&'static str, String)>);

impl Query {
    pub(super) fn push(&mut self, name: &'static str, value: impl Into<String>) {
        self.0.push((name, value.into()));
    }

    pub(super) fn push_some(&mut self, name: &'static str, value: Option<&str>) {
        if let Some(value) = value {
            self.push(name, value);
        }
    }

    /// Appends the parameters to `url`, leaving it without a `?` when there are none.
    fn apply_to(&self, url: &mut Url) {
        if self.0.is_empty() {
            return;
        }
        let mut pairs = url.query_pairs_mut();
        for (name, value) in &self.0 {
            pairs.append_pair(name, value);
        }
    }
}

/// One authorized GET that returns JSON.
pub(super) struct Call<'a> {
    /// The discovery method id, such as `gmail.users.messages.get`, for logs and errors.
    pub(super) method: &'static str,
    pub(super) url: Url,
    pub(super) query: Query,
    pub(super) token: &'a AccessToken,
    /// The maximum number of bytes read from a success body.
    pub(super) body_limit: usize,
}

/// Sends a call under `policy` and parses its JSON response into `T`.
///
/// 5xx statuses, transport failures, 429 and the short-term rate-limit reasons are retried
/// (see [`is_worth_retrying`]); every other error returns at once.
///
/// Logs one debug line per attempt with the method, status and latency. The URL is never
/// logged, because its path and query carry ids and search terms.
///
/// # Errors
///
/// Google's error statuses as [`error_from_status`] maps them, [`GoogleApiError::Unavailable`]
/// for transport failures and for a call that passed the policy's deadline, and
/// [`GoogleApiError::InvalidResponse`] for a body over the limit or one that does not parse.
pub(super) async fn get_json<T: DeserializeOwned>(
    http: &reqwest::Client,
    policy: &RetryPolicy,
    call: Call<'_>,
) -> Result<T, GoogleApiError> {
    let outcome = retry::run(
        policy,
        call.method,
        |_| attempt(http, &call),
        is_worth_retrying,
    )
    .await;

    outcome.map_err(|failed| deadline_error(failed, policy))
}

/// Decides whether a Google error can go away within one call.
pub(super) fn is_worth_retrying(error: &GoogleApiError) -> Decision {
    match error {
        GoogleApiError::Unavailable { .. } => Decision::Retry { retry_after: None },
        GoogleApiError::RateLimited {
            reason,
            retry_after,
            ..
        } if reason
            .as_deref()
            .is_none_or(|reason| RETRYABLE_RATE_LIMIT_REASONS.contains(&reason)) =>
        {
            Decision::Retry {
                retry_after: *retry_after,
            }
        }
        _ => Decision::Stop,
    }
}

fn deadline_error(failed: Failed<GoogleApiError>, policy: &RetryPolicy) -> GoogleApiError {
    match (failed.reason, failed.last_error) {
        (GaveUp::Deadline, _) | (_, None) => GoogleApiError::Unavailable {
            message: format!(
                "Google did not answer within the hub's limit of {} s for one call ({} attempts)",
                policy.deadline.as_secs_f64(),
                failed.attempts
            ),
        },
        (_, Some(error)) => error,
    }
}

/// A request that changes something at Google, or sends a JSON body: POST, PUT, PATCH or
/// DELETE.
pub(super) struct WriteCall<'a> {
    /// The discovery method id, such as `gmail.users.messages.send`, for logs and errors.
    pub(super) method: &'static str,
    pub(super) verb: Method,
    pub(super) url: Url,
    pub(super) query: Query,
    pub(super) token: &'a AccessToken,
    /// The JSON request body, already serialized.
    pub(super) body: Option<Vec<u8>>,
    /// The maximum number of bytes read from a success body.
    pub(super) body_limit: usize,
    pub(super) resend: Resend,
    /// Recognizes the errors that, on a repeated attempt, mean an earlier attempt whose
    /// response was lost did the work: a 409 for an insert with an id chosen by the hub, a
    /// 410 for a delete. `None` when no error means that.
    pub(super) done_earlier: Option<fn(&GoogleApiError) -> bool>,
}

/// When a failed write may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Resend {
    /// As reads are retried. For calls whose repetition does no harm: setting the same
    /// labels twice, trashing twice, a second label create that Google rejects as a
    /// duplicate, patching an event twice, or inserting an event with a chosen id.
    AsReads,
    /// Only when Google certainly did not act on the request: no connection was made, or
    /// Google answered with a rate limit. Sending mail is such a call. After a timeout or a
    /// 5xx the request may have reached Google and the mail gone out, so a second attempt
    /// could deliver it twice; the caller gets the error instead and can check the SENT label.
    OnlyUnsent,
}

/// Sends a write under `policy` and parses its JSON response into `T`.
///
/// # Errors
///
/// As [`get_json`]; with [`Resend::OnlyUnsent`] a timeout or 5xx returns at once as
/// [`GoogleApiError::Unavailable`].
pub(super) async fn write_json<T: DeserializeOwned>(
    http: &reqwest::Client,
    policy: &RetryPolicy,
    call: WriteCall<'_>,
) -> Result<T, GoogleApiError> {
    let body = write(http, policy, &call).await?;
    parse_success(call.method, &body.unwrap_or_default())
}

/// Sends a write whose success response has no body, such as `drafts.delete`.
///
/// # Errors
///
/// As [`write_json`], except that a success body is never parsed.
pub(super) async fn write_no_content(
    http: &reqwest::Client,
    policy: &RetryPolicy,
    call: WriteCall<'_>,
) -> Result<(), GoogleApiError> {
    write(http, policy, &call).await.map(drop)
}

/// Sends a write under `policy` and returns its success body, or `None` when a repeated
/// attempt found the work done by an earlier one (see [`WriteCall::done_earlier`]).
///
/// # Errors
///
/// As [`write_json`].
pub(super) async fn write(
    http: &reqwest::Client,
    policy: &RetryPolicy,
    call: &WriteCall<'_>,
) -> Result<Option<Vec<u8>>, GoogleApiError> {
    let mut url = call.url.clone();
    call.query.apply_to(&mut url);
    let request = || {
        let request = http
            .request(call.verb.clone(), url.clone())
            .bearer_auth(call.token.expose_secret())
            .header(ACCEPT, "application/json");
        match &call.body {
            Some(body) => request
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone()),
            None => request,
        }
    };
    let classify = |failure: &AttemptFailure| match call.resend {
        Resend::AsReads => is_worth_retrying(&failure.error),
        Resend::OnlyUnsent if failure.unsent => Decision::Retry { retry_after: None },
        Resend::OnlyUnsent => match &failure.error {
            GoogleApiError::RateLimited { .. } => is_worth_retrying(&failure.error),
            _ => Decision::Stop,
        },
    };

    let outcome = retry::run(
        policy,
        call.method,
        |attempt| async move {
            match timed(call.method, call.token, request(), call.body_limit).await {
                Ok(body) => Ok(Some(body)),
                Err(failure)
                    if attempt > 1
                        && call.done_earlier.is_some_and(|done| done(&failure.error)) =>
                {
                    tracing::info!(
                        method = call.method,
                        attempt,
                        error = %failure.error,
                        "a repeated request found its work done by an earlier attempt"
                    );
                    Ok(None)
                }
                Err(failure) => Err(failure),
            }
        },
        classify,
    )
    .await;

    outcome.map_err(|failed| {
        let Failed {
            last_error,
            attempts,
            reason,
        } = failed;
        deadline_error(
            Failed {
                last_error: last_error.map(|failure| failure.error),
                attempts,
                reason,
            },
            policy,
        )
    })
}

/// A failed attempt, and whether the request certainly never left the hub.
struct AttemptFailure {
    error: GoogleApiError,
    /// The connection could not be made, so Google never saw the request.
    unsent: bool,
}

impl std::fmt::Display for AttemptFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

async fn attempt<T: DeserializeOwned>(
    http: &reqwest::Client,
    call: &Call<'_>,
) -> Result<T, GoogleApiError> {
    let mut url = call.url.clone();
    call.query.apply_to(&mut url);
    let request = http
        .get(url)
        .bearer_auth(call.token.expose_secret())
        .header(ACCEPT, "application/json");

    let body = timed(call.method, call.token, request, call.body_limit)
        .await
        .map_err(|failure| failure.error)?;
    parse_success(call.method, &body)
}

/// Sends one request and reads its success body, logging the method, status and latency.
async fn timed(
    method: &'static str,
    token: &AccessToken,
    request: RequestBuilder,
    body_limit: usize,
) -> Result<Vec<u8>, AttemptFailure> {
    let started = Instant::now();
    let mut status = None;

    // Google's messages do not quote tokens, but a proxy in between might.
    let result = exchange(method, request, body_limit, &mut status)
        .await
        .map_err(|failure| AttemptFailure {
            error: failure.error.redact(token.expose_secret()),
            unsent: failure.unsent,
        });

    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let status = status.map(|status| status.as_u16());
    match &result {
        Ok(_) => tracing::debug!(method, status, elapsed_ms, "Google API call succeeded"),
        Err(failure) => {
            tracing::debug!(method, status, elapsed_ms, error = %failure.error, "Google API call failed")
        }
    }
    result
}

async fn exchange(
    method: &'static str,
    request: RequestBuilder,
    body_limit: usize,
    status_seen: &mut Option<StatusCode>,
) -> Result<Vec<u8>, AttemptFailure> {
    let response = request.send().await.map_err(|error| AttemptFailure {
        unsent: error.is_connect(),
        error: GoogleApiError::Unavailable {
            message: describe_error(&error),
        },
    })?;
    let sent = |error| AttemptFailure {
        error,
        unsent: false,
    };

    let status = response.status();
    *status_seen = Some(status);

    if !status.is_success() {
        let retry_after = retry_after(response.headers(), Utc::now());
        // An unreadable or oversized error body leaves the status alone to decide.
        let body = read_body_limited(response, ERROR_BODY_LIMIT)
            .await
            .unwrap_or_default();
        return Err(sent(error_from_status(status, retry_after, &body)));
    }

    read_body_limited(response, body_limit)
        .await
        .map_err(|error| sent(body_error(method, error)))
}

//! The Calendar v3 client behind [`CalendarApi`].

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};

use super::endpoints::{GoogleEndpoints, ServiceBase, id_segment};
use super::error::parse_success;
use super::transport::{
    BodyCall, Call, Query, RESOURCE_BODY_LIMIT, finish_retries, get_json, is_worth_retrying,
    send_body_once,
};
use crate::domain::errors::GoogleApiError;
use crate::domain::models::calendar::{
    CalendarList, Event, EventListQuery, EventWrite, Events, FreeBusyRequest, FreeBusyResponse,
    SendUpdates,
};
use crate::domain::models::{AccessToken, CalendarId, EventId};
use crate::domain::ports::CalendarApi;
use crate::outbound::retry::{self, Decision, RetryPolicy};

/// A Calendar v3 REST client acting as the token's user.
///
/// Cheap to clone: the [`reqwest::Client`] inside shares one connection pool. `Debug`
/// shows the base URL only, and tokens are passed per call, never stored.
#[derive(Debug, Clone)]
pub struct CalendarClient {
    http: reqwest::Client,
    base: ServiceBase,
    retry: RetryPolicy,
}

impl CalendarClient {
    /// Creates a client that sends its requests through `http` to the Calendar root of `endpoints`.
    pub fn new(http: reqwest::Client, endpoints: &GoogleEndpoints) -> Self {
        Self {
            http,
            base: endpoints.calendar().clone(),
            retry: RetryPolicy::DEFAULT,
        }
    }

    /// Replaces the retry policy ([`RetryPolicy::DEFAULT`] unless set).
    #[must_use]
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        method: &'static str,
        segments: &[&str],
        query: Query,
        token: &AccessToken,
    ) -> Result<T, GoogleApiError> {
        let url = self.base.url(segments)?;
        let call = Call {
            method,
            url,
            query,
            token,
            body_limit: RESOURCE_BODY_LIMIT,
        };
        get_json(&self.http, &self.retry, call).await
    }
}

/// The retry rule of a write request after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    /// Repeating it has the effect of sending it once (patch, delete, freebusy.query), or
    /// Google rejects the copy (an insert with a client-chosen id).
    Safe,
    /// A second copy could create a second event: only failures that Google reports
    /// before acting on the request (rate limits) are retried.
    OnlyIfRejected,
}

impl CalendarClient {
    /// Sends a request with a JSON body under the retry policy and returns the success
    /// body. `on_repeat_error` may turn the error of a repeated attempt into a success, as
    /// a 409 on a repeated insert means that an earlier attempt succeeded.
    async fn send(
        &self,
        call: BodyCall<'_>,
        repeat: Repeat,
        on_repeat_error: impl Fn(&GoogleApiError) -> bool,
    ) -> Result<Option<Vec<u8>>, GoogleApiError> {
        let classify = |error: &GoogleApiError| match (repeat, error) {
            (Repeat::OnlyIfRejected, GoogleApiError::Unavailable { .. }) => Decision::Stop,
            _ => is_worth_retrying(error),
        };
        let call = &call;
        let on_repeat_error = &on_repeat_error;
        let outcome = retry::run(
            &self.retry,
            call.method,
            |attempt| async move {
                match send_body_once(&self.http, call).await {
                    Ok(body) => Ok(Some(body)),
                    Err(error) if attempt > 1 && on_repeat_error(&error) => {
                        tracing::info!(
                            method = call.method,
                            attempt,
                            %error,
                            "a repeated request found its work done by an earlier attempt"
                        );
                        Ok(None)
                    }
                    Err(error) => Err(error),
                }
            },
            classify,
        )
        .await;
        finish_retries(outcome, &self.retry)
    }

    fn body_call<'a>(
        &self,
        method: &'static str,
        http_method: reqwest::Method,
        segments: &[&str],
        query: Query,
        token: &'a AccessToken,
        body: Option<Vec<u8>>,
    ) -> Result<BodyCall<'a>, GoogleApiError> {
        Ok(BodyCall {
            method,
            http_method,
            url: self.base.url(segments)?,
            query,
            token,
            body,
            body_limit: RESOURCE_BODY_LIMIT,
        })
    }
}

fn json_body(method: &str, value: &impl serde::Serialize) -> Result<Vec<u8>, GoogleApiError> {
    serde_json::to_vec(value).map_err(|error| GoogleApiError::InvalidResponse {
        message: format!("the {method} request body could not be serialized: {error}"),
    })
}

fn send_updates_query(send_updates: SendUpdates) -> Query {
    // Always sent, so the choice never depends on a default Google may change.
    let mut query = Query::default();
    query.push("sendUpdates", send_updates.as_str());
    query
}

/// Formats an instant as RFC 3339 in UTC with a `Z`, as `timeMin` and `timeMax` require.
/// Fractional seconds are kept only when present.
fn rfc3339_utc(instant: &DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

#[async_trait]
impl CalendarApi for CalendarClient {
    async fn list_calendars(
        &self,
        token: &AccessToken,
        page_token: Option<String>,
    ) -> Result<CalendarList, GoogleApiError> {
        let mut query = Query::default();
        query.push_some("pageToken", page_token.as_deref());

        self.get(
            "calendar.calendarList.list",
            &["users", "me", "calendarList"],
            query,
            token,
        )
        .await
    }

    async fn list_events(
        &self,
        token: &AccessToken,
        list: &EventListQuery,
    ) -> Result<Events, GoogleApiError> {
        let calendar_id = id_segment("calendar", list.calendar_id.as_str())?;

        // Recurring events are always expanded into occurrences, because the tools report
        // what happens in a time range. Google accepts `orderBy=startTime` only with them expanded.
        let mut query = Query::default();
        query.push("singleEvents", "true");
        query.push("orderBy", "startTime");
        query.push_some(
            "timeMin",
            list.time_min.as_ref().map(rfc3339_utc).as_deref(),
        );
        query.push_some(
            "timeMax",
            list.time_max.as_ref().map(rfc3339_utc).as_deref(),
        );
        query.push_some(
            "q",
            list.query.as_deref().filter(|text| !text.trim().is_empty()),
        );
        // Zero means "not set": Calendar then uses its default page size of 250.
        if list.max_results > 0 {
            query.push("maxResults", list.max_results.to_string());
        }
        query.push_some("pageToken", list.page_token.as_deref());
        query.push_some("timeZone", list.time_zone.as_deref());

        self.get(
            "calendar.events.list",
            &["calendars", calendar_id, "events"],
            query,
            token,
        )
        .await
    }

    async fn get_event(
        &self,
        token: &AccessToken,
        calendar_id: &CalendarId,
        event_id: &EventId,
    ) -> Result<Event, GoogleApiError> {
        let calendar_id = id_segment("calendar", calendar_id.as_str())?;
        let event_id = id_segment("event", event_id.as_str())?;
        let segments = ["calendars", calendar_id, "events", event_id];

        self.get("calendar.events.get", &segments, Query::default(), token)
            .await
    }

    async fn insert_event(
        &self,
        token: &AccessToken,
        calendar_id: &CalendarId,
        event: &EventWrite,
        send_updates: SendUpdates,
    ) -> Result<Event, GoogleApiError> {
        const METHOD: &str = "calendar.events.insert";
        let calendar_segment = id_segment("calendar", calendar_id.as_str())?;
        let call = self.body_call(
            METHOD,
            reqwest::Method::POST,
            &["calendars", calendar_segment, "events"],
            send_updates_query(send_updates),
            token,
            Some(json_body(METHOD, event)?),
        )?;
        let repeat = if event.id.is_some() {
            Repeat::Safe
        } else {
            Repeat::OnlyIfRejected
        };
        // 409: Google already stores an event with this id, created by an earlier attempt
        // whose response was lost.
        let duplicate = |error: &GoogleApiError| {
            matches!(error, GoogleApiError::InvalidRequest { status: 409, .. })
        };

        match self.send(call, repeat, duplicate).await? {
            Some(body) => parse_success(METHOD, &body),
            None => {
                let id = event.id.as_deref().unwrap_or_default();
                let event_id =
                    EventId::new(id).map_err(|error| GoogleApiError::InvalidResponse {
                        message: format!(
                            "{METHOD} was repeated for an event id that is not valid: {error}"
                        ),
                    })?;
                self.get_event(token, calendar_id, &event_id).await
            }
        }
    }

    async fn patch_event(
        &self,
        token: &AccessToken,
        calendar_id: &CalendarId,
        event_id: &EventId,
        patch: &EventWrite,
        send_updates: SendUpdates,
    ) -> Result<Event, GoogleApiError> {
        const METHOD: &str = "calendar.events.patch";
        let calendar_segment = id_segment("calendar", calendar_id.as_str())?;
        let event_segment = id_segment("event", event_id.as_str())?;
        let call = self.body_call(
            METHOD,
            reqwest::Method::PATCH,
            &["calendars", calendar_segment, "events", event_segment],
            send_updates_query(send_updates),
            token,
            Some(json_body(METHOD, patch)?),
        )?;

        let body = self.send(call, Repeat::Safe, |_| false).await?;
        parse_success(METHOD, &body.unwrap_or_default())
    }

    async fn delete_event(
        &self,
        token: &AccessToken,
        calendar_id: &CalendarId,
        event_id: &EventId,
        send_updates: SendUpdates,
    ) -> Result<(), GoogleApiError> {
        const METHOD: &str = "calendar.events.delete";
        let calendar_segment = id_segment("calendar", calendar_id.as_str())?;
        let event_segment = id_segment("event", event_id.as_str())?;
        let call = self.body_call(
            METHOD,
            reqwest::Method::DELETE,
            &["calendars", calendar_segment, "events", event_segment],
            send_updates_query(send_updates),
            token,
            None,
        )?;
        // 410 "Resource has been deleted" (or 404) on a repeat: an earlier attempt deleted it.
        let gone = |error: &GoogleApiError| {
            matches!(
                error,
                GoogleApiError::InvalidRequest { status: 410, .. }
                    | GoogleApiError::NotFound { .. }
            )
        };

        self.send(call, Repeat::Safe, gone).await.map(drop)
    }

    async fn query_freebusy(
        &self,
        token: &AccessToken,
        request: &FreeBusyRequest,
    ) -> Result<FreeBusyResponse, GoogleApiError> {
        const METHOD: &str = "calendar.freebusy.query";
        let call = self.body_call(
            METHOD,
            reqwest::Method::POST,
            &["freeBusy"],
            Query::default(),
            token,
            Some(json_body(METHOD, request)?),
        )?;

        let body = self.send(call, Repeat::Safe, |_| false).await?;
        parse_success(METHOD, &body.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_bounds_use_z() {
        let instant = DateTime::parse_from_rfc3339("2024-03-10T09:30:00+02:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(rfc3339_utc(&instant), "2024-03-10T07:30:00Z");

        let precise = DateTime::parse_from_rfc3339("2024-03-10T07:30:00.250Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(rfc3339_utc(&precise), "2024-03-10T07:30:00.250Z");
    }
}

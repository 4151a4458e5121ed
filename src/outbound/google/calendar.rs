//! The Calendar v3 client behind [`CalendarApi`].

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};

use super::endpoints::{GoogleEndpoints, ServiceBase, id_segment};
use super::error::parse_success;
use super::transport::{
    Call, Query, RESOURCE_BODY_LIMIT, Resend, WriteCall, get_json, write, write_json,
};
use crate::domain::errors::GoogleApiError;
use crate::domain::models::calendar::{
    CalendarList, Event, EventListQuery, EventWrite, Events, FreeBusyRequest, FreeBusyResponse,
    SendUpdates,
};
use crate::domain::models::{AccessToken, CalendarId, EventId};
use crate::domain::ports::CalendarApi;
use crate::outbound::retry::RetryPolicy;

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

impl CalendarClient {
    /// Builds a write request that is repeated as reads are; callers change `resend` and
    /// `done_earlier` where a repeat needs more care.
    fn write_call<'a>(
        &self,
        method: &'static str,
        verb: reqwest::Method,
        segments: &[&str],
        query: Query,
        token: &'a AccessToken,
        body: Option<Vec<u8>>,
    ) -> Result<WriteCall<'a>, GoogleApiError> {
        Ok(WriteCall {
            method,
            verb,
            url: self.base.url(segments)?,
            query,
            token,
            body,
            body_limit: RESOURCE_BODY_LIMIT,
            resend: Resend::AsReads,
            done_earlier: None,
        })
    }
}

/// 409 on a repeated insert: Google already stores an event with this id, created by an
/// earlier attempt whose response was lost.
fn is_duplicate(error: &GoogleApiError) -> bool {
    matches!(error, GoogleApiError::InvalidRequest { status: 409, .. })
}

/// 410 "Resource has been deleted" (or 404) on a repeated delete: an earlier attempt
/// deleted the event.
fn is_gone(error: &GoogleApiError) -> bool {
    matches!(
        error,
        GoogleApiError::InvalidRequest { status: 410, .. } | GoogleApiError::NotFound { .. }
    )
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
        let mut call = self.write_call(
            METHOD,
            reqwest::Method::POST,
            &["calendars", calendar_segment, "events"],
            send_updates_query(send_updates),
            token,
            Some(json_body(METHOD, event)?),
        )?;
        // With an id chosen by the hub a repeated insert is safe, because Google rejects
        // the copy; without one, a repeat after a timeout could create a second event.
        if event.id.is_some() {
            call.done_earlier = Some(is_duplicate);
        } else {
            call.resend = Resend::OnlyUnsent;
        }

        match write(&self.http, &self.retry, &call).await? {
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
        let call = self.write_call(
            METHOD,
            reqwest::Method::PATCH,
            &["calendars", calendar_segment, "events", event_segment],
            send_updates_query(send_updates),
            token,
            Some(json_body(METHOD, patch)?),
        )?;

        write_json(&self.http, &self.retry, call).await
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
        let mut call = self.write_call(
            METHOD,
            reqwest::Method::DELETE,
            &["calendars", calendar_segment, "events", event_segment],
            send_updates_query(send_updates),
            token,
            None,
        )?;
        call.done_earlier = Some(is_gone);

        write(&self.http, &self.retry, &call).await.map(drop)
    }

    async fn query_freebusy(
        &self,
        token: &AccessToken,
        request: &FreeBusyRequest,
    ) -> Result<FreeBusyResponse, GoogleApiError> {
        const METHOD: &str = "calendar.freebusy.query";
        let call = self.write_call(
            METHOD,
            reqwest::Method::POST,
            &["freeBusy"],
            Query::default(),
            token,
            Some(json_body(METHOD, request)?),
        )?;

        write_json(&self.http, &self.retry, call).await
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

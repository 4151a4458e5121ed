//! `calendar_list_calendars`, `calendar_list_events` and `calendar_get_event`.

use async_trait::async_trait;
use chrono::{TimeDelta, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{parse_time_bound, parse_zone, render_span, show_boundary};
use crate::domain::access::{CalendarAccess, RequiredAccess};
use crate::domain::mail_content::html_to_text;
use crate::domain::models::calendar::{Event, EventListQuery};
use crate::domain::models::{CalendarId, EventId, InvalidId};
use crate::domain::tools::definition::{
    MAX_QUERY_CHARS, MAX_TOKEN_CHARS, Validate, check_length, check_range,
};
use crate::domain::tools::text::shorten;
use crate::domain::tools::{Render, Tool, ToolAnnotations, ToolContext, ToolError, cut_chars};

/// Events per page when the model gives none.
const DEFAULT_MAX_EVENTS: u32 = 25;
/// The largest page of events.
const MAX_MAX_EVENTS: u32 = 250;
/// The window listed when the model gives no end, in days.
const DEFAULT_WINDOW_DAYS: i64 = 7;
/// The description budget of `calendar_get_event`, in characters.
const DESCRIPTION_MAX_CHARS: usize = 4_000;
/// The description budget per event in a list, in characters.
const LIST_DESCRIPTION_CHARS: usize = 160;

pub(super) fn invalid(
    tool: &'static str,
    field: &str,
    reason: impl std::fmt::Display,
) -> ToolError {
    ToolError::InvalidArguments {
        tool,
        message: format!("field `{field}`: {reason}"),
    }
}

pub(super) fn calendar_id(
    tool: &'static str,
    value: Option<String>,
) -> Result<CalendarId, ToolError> {
    match value.filter(|id| !id.trim().is_empty()) {
        None => Ok(CalendarId::primary()),
        Some(id) => {
            CalendarId::new(id).map_err(|error: InvalidId| invalid(tool, "calendar_id", error))
        }
    }
}

pub(crate) struct ListCalendars;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListCalendarsArgs {
    /// `next_page_token` of the previous page.
    page_token: Option<String>,
}

impl Validate for ListCalendarsArgs {}

/// The user's calendars.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CalendarListResult {
    calendars: Vec<CalendarSummary>,
    /// Pass as `page_token` for more; absent on the last page.
    next_page_token: Option<String>,
}

/// One calendar.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CalendarSummary {
    /// Pass as `calendar_id` to the event tools.
    id: String,
    summary: String,
    primary: bool,
    /// owner, writer, reader or freeBusyReader.
    access_role: Option<String>,
    /// IANA zone.
    time_zone: Option<String>,
}

#[async_trait]
impl Tool for ListCalendars {
    type Args = ListCalendarsArgs;
    type Output = CalendarListResult;

    const NAME: &'static str = "calendar_list_calendars";
    const TITLE: &'static str = "List calendars";
    const DESCRIPTION: &'static str = "List the user's Google calendars with id, name, whether primary, access role and time zone. Pass an id as calendar_id to the event tools; `primary` always means the user's own.";
    const ANNOTATIONS: ToolAnnotations = ToolAnnotations::READ_ONLY;
    const ACCESS: RequiredAccess = RequiredAccess::Calendar(CalendarAccess::Read);

    async fn run(
        &self,
        context: &ToolContext,
        args: Self::Args,
    ) -> Result<Self::Output, ToolError> {
        let calendar = &context.calendar;
        let page_token = args.page_token.filter(|token| !token.is_empty());
        let page_token = &page_token;
        let list = context
            .with_google(|credentials| async move {
                calendar
                    .list_calendars(&credentials.access_token, page_token.clone())
                    .await
            })
            .await?;

        let calendars = list
            .items
            .into_iter()
            .map(|entry| CalendarSummary {
                summary: entry.summary_override.unwrap_or(entry.summary),
                primary: entry.primary.unwrap_or(false),
                id: entry.id,
                access_role: entry.access_role,
                time_zone: entry.time_zone,
            })
            .collect();
        Ok(CalendarListResult {
            calendars,
            next_page_token: list.next_page_token,
        })
    }
}

impl Render for CalendarListResult {
    fn render_text(&self) -> String {
        let mut out = format!("{} calendar(s):\n", self.calendars.len());
        for calendar in &self.calendars {
            out.push_str(&format!("- {} (id {}", calendar.summary, calendar.id));
            if calendar.primary {
                out.push_str(", primary");
            }
            if let Some(role) = &calendar.access_role {
                out.push_str(&format!(", {role}"));
            }
            if let Some(zone) = &calendar.time_zone {
                out.push_str(&format!(", {zone}"));
            }
            out.push_str(")\n");
        }
        if let Some(token) = &self.next_page_token {
            out.push_str(&format!(
                "More calendars: call again with page_token \"{token}\".\n"
            ));
        }
        out.trim_end().to_owned()
    }
}

pub(crate) struct ListEvents;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListEventsArgs {
    /// Calendar id from calendar_list_calendars; default `primary`.
    calendar_id: Option<String>,
    /// Window start: RFC 3339, local `2025-03-30T09:00` or date `2025-03-30` (local forms in time_zone, else UTC). Default now.
    time_min: Option<String>,
    /// Window end, same forms. Default time_min + 7 days.
    time_max: Option<String>,
    /// Free text matched against title, description, location and attendees.
    query: Option<String>,
    /// Events per page (1-250, default 25).
    #[schemars(range(min = 1, max = 250))]
    max_results: Option<u32>,
    /// `next_page_token` of the previous page.
    page_token: Option<String>,
    /// IANA zone for the result's times, e.g. Europe/Berlin; default the calendar's.
    time_zone: Option<String>,
}

impl Validate for ListEventsArgs {
    fn validate(&self) -> Result<(), (&'static str, String)> {
        check_range("max_results", self.max_results, 1, MAX_MAX_EVENTS)?;
        check_length("query", self.query.as_deref(), MAX_QUERY_CHARS)?;
        check_length("page_token", self.page_token.as_deref(), MAX_TOKEN_CHARS)
    }
}

/// Events in a window, recurring ones expanded, ordered by start.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct EventListResult {
    calendar_id: String,
    /// The zone of the times: the requested one, else the calendar's.
    time_zone: Option<String>,
    #[serde(skip)]
    #[schemars(skip)]
    zone_requested: bool,
    /// The window start, RFC 3339 UTC.
    time_min: String,
    /// The window end, RFC 3339 UTC.
    time_max: String,
    events: Vec<EventSummary>,
    /// Pass as `page_token` for more; absent on the last page.
    next_page_token: Option<String>,
}

/// An event in a list.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct EventSummary {
    /// Pass to calendar_get_event.
    id: String,
    summary: Option<String>,
    /// RFC 3339 with offset, or `yyyy-mm-dd` for all-day events.
    start: String,
    /// Exclusive end: RFC 3339, or the day after the last day for all-day events.
    end: String,
    all_day: bool,
    location: Option<String>,
    /// confirmed, tentative or cancelled.
    status: Option<String>,
    /// The series id when this is an occurrence of a recurring event.
    recurring_event_id: Option<String>,
    #[serde(skip)]
    #[schemars(skip)]
    span: String,
    #[serde(skip)]
    #[schemars(skip)]
    description: Option<String>,
}

impl EventSummary {
    fn of(event: Event) -> Self {
        Self {
            span: render_span(&event.start, &event.end),
            all_day: event.start.date.is_some(),
            start: show_boundary(&event.start),
            end: show_boundary(&event.end),
            description: event.description.as_deref().map(description_text),
            id: event.id,
            summary: event.summary,
            location: event.location,
            status: event.status,
            recurring_event_id: event.recurring_event_id,
        }
    }
}

#[async_trait]
impl Tool for ListEvents {
    type Args = ListEventsArgs;
    type Output = EventListResult;

    const NAME: &'static str = "calendar_list_events";
    const TITLE: &'static str = "List calendar events";
    const DESCRIPTION: &'static str = "List events of a Google calendar in a time window (default: the next 7 days), recurring events expanded into occurrences, ordered by start. All-day events have dates with an exclusive end. Page with next_page_token; details with calendar_get_event.";
    const ANNOTATIONS: ToolAnnotations = ToolAnnotations::READ_ONLY;
    const ACCESS: RequiredAccess = RequiredAccess::Calendar(CalendarAccess::Read);

    async fn run(
        &self,
        context: &ToolContext,
        args: Self::Args,
    ) -> Result<Self::Output, ToolError> {
        let zone = args
            .time_zone
            .as_deref()
            .map(parse_zone)
            .transpose()
            .map_err(|error| invalid(Self::NAME, "time_zone", error))?;
        let time_min = match args.time_min.as_deref() {
            Some(value) => parse_time_bound(value, zone)
                .map_err(|error| invalid(Self::NAME, "time_min", error))?,
            None => Utc::now(),
        };
        let time_max = match args.time_max.as_deref() {
            Some(value) => parse_time_bound(value, zone)
                .map_err(|error| invalid(Self::NAME, "time_max", error))?,
            None => time_min + TimeDelta::days(DEFAULT_WINDOW_DAYS),
        };
        if time_max <= time_min {
            return Err(invalid(
                Self::NAME,
                "time_max",
                format!(
                    "{} is not after time_min {}",
                    time_max.to_rfc3339(),
                    time_min.to_rfc3339()
                ),
            ));
        }

        let query = EventListQuery {
            calendar_id: calendar_id(Self::NAME, args.calendar_id)?,
            time_min: Some(time_min),
            time_max: Some(time_max),
            query: args.query.filter(|query| !query.trim().is_empty()),
            max_results: args.max_results.unwrap_or(DEFAULT_MAX_EVENTS),
            page_token: args.page_token.filter(|token| !token.is_empty()),
            time_zone: zone.map(|zone| zone.name().to_owned()),
        };
        let calendar = &context.calendar;
        let query_ref = &query;
        let events = context
            .with_google(|credentials| async move {
                calendar
                    .list_events(&credentials.access_token, query_ref)
                    .await
            })
            .await
            .map_err(|error| {
                error.explain_not_found(|| {
                    format!(
                        "calendar {} (find ids with calendar_list_calendars)",
                        query_ref.calendar_id
                    )
                })
            })?;

        Ok(EventListResult {
            zone_requested: query.time_zone.is_some(),
            calendar_id: query.calendar_id.to_string(),
            time_zone: query.time_zone.or(events.time_zone),
            time_min: time_min.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            time_max: time_max.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            events: events.items.into_iter().map(EventSummary::of).collect(),
            next_page_token: events.next_page_token,
        })
    }
}

impl Render for EventListResult {
    fn render_text(&self) -> String {
        let mut out = format!(
            "{} event(s) in {} from {} to {}",
            self.events.len(),
            self.calendar_id,
            self.time_min,
            self.time_max
        );
        match (&self.time_zone, self.zone_requested) {
            (Some(zone), true) => out.push_str(&format!(" (times in {zone})")),
            (Some(zone), false) => out.push_str(&format!(
                " (calendar zone {zone}; each time carries its offset)"
            )),
            (None, _) => {}
        }
        out.push_str(":\n");
        for event in &self.events {
            out.push_str(&format!(
                "- {}: {}",
                event.span,
                event.summary.as_deref().unwrap_or("(no title)")
            ));
            if let Some(location) = &event.location {
                out.push_str(&format!(" @ {}", one_line(location)));
            }
            if let Some(status) = event
                .status
                .as_deref()
                .filter(|status| *status != "confirmed")
            {
                out.push_str(&format!(" [{status}]"));
            }
            out.push_str(&format!(" (id {})\n", event.id));
            if let Some(description) = event.description.as_deref().filter(|text| !text.is_empty())
            {
                out.push_str(&format!(
                    "  {}\n",
                    shorten(&description.replace('\n', " "), LIST_DESCRIPTION_CHARS)
                ));
            }
        }
        if let Some(token) = &self.next_page_token {
            out.push_str(&format!(
                "More events: call again with page_token \"{token}\".\n"
            ));
        }
        out.trim_end().to_owned()
    }
}

pub(crate) struct GetEvent;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GetEventArgs {
    /// Event id from calendar_list_events.
    event_id: String,
    /// Calendar id; default `primary`.
    calendar_id: Option<String>,
}

impl Validate for GetEventArgs {}

/// One event in full.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct EventDetail {
    id: String,
    summary: Option<String>,
    /// Plain text (HTML converted), cut at 4000 characters.
    description: Option<String>,
    description_truncated: bool,
    location: Option<String>,
    /// RFC 3339 with offset, or `yyyy-mm-dd` for all-day events.
    start: String,
    /// Exclusive end.
    end: String,
    all_day: bool,
    /// The event's IANA zone, where it has one.
    time_zone: Option<String>,
    status: Option<String>,
    organizer: Option<String>,
    attendees: Vec<AttendeeSummary>,
    /// RRULE/EXDATE lines of a recurring series.
    recurrence: Vec<String>,
    recurring_event_id: Option<String>,
    html_link: Option<String>,
    /// Google Meet link.
    hangout_link: Option<String>,
}

/// An attendee.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct AttendeeSummary {
    email: Option<String>,
    name: Option<String>,
    /// needsAction, accepted, tentative or declined.
    response_status: Option<String>,
    optional: bool,
    organizer: bool,
}

#[async_trait]
impl Tool for GetEvent {
    type Args = GetEventArgs;
    type Output = EventDetail;

    const NAME: &'static str = "calendar_get_event";
    const TITLE: &'static str = "Read a calendar event";
    const DESCRIPTION: &'static str = "Read one calendar event in full: times with zone, description as text, location, organizer, attendees with their responses, recurrence rules and links.";
    const ANNOTATIONS: ToolAnnotations = ToolAnnotations::READ_ONLY;
    const ACCESS: RequiredAccess = RequiredAccess::Calendar(CalendarAccess::Read);

    async fn run(
        &self,
        context: &ToolContext,
        args: Self::Args,
    ) -> Result<Self::Output, ToolError> {
        let calendar_id = calendar_id(Self::NAME, args.calendar_id)?;
        let event_id =
            EventId::new(args.event_id).map_err(|error| invalid(Self::NAME, "event_id", error))?;

        let calendar = &context.calendar;
        let (calendar_ref, event_ref) = (&calendar_id, &event_id);
        let event = context
            .with_google(|credentials| async move {
                calendar
                    .get_event(&credentials.access_token, calendar_ref, event_ref)
                    .await
            })
            .await
            .map_err(|error| error.explain_not_found(|| format!("event {event_id} in calendar {calendar_id} (find ids with calendar_list_events)")))?;
        Ok(EventDetail::of(event))
    }
}

impl EventDetail {
    fn of(event: Event) -> Self {
        let description = event.description.as_deref().map(description_text);
        let window = description
            .as_deref()
            .map(|text| cut_chars(text, 0, DESCRIPTION_MAX_CHARS));
        let organizer = event.organizer.as_ref().and_then(|person| {
            match (&person.display_name, &person.email) {
                (Some(name), Some(email)) => Some(format!("{name} <{email}>")),
                (name, email) => name.clone().or_else(|| email.clone()),
            }
        });

        Self {
            description_truncated: window
                .as_ref()
                .is_some_and(|window| window.next_offset.is_some()),
            description: window.map(|window| window.text),
            all_day: event.start.date.is_some(),
            start: show_boundary(&event.start),
            end: show_boundary(&event.end),
            time_zone: event.start.time_zone.clone(),
            organizer,
            attendees: event
                .attendees
                .into_iter()
                .map(|attendee| AttendeeSummary {
                    email: attendee.email,
                    name: attendee.display_name,
                    response_status: attendee.response_status,
                    optional: attendee.optional.unwrap_or(false),
                    organizer: attendee.organizer.unwrap_or(false),
                })
                .collect(),
            id: event.id,
            summary: event.summary,
            location: event.location,
            status: event.status,
            recurrence: event.recurrence,
            recurring_event_id: event.recurring_event_id,
            html_link: event.html_link,
            hangout_link: event.hangout_link,
        }
    }
}

impl Render for EventDetail {
    fn render_text(&self) -> String {
        let mut out = format!(
            "{} (id {})\n",
            self.summary.as_deref().unwrap_or("(no title)"),
            self.id
        );
        let span = if self.all_day {
            let day = |date: &str| crate::domain::models::calendar::EventDateTime {
                date: Some(date.to_owned()),
                ..Default::default()
            };
            render_span(&day(&self.start), &day(&self.end))
        } else {
            format!("{} to {}", self.start, self.end)
        };
        out.push_str(&format!("When: {span}"));
        if let Some(zone) = &self.time_zone {
            out.push_str(&format!(" ({zone})"));
        }
        out.push('\n');

        let mut line = |name: &str, value: &Option<String>| {
            if let Some(value) = value {
                out.push_str(&format!("{name}: {value}\n"));
            }
        };
        line("Where", &self.location);
        line("Status", &self.status);
        line("Organizer", &self.organizer);
        line("Series", &self.recurring_event_id);
        line("Meet", &self.hangout_link);
        line("Link", &self.html_link);
        if !self.recurrence.is_empty() {
            out.push_str(&format!("Repeats: {}\n", self.recurrence.join("; ")));
        }
        if !self.attendees.is_empty() {
            out.push_str("Attendees:\n");
            for attendee in &self.attendees {
                let who = match (&attendee.name, &attendee.email) {
                    (Some(name), Some(email)) => format!("{name} <{email}>"),
                    (name, email) => name.clone().or_else(|| email.clone()).unwrap_or_default(),
                };
                out.push_str(&format!(
                    "- {who}: {}",
                    attendee.response_status.as_deref().unwrap_or("unknown")
                ));
                if attendee.organizer {
                    out.push_str(", organizer");
                }
                if attendee.optional {
                    out.push_str(", optional");
                }
                out.push('\n');
            }
        }
        if let Some(description) = &self.description {
            out.push('\n');
            out.push_str(description);
            out.push('\n');
            if self.description_truncated {
                out.push_str(&format!(
                    "[… description cut at {DESCRIPTION_MAX_CHARS} characters]\n"
                ));
            }
        }
        out.trim_end().to_owned()
    }
}

/// Joins the lines of a free-text field, so one event stays on one line of a list.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Returns an event description as plain text. Calendar descriptions are HTML when edited
/// in Google's UI and plain text when imported; only the former is converted.
fn description_text(description: &str) -> String {
    let looks_like_html =
        description.contains("</") || description.contains("<br") || description.contains("<p>");
    if looks_like_html {
        html_to_text(description)
    } else {
        description.trim().to_owned()
    }
}

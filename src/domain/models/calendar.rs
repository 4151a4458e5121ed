//! Calendar v3 resources, in the JSON shape of Google's discovery document `calendar.v3`.
//!
//! Only the fields the hub reads or the sandbox serves are modelled; unknown fields in a
//! response are ignored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::CalendarId;

/// `CalendarListEntry`: a calendar on the user's calendar list.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalendarListEntry {
    /// The calendar id.
    pub id: String,
    /// The calendar's title.
    #[serde(default)]
    pub summary: String,
    /// The title the user chose for it, where it differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_override: Option<String>,
    /// The calendar's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The calendar's IANA time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Whether this is the user's primary calendar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    /// The user's role: `freeBusyReader`, `reader`, `writer` or `owner`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_role: Option<String>,
}

/// `CalendarList`: one page of `calendarList.list`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalendarList {
    /// The calendars on this page.
    #[serde(default)]
    pub items: Vec<CalendarListEntry>,
    /// The token for the next page, absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// `EventDateTime`: an event's start or end.
///
/// All-day events carry `date` (and their end date is exclusive); timed events carry
/// `dateTime` with an offset and, optionally, the IANA zone they were created in.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventDateTime {
    /// The date of an all-day event, `yyyy-mm-dd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The instant of a timed event, RFC 3339 with an offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_time: Option<String>,
    /// The IANA time zone of the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// `EventAttendee`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventAttendee {
    /// The attendee's email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The attendee's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// `needsAction`, `declined`, `tentative` or `accepted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_status: Option<String>,
    /// Whether the attendee is the organizer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizer: Option<bool>,
    /// Whether the attendee is the signed-in user.
    #[serde(default, rename = "self", skip_serializing_if = "Option::is_none")]
    pub is_self: Option<bool>,
    /// Whether attendance is optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
    /// The attendee's comment on their response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The number of extra guests the attendee brings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_guests: Option<u32>,
    /// Whether the attendee is a resource, such as a room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<bool>,
}

/// The organizer or creator of an event.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventPerson {
    /// The email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Whether this is the signed-in user.
    #[serde(default, rename = "self", skip_serializing_if = "Option::is_none")]
    pub is_self: Option<bool>,
}

/// `Event`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// The event id; an occurrence of a recurring event has the series id plus a suffix.
    pub id: String,
    /// `confirmed`, `tentative` or `cancelled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// A link to the event in the Calendar web UI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_link: Option<String>,
    /// The title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The description, which may contain HTML.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The location as free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The start.
    #[serde(default)]
    pub start: EventDateTime,
    /// The end, exclusive.
    #[serde(default)]
    pub end: EventDateTime,
    /// The RRULE, EXRULE, RDATE and EXDATE lines of a recurring series.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recurrence: Vec<String>,
    /// For an occurrence, the id of its recurring series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurring_event_id: Option<String>,
    /// For an occurrence, its start as the series' rule places it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_start_time: Option<EventDateTime>,
    /// The attendees.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attendees: Vec<EventAttendee>,
    /// The organizer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizer: Option<EventPerson>,
    /// The creator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<EventPerson>,
    /// The event's iCalendar UID, shared by every occurrence of a series.
    #[serde(default, rename = "iCalUID", skip_serializing_if = "Option::is_none")]
    pub ical_uid: Option<String>,
    /// `opaque` (busy) or `transparent` (free).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transparency: Option<String>,
    /// When the event was created, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// When the event was last changed, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    /// The Google Meet link, where one exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hangout_link: Option<String>,
}

/// `Events`: one page of `events.list`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Events {
    /// The calendar's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The calendar's time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// The events on this page.
    #[serde(default)]
    pub items: Vec<Event>,
    /// The token for the next page, absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// The parameters of `events.list`. Adapters always expand recurring events into their
/// occurrences (`singleEvents=true`) and order them by start (`orderBy=startTime`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventListQuery {
    /// The calendar to read.
    pub calendar_id: CalendarId,
    /// Only events ending after this instant.
    pub time_min: Option<DateTime<Utc>>,
    /// Only events starting before this instant.
    pub time_max: Option<DateTime<Utc>>,
    /// Free-text search over summary, description, location and attendees.
    pub query: Option<String>,
    /// The page size, 1 to 2500.
    pub max_results: u32,
    /// A `nextPageToken` from the previous page.
    pub page_token: Option<String>,
    /// The IANA zone for times in the response; the calendar's own zone when `None`.
    pub time_zone: Option<String>,
}

/// The `sendUpdates` parameter of `events.insert`, `events.patch` and `events.delete`: who
/// gets an email about the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SendUpdates {
    /// Every guest.
    All,
    /// Guests who do not use Google Calendar.
    ExternalOnly,
    /// Nobody. Google's documented default for `events.insert` ("The default is false").
    #[default]
    None,
}

impl SendUpdates {
    /// Returns the query value: `all`, `externalOnly` or `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::ExternalOnly => "externalOnly",
            Self::None => "none",
        }
    }
}

/// The writable fields of an `Event`: the body of `events.insert`, or of `events.patch`,
/// where only the fields present change.
///
/// A field left `None` is not sent. `events.patch` replaces an array field (`attendees`,
/// `recurrence`) as a whole, so a patch that changes one attendee sends all of them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventWrite {
    /// A client-chosen id for `events.insert`: base32hex characters (`0-9a-v`), 5 to 1024
    /// of them. Google rejects a second insert with the same id (409), which makes a
    /// retried insert safe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The location as free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<EventDateTime>,
    /// The end, exclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<EventDateTime>,
    /// The attendees, replacing the existing list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attendees: Option<Vec<EventAttendee>>,
    /// The RRULE, EXRULE, RDATE and EXDATE lines, replacing the existing ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<Vec<String>>,
    /// `opaque` (busy) or `transparent` (free).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transparency: Option<String>,
}

impl EventWrite {
    /// Returns whether no field is set, so a patch would change nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// `FreeBusyRequest`: the body of `freebusy.query`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FreeBusyRequest {
    /// The window start, RFC 3339.
    #[serde(default)]
    pub time_min: String,
    /// The window end, RFC 3339.
    #[serde(default)]
    pub time_max: String,
    /// The IANA zone of the times in the response; UTC when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// The calendars to query, by calendar id or address.
    #[serde(default)]
    pub items: Vec<FreeBusyRequestItem>,
}

/// `FreeBusyRequestItem`: one calendar or group to query.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FreeBusyRequestItem {
    /// The calendar id or group address.
    pub id: String,
}

/// `FreeBusyResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FreeBusyResponse {
    /// `calendar#freeBusy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The window start.
    #[serde(default)]
    pub time_min: String,
    /// The window end.
    #[serde(default)]
    pub time_max: String,
    /// The result per requested calendar id.
    #[serde(default)]
    pub calendars: std::collections::BTreeMap<String, FreeBusyCalendar>,
}

/// `FreeBusyCalendar`: the busy periods of one calendar, or why they are unknown.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FreeBusyCalendar {
    /// The busy periods, ordered by start.
    #[serde(default)]
    pub busy: Vec<TimePeriod>,
    /// Why the calendar could not be read, such as reason `notFound`; absent on success.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FreeBusyError>,
}

/// `TimePeriod`: `[start, end)` as RFC 3339 strings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TimePeriod {
    /// The inclusive start.
    pub start: String,
    /// The exclusive end.
    pub end: String,
}

/// `Error` in a free/busy answer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FreeBusyError {
    /// The broad category, such as `global` or `calendar`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The reason, such as `notFound`, `groupTooBig` or `internalError`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

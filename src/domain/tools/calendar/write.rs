//! `calendar_create_event`, `calendar_update_event`, `calendar_delete_event` and
//! `calendar_respond_to_event`.

use crate::domain::zone::Tz;
use async_trait::async_trait;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::events::{calendar_id, invalid};
use super::parse_zone;
use super::when::{
    ResolvedTime, check_date_span, date_boundary, parse_date, parse_event_time, resolve_local,
    rfc3339, timed_boundary,
};
use crate::domain::access::{CalendarAccess, RequiredAccess};
use crate::domain::errors::GoogleApiError;
use crate::domain::mail_compose::EmailAddress;
use crate::domain::models::calendar::{Event, EventAttendee, EventWrite, SendUpdates};
use crate::domain::models::{CalendarId, EventId};
use crate::domain::tools::definition::{Validate, check_length};
use crate::domain::tools::{Render, Tool, ToolAnnotations, ToolContext, ToolError};

/// The maximum number of attendees in one call, so that one mistaken call cannot invite a
/// mailing list's worth of people.
const MAX_ATTENDEES: usize = 100;
/// The maximum number of recurrence lines.
const MAX_RECURRENCE_LINES: usize = 20;
/// The maximum title length, in characters.
const MAX_SUMMARY_CHARS: usize = 1_024;
/// The maximum description or location length, in characters.
const MAX_TEXT_CHARS: usize = 8_000;
/// The maximum response comment length, in characters.
const MAX_COMMENT_CHARS: usize = 1_000;

/// `sendUpdates` as the tools take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SendUpdatesArg {
    All,
    ExternalOnly,
    #[default]
    None,
}

impl From<SendUpdatesArg> for SendUpdates {
    fn from(value: SendUpdatesArg) -> Self {
        match value {
            SendUpdatesArg::All => Self::All,
            SendUpdatesArg::ExternalOnly => Self::ExternalOnly,
            SendUpdatesArg::None => Self::None,
        }
    }
}

/// The part of a recurring event that a change applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Scope {
    ThisInstance,
    WholeSeries,
}

/// Busy or free, as `transparency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ShowAs {
    Busy,
    Free,
}

impl ShowAs {
    fn transparency(self) -> String {
        match self {
            Self::Busy => "opaque".to_owned(),
            Self::Free => "transparent".to_owned(),
        }
    }
}

/// An attendee's reply to an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Response {
    Accepted,
    Declined,
    Tentative,
}

impl Response {
    fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Tentative => "tentative",
        }
    }
}

/// The time fields shared by create and update.
#[derive(Debug, Default)]
struct TimeFields<'a> {
    start: Option<&'a str>,
    end: Option<&'a str>,
    time_zone: Option<&'a str>,
    start_date: Option<&'a str>,
    end_date: Option<&'a str>,
}

/// The time fields, parsed.
#[derive(Debug)]
enum Times {
    /// No time field was given.
    Unchanged,
    Timed {
        start: Option<ResolvedTime>,
        end: Option<ResolvedTime>,
        zone: Option<Tz>,
    },
    AllDay {
        start: Option<NaiveDate>,
        end: Option<NaiveDate>,
    },
}

impl TimeFields<'_> {
    /// Parses the fields, checking that timed and all-day fields are not mixed. Local
    /// times are read in `time_zone`, else in `event_zone` (the zone of the event being
    /// changed), and are rejected when neither is known.
    fn parse(&self, tool: &'static str, event_zone: Option<Tz>) -> Result<Times, ToolError> {
        let zone = self
            .time_zone
            .map(parse_zone)
            .transpose()
            .map_err(|error| invalid(tool, "time_zone", error))?;
        let reading_zone = zone.or(event_zone);
        let timed = self.start.is_some() || self.end.is_some();
        let all_day = self.start_date.is_some() || self.end_date.is_some();

        if timed && all_day {
            return Err(invalid(
                tool,
                "start_date",
                "give start/end for a timed event or start_date/end_date for an all-day event, not both",
            ));
        }
        if all_day {
            if zone.is_some() {
                return Err(invalid(
                    tool,
                    "time_zone",
                    "all-day events have dates, not times, so they take no time_zone",
                ));
            }
            let start = self
                .start_date
                .map(parse_date)
                .transpose()
                .map_err(|error| invalid(tool, "start_date", error))?;
            let end = self
                .end_date
                .map(parse_date)
                .transpose()
                .map_err(|error| invalid(tool, "end_date", error))?;
            return Ok(Times::AllDay { start, end });
        }
        if timed {
            let start = self
                .start
                .map(|value| parse_event_time(value, reading_zone))
                .transpose()
                .map_err(|error| invalid(tool, "start", error))?;
            let end = self
                .end
                .map(|value| parse_event_time(value, reading_zone))
                .transpose()
                .map_err(|error| invalid(tool, "end", error))?;
            return Ok(Times::Timed { start, end, zone });
        }
        if zone.is_some() {
            return Err(invalid(
                tool,
                "time_zone",
                "time_zone applies to start and end; give them as well",
            ));
        }
        Ok(Times::Unchanged)
    }
}

/// Checks a title's length and that it has some text: Google shows an event without one
/// as "(no title)".
fn check_summary(summary: Option<&str>) -> Result<(), (&'static str, String)> {
    if summary.is_some_and(|text| text.trim().is_empty()) {
        return Err(("summary", "is empty; give the event a title".to_owned()));
    }
    check_length("summary", summary, MAX_SUMMARY_CHARS)
}

/// Checks that `end` is after `start`.
fn check_order(
    tool: &'static str,
    start: &DateTime<FixedOffset>,
    end: &DateTime<FixedOffset>,
) -> Result<(), ToolError> {
    if end > start {
        return Ok(());
    }
    Err(invalid(
        tool,
        "end",
        format!("{} is not after start {}", rfc3339(end), rfc3339(start)),
    ))
}

/// Reads attendees given as `ana@example.com` or `Ana Lee <ana@example.com>`, the forms the
/// Gmail tools take, and checks the recipient allowlist for every address not already on
/// the event (`existing`). Errors name the element, such as `attendees[1]`.
fn attendee_entries(
    tool: &'static str,
    context: &ToolContext,
    addresses: &[String],
    existing: &[EventAttendee],
) -> Result<Vec<EventAttendee>, ToolError> {
    let same = |entry: &EventAttendee, address: &str| {
        entry
            .email
            .as_deref()
            .is_some_and(|email| email.eq_ignore_ascii_case(address))
    };
    let mut entries: Vec<EventAttendee> = Vec::with_capacity(addresses.len());
    for (index, text) in addresses.iter().enumerate() {
        let field = format!("attendees[{index}]");
        let parsed =
            EmailAddress::parse(&field, text).map_err(|error| ToolError::InvalidArguments {
                tool,
                message: error.to_string(),
            })?;
        let address = parsed.address.as_str();

        if !existing.iter().any(|entry| same(entry, address)) {
            context
                .settings()
                .recipients
                .check("attendees", address)
                .map_err(|error| {
                    ToolError::NotPermitted(format!(
                        "{address} in `{field}` is not an allowed recipient: {}",
                        error.reason
                    ))
                })?;
        }
        if !entries.iter().any(|entry| same(entry, address)) {
            entries.push(EventAttendee {
                email: Some(parsed.address.clone()),
                display_name: parsed.name,
                ..EventAttendee::default()
            });
        }
    }
    Ok(entries)
}

/// Checks every guest Google would email about a change or cancellation against the
/// recipient allowlist, so the allowlist covers update and cancellation notices and not only
/// invitations. `event` is the event as it is, and `replacement` a new guest list, whose
/// removed guests get a cancellation notice.
///
/// With `external_only`, Google emails the guests who do not use Google Calendar, which the
/// API does not show, so every guest is checked as with `all`. The user's own entry and
/// resources such as rooms are skipped because they get no mail.
fn check_notified(
    context: &ToolContext,
    send_updates: SendUpdates,
    event: &Event,
    replacement: Option<&[EventAttendee]>,
) -> Result<(), ToolError> {
    if send_updates == SendUpdates::None || !context.settings().recipients.is_restricted() {
        return Ok(());
    }

    let guests = event
        .attendees
        .iter()
        .chain(replacement.unwrap_or_default())
        .filter(|guest| guest.is_self != Some(true) && guest.resource != Some(true))
        .filter_map(|guest| guest.email.as_deref());
    let organizer = event
        .organizer
        .iter()
        .filter(|organizer| organizer.is_self != Some(true))
        .filter_map(|organizer| organizer.email.as_deref());
    for address in guests.chain(organizer) {
        context
            .settings()
            .recipients
            .check("send_updates", address)
            .map_err(|error| {
                ToolError::NotPermitted(format!(
                    "{error}. Google would email this guest about the change; set send_updates \
                     to none to send no mail"
                ))
            })?;
    }
    Ok(())
}

fn check_recurrence(tool: &'static str, lines: &[String]) -> Result<(), ToolError> {
    if lines.len() > MAX_RECURRENCE_LINES {
        return Err(invalid(
            tool,
            "recurrence",
            format!(
                "{} lines is too many; the limit is {MAX_RECURRENCE_LINES}",
                lines.len()
            ),
        ));
    }
    for (index, line) in lines.iter().enumerate() {
        let field = format!("recurrence[{index}]");
        // A line break would let one element carry further iCalendar properties.
        if let Some(control) = line.chars().find(|c| c.is_control()) {
            return Err(invalid(
                tool,
                &field,
                format!(
                    "contains the control character {control:?}; give each RFC 5545 line as its own element, on one line"
                ),
            ));
        }
        let known = ["RRULE:", "EXRULE:", "RDATE", "EXDATE"]
            .iter()
            .any(|prefix| line.trim_start().to_ascii_uppercase().starts_with(prefix));
        if !known || !line.is_ascii() {
            return Err(invalid(
                tool,
                &field,
                format!(
                    "{line:?} is not an RFC 5545 line; use lines such as \"RRULE:FREQ=WEEKLY;BYDAY=MO\" or \"EXDATE;TZID=Europe/Berlin:20261207T090000\""
                ),
            ));
        }
    }
    Ok(())
}

/// Generates an event id Google accepts: 26 base32hex characters (`0-9a-v`) from 128
/// random bits, as the discovery document recommends a UUID-like id.
fn new_event_id() -> String {
    const DIGITS: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    let bits: u128 = rand::random();
    (0..26)
        .map(|index| {
            let shift = 128_i32 - 5 * (index + 1);
            let digit = if shift >= 0 {
                (bits >> shift) & 31
            } else {
                (bits << -shift) & 31
            };
            char::from(DIGITS[digit as usize])
        })
        .collect()
}

/// The event a write tool changed, as Google stored it.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct EventChangeResult {
    /// created, updated or responded, for the text.
    #[serde(skip)]
    #[schemars(skip)]
    action: &'static str,
    #[serde(skip)]
    #[schemars(skip)]
    calendar_id: String,
    /// The event's id; for one occurrence of a series, `{series id}_{original start}`.
    event_id: String,
    summary: Option<String>,
    /// RFC 3339 with offset, or `yyyy-mm-dd` for all-day events.
    start: String,
    /// Exclusive end: RFC 3339, or the day after the last day for all-day events.
    end: String,
    all_day: bool,
    /// The IANA zone of the event's times; absent when they carry only offsets.
    time_zone: Option<String>,
    /// The user's own response after `calendar_respond_to_event`.
    response_status: Option<String>,
    attendees: Vec<String>,
    recurrence: Vec<String>,
    /// The series id when the event is one occurrence of a recurring event.
    recurring_event_id: Option<String>,
    /// The guests Google emailed about the change: all, externalOnly or none.
    send_updates: &'static str,
    html_link: Option<String>,
    /// Notes on how the arguments were read, such as the instant an ambiguous local time became.
    notes: Vec<String>,
}

impl EventChangeResult {
    fn of(
        action: &'static str,
        calendar_id: &CalendarId,
        event: Event,
        send_updates: SendUpdates,
        notes: Vec<String>,
    ) -> Self {
        let own_response = event
            .attendees
            .iter()
            .find(|attendee| attendee.is_self == Some(true))
            .and_then(|attendee| attendee.response_status.clone());
        let boundary = |value: &crate::domain::models::calendar::EventDateTime| {
            value
                .date
                .clone()
                .or_else(|| value.date_time.clone())
                .unwrap_or_default()
        };
        Self {
            action,
            calendar_id: calendar_id.to_string(),
            all_day: event.start.date.is_some(),
            start: boundary(&event.start),
            end: boundary(&event.end),
            time_zone: event.start.time_zone.clone(),
            response_status: (action == "responded").then_some(own_response).flatten(),
            attendees: event
                .attendees
                .iter()
                .filter_map(|attendee| attendee.email.clone())
                .collect(),
            event_id: event.id,
            summary: event.summary,
            recurrence: event.recurrence,
            recurring_event_id: event.recurring_event_id,
            send_updates: send_updates.as_str(),
            html_link: event.html_link,
            notes,
        }
    }
}

impl Render for EventChangeResult {
    fn render_text(&self) -> String {
        let mut out = format!(
            "{} event {} in {}: {}\n",
            capitalized(self.action),
            self.event_id,
            self.calendar_id,
            self.summary.as_deref().unwrap_or("(no title)")
        );
        if self.all_day {
            out.push_str(&format!(
                "When: {} to {} (all day, end exclusive)\n",
                self.start, self.end
            ));
        } else {
            let zone = self.time_zone.as_deref().map_or_else(
                || "times with their offsets".to_owned(),
                |zone| format!("zone {zone}"),
            );
            out.push_str(&format!("When: {} to {} ({zone})\n", self.start, self.end));
        }
        if let Some(series) = &self.recurring_event_id {
            out.push_str(&format!("Occurrence of series {series}\n"));
        }
        if !self.recurrence.is_empty() {
            out.push_str(&format!("Repeats: {}\n", self.recurrence.join("; ")));
        }
        if let Some(status) = &self.response_status {
            out.push_str(&format!("Your response: {status}\n"));
        }
        if !self.attendees.is_empty() {
            out.push_str(&format!("Attendees: {}\n", self.attendees.join(", ")));
        }
        out.push_str(&format!(
            "Notifications: sendUpdates={}\n",
            self.send_updates
        ));
        for note in &self.notes {
            out.push_str(&format!("Note: {note}\n"));
        }
        if let Some(link) = &self.html_link {
            out.push_str(&format!("Link: {link}\n"));
        }
        out.trim_end().to_owned()
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Calls Google with the token, naming the event when it is not found.
async fn get_event(
    context: &ToolContext,
    calendar_id: &CalendarId,
    event_id: &EventId,
) -> Result<Event, ToolError> {
    let calendar = &context.calendar;
    context
        .with_google(|credentials| async move {
            calendar
                .get_event(&credentials.access_token, calendar_id, event_id)
                .await
        })
        .await
        .map_err(|error| {
            error.explain_not_found(|| {
                format!("event {event_id} in calendar {calendar_id} (find ids with calendar_list_events)")
            })
        })
}

async fn patch_event(
    context: &ToolContext,
    calendar_id: &CalendarId,
    event_id: &EventId,
    patch: &EventWrite,
    send_updates: SendUpdates,
) -> Result<Event, ToolError> {
    let calendar = &context.calendar;
    context
        .with_google(|credentials| async move {
            calendar
                .patch_event(
                    &credentials.access_token,
                    calendar_id,
                    event_id,
                    patch,
                    send_updates,
                )
                .await
        })
        .await
        .map_err(|error| {
            error.explain_not_found(|| format!("event {event_id} in calendar {calendar_id}"))
        })
}

/// The event a change applies to, after the scope of a recurring event is settled.
#[derive(Debug)]
struct Target {
    id: EventId,
    event: Event,
    /// The occurrence named in the request when the change applies to its whole series.
    occurrence: Option<Event>,
    /// The resolved scope, for the result's notes.
    note: Option<String>,
}

/// Finds the event to change: the event itself, the occurrence, or the series it belongs
/// to, as `scope` requests.
///
/// # Errors
///
/// [`ToolError::Rejected`] when the event is recurring and `scope` is missing, or when
/// `this_instance` names a whole series rather than one occurrence.
async fn resolve_target(
    tool: &'static str,
    context: &ToolContext,
    calendar_id: &CalendarId,
    event_id: EventId,
    scope: Option<Scope>,
) -> Result<Target, ToolError> {
    let event = get_event(context, calendar_id, &event_id).await?;

    if let Some(series_id) = event.recurring_event_id.clone() {
        return match scope {
            Some(Scope::ThisInstance) => Ok(Target {
                id: event_id,
                event,
                occurrence: None,
                note: None,
            }),
            Some(Scope::WholeSeries) => {
                let series_id = EventId::new(series_id).map_err(|error| {
                    ToolError::Internal(format!("Google returned an invalid series id: {error}"))
                })?;
                let series = get_event(context, calendar_id, &series_id).await?;
                Ok(Target {
                    note: Some(format!(
                        "{event_id} is one occurrence; the change applies to its series {series_id}"
                    )),
                    id: series_id,
                    event: series,
                    occurrence: Some(event),
                })
            }
            None => Err(ToolError::Rejected(format!(
                "{tool}: event {event_id} is one occurrence of the recurring event {series_id}; \
                 set scope to this_instance (only this occurrence) or whole_series (every occurrence)"
            ))),
        };
    }

    if !event.recurrence.is_empty() {
        return match scope {
            Some(Scope::WholeSeries) => Ok(Target {
                id: event_id,
                event,
                occurrence: None,
                note: None,
            }),
            Some(Scope::ThisInstance) => Err(ToolError::Rejected(format!(
                "{tool}: event {event_id} is a whole recurring series; to change one occurrence, pass \
                 the occurrence's id ({event_id}_ followed by its original start, as \
                 calendar_list_events lists it)"
            ))),
            None => Err(ToolError::Rejected(format!(
                "{tool}: event {event_id} is a recurring series; set scope to whole_series to change \
                 every occurrence, or pass one occurrence's id from calendar_list_events with scope \
                 this_instance"
            ))),
        };
    }

    let note = scope.map(|_| format!("{event_id} is not recurring, so scope was ignored"));
    Ok(Target {
        id: event_id,
        event,
        occurrence: None,
        note,
    })
}

// calendar_create_event

pub(crate) struct CreateEvent;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateEventArgs {
    /// Default `primary`.
    calendar_id: Option<String>,
    /// Title.
    summary: String,
    /// Plain text.
    description: Option<String>,
    /// Free text.
    location: Option<String>,
    /// RFC 3339 with offset, or local 2026-03-06T09:00 with time_zone.
    start: Option<String>,
    /// Exclusive; same forms as start.
    end: Option<String>,
    /// IANA zone of local times, stored with the event; needed for recurring events. Local times skipped by a DST change are rejected, repeated ones take the earlier.
    time_zone: Option<String>,
    /// All-day: first day, yyyy-mm-dd.
    start_date: Option<String>,
    /// All-day: EXCLUSIVE end, the day after the last; default start_date + 1.
    end_date: Option<String>,
    /// Addresses to invite.
    #[serde(default)]
    attendees: Vec<String>,
    /// RFC 5545 lines, e.g. RRULE:FREQ=WEEKLY;BYDAY=MO.
    #[serde(default)]
    recurrence: Vec<String>,
    /// Default busy.
    show_as: Option<ShowAs>,
    /// Who gets email; default none.
    send_updates: Option<SendUpdatesArg>,
}

impl Validate for CreateEventArgs {
    fn validate(&self) -> Result<(), (&'static str, String)> {
        check_summary(Some(&self.summary))?;
        check_length("description", self.description.as_deref(), MAX_TEXT_CHARS)?;
        check_length("location", self.location.as_deref(), MAX_TEXT_CHARS)?;
        if self.attendees.len() > MAX_ATTENDEES {
            return Err((
                "attendees",
                format!(
                    "{} attendees is too many; the limit is {MAX_ATTENDEES}",
                    self.attendees.len()
                ),
            ));
        }
        Ok(())
    }
}

#[async_trait]
impl Tool for CreateEvent {
    type Args = CreateEventArgs;
    type Output = EventChangeResult;

    const NAME: &'static str = "calendar_create_event";
    const TITLE: &'static str = "Create a calendar event";
    const DESCRIPTION: &'static str = "Create a calendar event, timed (start/end) or all-day (start_date/end_date). Guests get email only with send_updates all or external_only. Returns the id and the times with the zone used.";
    const ANNOTATIONS: ToolAnnotations = ToolAnnotations::ADDITIVE;
    const ACCESS: RequiredAccess = RequiredAccess::Calendar(CalendarAccess::Write);

    async fn run(
        &self,
        context: &ToolContext,
        args: Self::Args,
    ) -> Result<Self::Output, ToolError> {
        let calendar_id = calendar_id(Self::NAME, args.calendar_id)?;
        let send_updates = SendUpdates::from(args.send_updates.unwrap_or_default());
        let fields = TimeFields {
            start: args.start.as_deref(),
            end: args.end.as_deref(),
            time_zone: args.time_zone.as_deref(),
            start_date: args.start_date.as_deref(),
            end_date: args.end_date.as_deref(),
        };
        let mut notes = Vec::new();

        let (start, end) = match fields.parse(Self::NAME, None)? {
            Times::Unchanged => {
                return Err(invalid(
                    Self::NAME,
                    "start",
                    "missing; give start and end for a timed event, or start_date for an all-day event",
                ));
            }
            Times::AllDay { start, end } => {
                let start = start.ok_or_else(|| {
                    invalid(
                        Self::NAME,
                        "start_date",
                        "missing; an all-day event needs its first day",
                    )
                })?;
                let end = end.unwrap_or(start + Duration::days(1));
                check_date_span(start, end)
                    .map_err(|error| invalid(Self::NAME, "end_date", error))?;
                (date_boundary(start), date_boundary(end))
            }
            Times::Timed { start, end, zone } => {
                let start = start.ok_or_else(|| {
                    invalid(
                        Self::NAME,
                        "start",
                        "missing; a timed event needs start and end",
                    )
                })?;
                let end = end.ok_or_else(|| {
                    invalid(
                        Self::NAME,
                        "end",
                        "missing; a timed event needs start and end",
                    )
                })?;
                check_order(Self::NAME, &start.instant, &end.instant)?;
                if zone.is_none() && !args.recurrence.is_empty() {
                    return Err(invalid(
                        Self::NAME,
                        "time_zone",
                        "missing; a recurring timed event needs an IANA zone so that its occurrences keep their local time across daylight-saving changes",
                    ));
                }
                notes.extend(start.note.clone());
                notes.extend(end.note.clone());
                (
                    timed_boundary(&start.instant, zone),
                    timed_boundary(&end.instant, zone),
                )
            }
        };
        check_recurrence(Self::NAME, &args.recurrence)?;
        let attendees = attendee_entries(Self::NAME, context, &args.attendees, &[])?;

        let event = EventWrite {
            id: Some(new_event_id()),
            summary: Some(args.summary),
            description: args.description,
            location: args.location,
            start: Some(start),
            end: Some(end),
            attendees: (!attendees.is_empty()).then_some(attendees),
            recurrence: (!args.recurrence.is_empty()).then_some(args.recurrence),
            transparency: args.show_as.map(ShowAs::transparency),
        };
        let calendar = &context.calendar;
        let (calendar_ref, event_ref) = (&calendar_id, &event);
        let created = context
            .with_google(|credentials| async move {
                calendar
                    .insert_event(
                        &credentials.access_token,
                        calendar_ref,
                        event_ref,
                        send_updates,
                    )
                    .await
            })
            .await
            .map_err(|error| {
                error.explain_not_found(|| {
                    format!("calendar {calendar_id} (find ids with calendar_list_calendars)")
                })
            })
            .map_err(|error| name_possible_event(error, &event))?;

        Ok(EventChangeResult::of(
            "created",
            &calendar_id,
            created,
            send_updates,
            notes,
        ))
    }
}

/// Adds the event id to an outage error of an insert. The request may have reached Google
/// before the connection failed, and a new call would pick a new id and create a copy.
fn name_possible_event(error: ToolError, event: &EventWrite) -> ToolError {
    match (error, event.id.as_deref()) {
        (ToolError::Google(GoogleApiError::Unavailable { message }), Some(id)) => {
            ToolError::Google(GoogleApiError::Unavailable {
                message: format!(
                    "{message}. The event may have been created with id {id}: look it up with \
                     calendar_get_event before creating it again"
                ),
            })
        }
        (error, _) => error,
    }
}

/// A reply to an invitation changes only the user's own response, to the same end state
/// however often it is sent.
const RESPONSE: ToolAnnotations = ToolAnnotations {
    read_only: false,
    destructive: false,
    idempotent: true,
    open_world: true,
};

// calendar_update_event

pub(crate) struct UpdateEvent;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateEventArgs {
    /// Event, series or occurrence id from calendar_list_events.
    event_id: String,
    /// Default `primary`.
    calendar_id: Option<String>,
    /// Required for recurring events. whole_series with an occurrence's new times moves every occurrence alike.
    scope: Option<Scope>,
    /// New title; fields left out stay.
    summary: Option<String>,
    /// Plain text.
    description: Option<String>,
    /// Free text.
    location: Option<String>,
    /// As in calendar_create_event; without end the length stays.
    start: Option<String>,
    /// Exclusive.
    end: Option<String>,
    /// Zone of local times; default the event's.
    time_zone: Option<String>,
    /// All-day first day; without end_date the length stays.
    start_date: Option<String>,
    /// All-day EXCLUSIVE end.
    end_date: Option<String>,
    /// Replaces the guests; the user stays.
    attendees: Option<Vec<String>>,
    /// Replaces a series' lines.
    recurrence: Option<Vec<String>>,
    /// Busy or free.
    show_as: Option<ShowAs>,
    /// Who gets email; default none.
    send_updates: Option<SendUpdatesArg>,
}

impl Validate for UpdateEventArgs {
    fn validate(&self) -> Result<(), (&'static str, String)> {
        check_summary(self.summary.as_deref())?;
        check_length("description", self.description.as_deref(), MAX_TEXT_CHARS)?;
        check_length("location", self.location.as_deref(), MAX_TEXT_CHARS)?;
        if let Some(attendees) = &self.attendees
            && attendees.len() > MAX_ATTENDEES
        {
            return Err((
                "attendees",
                format!(
                    "{} attendees is too many; the limit is {MAX_ATTENDEES}",
                    attendees.len()
                ),
            ));
        }
        Ok(())
    }
}

#[async_trait]
impl Tool for UpdateEvent {
    type Args = UpdateEventArgs;
    type Output = EventChangeResult;

    const NAME: &'static str = "calendar_update_event";
    const TITLE: &'static str = "Update a calendar event";
    const DESCRIPTION: &'static str = "Change only the given fields of a calendar event. For a recurring event set scope: this_instance (with an occurrence id from calendar_list_events) or whole_series.";
    const ANNOTATIONS: ToolAnnotations = ToolAnnotations::DESTRUCTIVE_IDEMPOTENT;
    const ACCESS: RequiredAccess = RequiredAccess::Calendar(CalendarAccess::Write);

    async fn run(
        &self,
        context: &ToolContext,
        args: Self::Args,
    ) -> Result<Self::Output, ToolError> {
        let calendar_id = calendar_id(Self::NAME, args.calendar_id)?;
        let event_id =
            EventId::new(args.event_id).map_err(|error| invalid(Self::NAME, "event_id", error))?;
        let send_updates = SendUpdates::from(args.send_updates.unwrap_or_default());
        let fields = TimeFields {
            start: args.start.as_deref(),
            end: args.end.as_deref(),
            time_zone: args.time_zone.as_deref(),
            start_date: args.start_date.as_deref(),
            end_date: args.end_date.as_deref(),
        };
        if let Some(lines) = &args.recurrence {
            check_recurrence(Self::NAME, lines)?;
        }

        let target =
            resolve_target(Self::NAME, context, &calendar_id, event_id, args.scope).await?;
        let mut notes: Vec<String> = target.note.iter().cloned().collect();
        let event_zone = target
            .event
            .start
            .time_zone
            .as_deref()
            .and_then(|name| parse_zone(name).ok());
        let times = fields.parse(Self::NAME, event_zone)?;
        let attendees = args
            .attendees
            .as_deref()
            .map(|addresses| {
                attendee_entries(Self::NAME, context, addresses, &target.event.attendees)
            })
            .transpose()?;

        let times = match &target.occurrence {
            Some(occurrence) => shift_to_series(Self::NAME, times, occurrence, &target.event)?,
            None => times,
        };
        let (start, end) = patch_times(Self::NAME, times, &target.event, &mut notes)?;
        let attendees = attendees.map(|new| keep_own_entry(new, &target.event));
        let patch = EventWrite {
            id: None,
            summary: args.summary,
            description: args.description,
            location: args.location,
            start,
            end,
            attendees,
            recurrence: args.recurrence,
            transparency: args.show_as.map(ShowAs::transparency),
        };
        if patch.is_empty() {
            return Err(ToolError::InvalidArguments {
                tool: Self::NAME,
                message: "no field to change was given; give at least one of summary, \
                          description, location, start, end, time_zone, start_date, end_date, \
                          attendees, recurrence or show_as"
                    .to_owned(),
            });
        }

        check_notified(
            context,
            send_updates,
            &target.event,
            patch.attendees.as_deref(),
        )?;

        let updated = patch_event(context, &calendar_id, &target.id, &patch, send_updates).await?;
        Ok(EventChangeResult::of(
            "updated",
            &calendar_id,
            updated,
            send_updates,
            notes,
        ))
    }
}

/// Turns the parsed time fields into the patch's `start` and `end`. A start without an
/// end keeps the event's length. Without `time_zone` the times keep the event's zone,
/// which Google needs to expand a recurring series.
fn patch_times(
    tool: &'static str,
    times: Times,
    event: &Event,
    notes: &mut Vec<String>,
) -> Result<
    (
        Option<crate::domain::models::calendar::EventDateTime>,
        Option<crate::domain::models::calendar::EventDateTime>,
    ),
    ToolError,
> {
    match times {
        Times::Unchanged => Ok((None, None)),
        Times::AllDay { start, end } => {
            let old_start = event
                .start
                .date
                .as_deref()
                .and_then(|value| parse_date(value).ok());
            let old_end = event
                .end
                .date
                .as_deref()
                .and_then(|value| parse_date(value).ok());
            let end = match (start, end, old_start, old_end) {
                (_, Some(end), _, _) => Some(end),
                (Some(start), None, Some(old_start), Some(old_end)) => {
                    Some(start + (old_end - old_start))
                }
                (Some(start), None, _, _) => Some(start + Duration::days(1)),
                (None, None, _, _) => None,
            };
            if let (Some(start), Some(end)) = (start.or(old_start), end) {
                check_date_span(start, end).map_err(|error| invalid(tool, "end_date", error))?;
            }
            Ok((start.map(date_boundary), end.map(date_boundary)))
        }
        Times::Timed { start, end, zone } => {
            let recurring = !event.recurrence.is_empty();
            // Without a new zone the event keeps its own, which a recurring series must have.
            let existing = event
                .start
                .time_zone
                .as_deref()
                .and_then(|name| parse_zone(name).ok());
            let zone = match (zone, existing) {
                (Some(zone), _) => Some(zone),
                (None, Some(existing)) => {
                    notes.push(format!("the event keeps its zone {existing}"));
                    Some(existing)
                }
                (None, None) if recurring => {
                    return Err(invalid(
                        tool,
                        "time_zone",
                        "missing; a recurring series needs an IANA zone for its times",
                    ));
                }
                (None, None) => None,
            };
            for resolved in start.iter().chain(end.iter()) {
                notes.extend(resolved.note.clone());
            }
            let old_start = event
                .start
                .date_time
                .as_deref()
                .and_then(|value| DateTime::parse_from_rfc3339(value).ok());
            let old_end = event
                .end
                .date_time
                .as_deref()
                .and_then(|value| DateTime::parse_from_rfc3339(value).ok());
            let start = start.map(|resolved| resolved.instant);
            let end = match (start, end, old_start, old_end) {
                (_, Some(end), _, _) => Some(end.instant),
                (Some(start), None, Some(old_start), Some(old_end)) => {
                    Some(start + (old_end - old_start))
                }
                (Some(_), None, _, _) => {
                    return Err(invalid(
                        tool,
                        "end",
                        "missing; the event has no timed end to keep the length of (is it all-day?), so give end too",
                    ));
                }
                (None, None, _, _) => None,
            };
            if let (Some(start), Some(end)) = (start.or(old_start), end) {
                check_order(tool, &start, &end)?;
            }
            let in_zone = |instant: DateTime<FixedOffset>| match zone {
                Some(zone) => instant.with_timezone(&zone).fixed_offset(),
                None => instant,
            };
            // Google needs both ends of a recurring event to name the zone.
            let (start, end) = match (start, end, old_start, old_end) {
                (Some(start), Some(end), _, _) => (Some(start), Some(end)),
                (None, Some(end), Some(old_start), _) if recurring => (Some(old_start), Some(end)),
                (start, end, _, _) => (start, end),
            };
            Ok((
                start.map(|instant| timed_boundary(&in_zone(instant), zone)),
                end.map(|instant| timed_boundary(&in_zone(instant), zone)),
            ))
        }
    }
}

/// Turns times given for one occurrence into the series' own times, so that every
/// occurrence moves as that one does. The shift is taken in local time, so "from 09:00 to
/// 10:00" moves every occurrence to 10:00 local, on either side of a daylight-saving
/// change.
///
/// # Errors
///
/// [`ToolError::InvalidArguments`] when the series' shifted start falls into a
/// daylight-saving gap, and [`ToolError::Rejected`] when the occurrence and the series
/// are not both timed or both all-day.
fn shift_to_series(
    tool: &'static str,
    times: Times,
    occurrence: &Event,
    series: &Event,
) -> Result<Times, ToolError> {
    let mismatch = || {
        ToolError::Rejected(format!(
            "{tool}: the times of occurrence {} and of its series {} are not of the same kind \
             (timed or all-day), so the change cannot be applied to the whole series",
            occurrence.id, series.id
        ))
    };
    match times {
        Times::Unchanged => Ok(Times::Unchanged),
        Times::AllDay { start, end } => {
            let date = |value: &Option<String>| value.as_deref().and_then(|d| parse_date(d).ok());
            let shift = |new: Option<NaiveDate>, from: &Option<String>, to: &Option<String>| match (
                new,
                date(from),
                date(to),
            ) {
                (None, _, _) => Ok(None),
                (Some(new), Some(from), Some(to)) => Ok(Some(to + (new - from))),
                _ => Err(mismatch()),
            };
            Ok(Times::AllDay {
                start: shift(start, &occurrence.start.date, &series.start.date)?,
                end: shift(end, &occurrence.end.date, &series.end.date)?,
            })
        }
        Times::Timed { start, end, zone } => {
            let series_zone = series
                .start
                .time_zone
                .as_deref()
                .and_then(|name| parse_zone(name).ok());
            let local_zone = zone.or(series_zone).unwrap_or(Tz::UTC);
            let instant = |value: &Option<String>| {
                value
                    .as_deref()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            };
            let shift = |new: Option<ResolvedTime>,
                         field: &'static str,
                         from: &Option<String>,
                         to: &Option<String>| {
                let Some(new) = new else {
                    return Ok(None);
                };
                let (Some(from), Some(to)) = (instant(from), instant(to)) else {
                    return Err(mismatch());
                };
                let local = |at: DateTime<FixedOffset>| at.with_timezone(&local_zone).naive_local();
                let moved = local(to) + (local(new.instant) - local(from));
                resolve_local(moved, local_zone)
                    .map(Some)
                    .map_err(|error| invalid(tool, field, format!("for the whole series: {error}")))
            };
            Ok(Times::Timed {
                start: shift(
                    start,
                    "start",
                    &occurrence.start.date_time,
                    &series.start.date_time,
                )?,
                end: shift(end, "end", &occurrence.end.date_time, &series.end.date_time)?,
                zone,
            })
        }
    }
}

/// Keeps the user's own attendee entry (with its response) in a replaced attendee list,
/// so that replacing the guests does not drop the user from their own meeting.
fn keep_own_entry(mut new: Vec<EventAttendee>, event: &Event) -> Vec<EventAttendee> {
    for old in &event.attendees {
        let Some(email) = old.email.as_deref() else {
            continue;
        };
        let listed = new.iter_mut().find(|entry| {
            entry
                .email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        });
        match listed {
            // A guest who stays keeps their response.
            Some(entry) => *entry = old.clone(),
            None if old.is_self == Some(true) => new.push(old.clone()),
            None => {}
        }
    }
    new
}

// calendar_delete_event

pub(crate) struct DeleteEvent;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeleteEventArgs {
    /// Event, series or occurrence id.
    event_id: String,
    /// Default `primary`.
    calendar_id: Option<String>,
    /// Required for recurring events.
    scope: Option<Scope>,
    /// Who gets email; default none.
    send_updates: Option<SendUpdatesArg>,
}

impl Validate for DeleteEventArgs {}

/// The event, occurrence or series that `calendar_delete_event` removed.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct EventDeleteResult {
    calendar_id: String,
    /// The id deleted: the event, the occurrence, or the series.
    deleted_event_id: String,
    summary: Option<String>,
    /// single, this_instance or whole_series.
    scope: &'static str,
    /// The guests Google emailed about it: all, externalOnly or none.
    send_updates: &'static str,
    notes: Vec<String>,
}

#[async_trait]
impl Tool for DeleteEvent {
    type Args = DeleteEventArgs;
    type Output = EventDeleteResult;

    const NAME: &'static str = "calendar_delete_event";
    const TITLE: &'static str = "Delete a calendar event";
    const DESCRIPTION: &'static str = "Delete a calendar event. For a recurring event set scope: this_instance cancels the occurrence whose id is given, whole_series deletes every occurrence.";
    const ANNOTATIONS: ToolAnnotations = ToolAnnotations::DESTRUCTIVE_IDEMPOTENT;
    const ACCESS: RequiredAccess = RequiredAccess::Calendar(CalendarAccess::Write);

    async fn run(
        &self,
        context: &ToolContext,
        args: Self::Args,
    ) -> Result<Self::Output, ToolError> {
        let calendar_id = calendar_id(Self::NAME, args.calendar_id)?;
        let event_id =
            EventId::new(args.event_id).map_err(|error| invalid(Self::NAME, "event_id", error))?;
        let send_updates = SendUpdates::from(args.send_updates.unwrap_or_default());

        let target =
            resolve_target(Self::NAME, context, &calendar_id, event_id, args.scope).await?;
        let scope = match (
            &target.event.recurring_event_id,
            target.event.recurrence.is_empty(),
        ) {
            (Some(_), _) => "this_instance",
            (None, false) => "whole_series",
            (None, true) => "single",
        };
        check_notified(context, send_updates, &target.event, None)?;

        let calendar = &context.calendar;
        let (calendar_ref, target_ref) = (&calendar_id, &target.id);
        context
            .with_google(|credentials| async move {
                calendar
                    .delete_event(
                        &credentials.access_token,
                        calendar_ref,
                        target_ref,
                        send_updates,
                    )
                    .await
            })
            .await
            .map_err(|error| {
                error.explain_not_found(|| format!("event {} in calendar {calendar_id}", target.id))
            })?;

        Ok(EventDeleteResult {
            calendar_id: calendar_id.to_string(),
            deleted_event_id: target.id.to_string(),
            summary: target.event.summary,
            scope,
            send_updates: send_updates.as_str(),
            notes: target.note.into_iter().collect(),
        })
    }
}

impl Render for EventDeleteResult {
    fn render_text(&self) -> String {
        let what = match self.scope {
            "this_instance" => "occurrence",
            "whole_series" => "recurring series",
            _ => "event",
        };
        let mut out = format!(
            "Deleted {what} {} in {}: {}\nNotifications: sendUpdates={}\n",
            self.deleted_event_id,
            self.calendar_id,
            self.summary.as_deref().unwrap_or("(no title)"),
            self.send_updates
        );
        for note in &self.notes {
            out.push_str(&format!("Note: {note}\n"));
        }
        out.trim_end().to_owned()
    }
}

// calendar_respond_to_event

pub(crate) struct RespondToEvent;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RespondToEventArgs {
    /// Event or occurrence id.
    event_id: String,
    /// Default `primary`.
    calendar_id: Option<String>,
    /// The reply.
    response: Response,
    /// A note to the organizer.
    comment: Option<String>,
    /// Required for recurring events.
    scope: Option<Scope>,
    /// Who gets email; default none.
    send_updates: Option<SendUpdatesArg>,
}

impl Validate for RespondToEventArgs {
    fn validate(&self) -> Result<(), (&'static str, String)> {
        check_length("comment", self.comment.as_deref(), MAX_COMMENT_CHARS)
    }
}

#[async_trait]
impl Tool for RespondToEvent {
    type Args = RespondToEventArgs;
    type Output = EventChangeResult;

    const NAME: &'static str = "calendar_respond_to_event";
    const TITLE: &'static str = "Reply to an invitation";
    const DESCRIPTION: &'static str = "Reply to an invitation as the user (accepted, declined or tentative) with an optional comment, changing only the user's own attendee entry. Recurring events need scope.";
    const ANNOTATIONS: ToolAnnotations = RESPONSE;
    const ACCESS: RequiredAccess = RequiredAccess::Calendar(CalendarAccess::Write);

    async fn run(
        &self,
        context: &ToolContext,
        args: Self::Args,
    ) -> Result<Self::Output, ToolError> {
        let calendar_id = calendar_id(Self::NAME, args.calendar_id)?;
        let event_id =
            EventId::new(args.event_id).map_err(|error| invalid(Self::NAME, "event_id", error))?;
        let send_updates = SendUpdates::from(args.send_updates.unwrap_or_default());

        let target =
            resolve_target(Self::NAME, context, &calendar_id, event_id, args.scope).await?;
        let mut attendees = target.event.attendees.clone();
        let own = own_entry(&mut attendees, &calendar_id).ok_or_else(|| {
            ToolError::Rejected(format!(
                "{}: the user is not an attendee of event {}, so there is no invitation to reply to",
                Self::NAME,
                target.id
            ))
        })?;
        own.response_status = Some(args.response.as_str().to_owned());
        if let Some(comment) = args.comment {
            own.comment = Some(comment);
        }

        // NOTE: which guests Google emails about a reply is not documented, so every guest
        // and the organizer are checked, as for an update.
        check_notified(context, send_updates, &target.event, None)?;
        let patch = EventWrite {
            attendees: Some(attendees),
            ..EventWrite::default()
        };
        let updated = patch_event(context, &calendar_id, &target.id, &patch, send_updates).await?;
        let notes = target.note.into_iter().collect();
        Ok(EventChangeResult::of(
            "responded",
            &calendar_id,
            updated,
            send_updates,
            notes,
        ))
    }
}

/// Finds the user's own attendee entry: the one Google marks `self`, else the one whose
/// address is the calendar id.
fn own_entry<'a>(
    attendees: &'a mut [EventAttendee],
    calendar_id: &CalendarId,
) -> Option<&'a mut EventAttendee> {
    let by_flag = attendees
        .iter()
        .position(|attendee| attendee.is_self == Some(true));
    let by_address = || {
        attendees.iter().position(|attendee| {
            attendee
                .email
                .as_deref()
                .is_some_and(|email| email.eq_ignore_ascii_case(calendar_id.as_str()))
        })
    };
    let index = by_flag.or_else(by_address)?;
    attendees.get_mut(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_base32hex() {
        let id = new_event_id();
        assert_eq!(id.len(), 26);
        assert!(
            id.chars().all(|c| matches!(c, '0'..='9' | 'a'..='v')),
            "{id}"
        );
        assert_ne!(id, new_event_id());
    }

    #[test]
    fn own_entry_by_flag_or_address() {
        let attendee = |email: &str, is_self: Option<bool>| EventAttendee {
            email: Some(email.to_owned()),
            is_self,
            ..EventAttendee::default()
        };
        let mut flagged = vec![
            attendee("a@example.com", None),
            attendee("me@example.com", Some(true)),
        ];
        let primary = CalendarId::primary();
        assert_eq!(
            own_entry(&mut flagged, &primary)
                .and_then(|entry| entry.email.clone())
                .as_deref(),
            Some("me@example.com")
        );

        let mut unflagged = vec![
            attendee("a@example.com", None),
            attendee("Me@Example.com", None),
        ];
        let by_address = CalendarId::new("me@example.com").unwrap();
        assert!(own_entry(&mut unflagged, &by_address).is_some());
        assert!(own_entry(&mut unflagged, &primary).is_none());
    }

    #[test]
    fn replaced_guests_keep_user_and_responses() {
        let event = Event {
            attendees: vec![
                EventAttendee {
                    email: Some("me@example.com".to_owned()),
                    is_self: Some(true),
                    response_status: Some("accepted".to_owned()),
                    ..EventAttendee::default()
                },
                EventAttendee {
                    email: Some("ana@example.com".to_owned()),
                    response_status: Some("declined".to_owned()),
                    ..EventAttendee::default()
                },
                EventAttendee {
                    email: Some("gone@example.com".to_owned()),
                    ..EventAttendee::default()
                },
            ],
            ..Event::default()
        };
        let new = vec![
            EventAttendee {
                email: Some("ana@example.com".to_owned()),
                ..EventAttendee::default()
            },
            EventAttendee {
                email: Some("new@example.com".to_owned()),
                ..EventAttendee::default()
            },
        ];
        let kept = keep_own_entry(new, &event);
        let emails: Vec<_> = kept.iter().filter_map(|a| a.email.as_deref()).collect();
        assert_eq!(
            emails,
            ["ana@example.com", "new@example.com", "me@example.com"]
        );
        assert_eq!(kept[0].response_status.as_deref(), Some("declined"));
    }

    #[test]
    fn outage_error_names_possible_event() {
        let event = EventWrite {
            id: Some("abcdef12345".to_owned()),
            ..EventWrite::default()
        };
        let outage = ToolError::Google(GoogleApiError::Unavailable {
            message: "timed out".to_owned(),
        });
        let message = name_possible_event(outage, &event).to_string();
        assert!(message.contains("abcdef12345"), "{message}");
        assert!(message.contains("calendar_get_event"), "{message}");

        let not_found = ToolError::Google(GoogleApiError::NotFound {
            message: "no calendar".to_owned(),
        });
        let message = name_possible_event(not_found, &event).to_string();
        assert!(!message.contains("abcdef12345"), "{message}");
    }

    #[test]
    fn mixed_time_fields_are_rejected() {
        let fields = TimeFields {
            start: Some("2026-03-06T09:00:00Z"),
            start_date: Some("2026-03-06"),
            ..TimeFields::default()
        };
        let error = fields.parse("t", None).unwrap_err();
        assert!(error.to_string().contains("not both"), "{error}");

        let fields = TimeFields {
            start: Some("2026-03-06T09:00"),
            time_zone: Some("Mars/Olympus"),
            ..TimeFields::default()
        };
        let error = fields.parse("t", None).unwrap_err().to_string();
        assert!(error.contains("time_zone"), "{error}");
        assert!(error.contains("Mars/Olympus"), "{error}");
    }
}

//! `calendar_query_freebusy` and `calendar_find_free_slots`.

use crate::domain::zone::Tz;
use async_trait::async_trait;
use chrono::{DateTime, Duration, SecondsFormat, Utc, Weekday};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::events::invalid;
use super::slots::{Interval, WorkingHours, free_slots, merge, parse_clock, parse_weekday};
use super::{parse_time_bound, parse_zone};
use crate::domain::access::{CalendarAccess, RequiredAccess};
use crate::domain::models::calendar::{FreeBusyRequest, FreeBusyRequestItem, FreeBusyResponse};
use crate::domain::tools::definition::{Validate, check_range};
use crate::domain::tools::{Render, Tool, ToolAnnotations, ToolContext, ToolError};

/// The maximum number of calendars in one `freebusy.query`, Google's `calendarExpansionMax` limit.
const MAX_CALENDARS: usize = 50;
/// The default window, in days.
const DEFAULT_WINDOW_DAYS: i64 = 7;
/// The longest window accepted, in days.
// NOTE: Google does not document its own limit for freebusy.query windows; this bound
// keeps a request and the slot search small and is an estimate, not Google's number.
const MAX_WINDOW_DAYS: i64 = 62;
/// The number of free slots returned when the request gives none.
const DEFAULT_MAX_SLOTS: u32 = 20;
const MAX_MAX_SLOTS: u32 = 200;

/// A window and the zone it is read in.
#[derive(Debug)]
struct Window {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

fn parse_window(
    tool: &'static str,
    time_min: Option<&str>,
    time_max: Option<&str>,
    zone: Option<Tz>,
) -> Result<Window, ToolError> {
    let start = match time_min {
        Some(value) => {
            parse_time_bound(value, zone).map_err(|error| invalid(tool, "time_min", error))?
        }
        None => Utc::now(),
    };
    let end = match time_max {
        Some(value) => {
            parse_time_bound(value, zone).map_err(|error| invalid(tool, "time_max", error))?
        }
        None => start + Duration::days(DEFAULT_WINDOW_DAYS),
    };
    if end <= start {
        return Err(invalid(
            tool,
            "time_max",
            format!("{} is not after time_min {}", utc(&end), utc(&start)),
        ));
    }
    if end - start > Duration::days(MAX_WINDOW_DAYS) {
        return Err(invalid(
            tool,
            "time_max",
            format!("the window is longer than {MAX_WINDOW_DAYS} days; split it into shorter ones"),
        ));
    }
    Ok(Window { start, end })
}

fn utc(instant: &DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn in_zone(instant: &DateTime<Utc>, zone: Tz) -> String {
    instant
        .with_timezone(&zone)
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Lists the calendars to query: `primary` first, then the given ids without repeats.
fn calendar_items(tool: &'static str, calendars: &[String]) -> Result<Vec<String>, ToolError> {
    let mut ids = vec!["primary".to_owned()];
    for id in calendars {
        let id = id.trim();
        if id.is_empty() || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid(
                tool,
                "calendars",
                format!("{id:?} is not a calendar id or address"),
            ));
        }
        if !ids.iter().any(|known| known.eq_ignore_ascii_case(id)) {
            ids.push(id.to_owned());
        }
    }
    if ids.len() > MAX_CALENDARS {
        return Err(invalid(
            tool,
            "calendars",
            format!(
                "{} calendars is too many; Google answers for at most {MAX_CALENDARS}",
                ids.len()
            ),
        ));
    }
    Ok(ids)
}

async fn query(
    context: &ToolContext,
    window: &Window,
    zone: Option<Tz>,
    ids: &[String],
) -> Result<FreeBusyResponse, ToolError> {
    let request = FreeBusyRequest {
        time_min: utc(&window.start),
        time_max: utc(&window.end),
        time_zone: zone.map(|zone| zone.name().to_owned()),
        items: ids
            .iter()
            .map(|id| FreeBusyRequestItem { id: id.clone() })
            .collect(),
    };
    let calendar = &context.calendar;
    let request = &request;
    context
        .with_google(|credentials| async move {
            calendar
                .query_freebusy(&credentials.access_token, request)
                .await
        })
        .await
}

/// The busy intervals and errors of one calendar, read from Google's response.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CalendarBusy {
    id: String,
    busy: Vec<Interval>,
    /// Google's error reasons for this calendar, such as `notFound`.
    errors: Vec<String>,
}

/// Reads each requested calendar's entry. A calendar missing from the response, or a busy
/// period that does not parse, is reported as an error of that calendar.
fn read_response(ids: &[String], response: &FreeBusyResponse) -> Vec<CalendarBusy> {
    ids.iter()
        .map(|id| {
            let entry = response
                .calendars
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(id))
                .or_else(|| primary_under_address(id, ids, response))
                .map(|(_, entry)| entry);
            let Some(entry) = entry else {
                return CalendarBusy {
                    id: id.clone(),
                    busy: Vec::new(),
                    errors: vec!["missingFromResponse".to_owned()],
                };
            };

            let mut errors: Vec<String> = entry
                .errors
                .iter()
                .map(|error| error.reason.clone().unwrap_or_else(|| "unknown".to_owned()))
                .collect();
            let mut busy = Vec::new();
            for period in &entry.busy {
                let start = DateTime::parse_from_rfc3339(&period.start);
                let end = DateTime::parse_from_rfc3339(&period.end);
                match (start, end) {
                    (Ok(start), Ok(end)) => {
                        busy.push((start.with_timezone(&Utc), end.with_timezone(&Utc)))
                    }
                    _ => errors.push(format!("unreadablePeriod {}/{}", period.start, period.end)),
                }
            }
            CalendarBusy {
                id: id.clone(),
                busy,
                errors,
            }
        })
        .collect()
}

/// Finds the entry of `primary` when the response names it by the user's address instead:
/// the one key that no requested id matches.
// NOTE: Google's documentation does not say whether it echoes `primary` or the address;
// this fallback covers the second case.
fn primary_under_address<'a>(
    id: &str,
    ids: &[String],
    response: &'a FreeBusyResponse,
) -> Option<(
    &'a String,
    &'a crate::domain::models::calendar::FreeBusyCalendar,
)> {
    if id != "primary" {
        return None;
    }
    let mut unmatched = response
        .calendars
        .iter()
        .filter(|(key, _)| !ids.iter().any(|id| id.eq_ignore_ascii_case(key)));
    match (unmatched.next(), unmatched.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

/// One calendar's problem, reported beside the result.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CalendarError {
    calendar: String,
    /// e.g. notFound.
    reason: String,
}

fn calendar_errors(calendars: &[CalendarBusy]) -> Vec<CalendarError> {
    calendars
        .iter()
        .flat_map(|calendar| {
            calendar.errors.iter().map(|reason| CalendarError {
                calendar: calendar.id.clone(),
                reason: reason.clone(),
            })
        })
        .collect()
}

// calendar_query_freebusy

pub(crate) struct QueryFreeBusy;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueryFreeBusyArgs {
    /// Other calendar ids or people's addresses.
    calendars: Option<Vec<String>>,
    /// Window start (RFC 3339, local time or date); default now.
    time_min: Option<String>,
    /// Window end; default +7 days, max 62.
    time_max: Option<String>,
    /// IANA zone of local inputs and results; default UTC.
    time_zone: Option<String>,
}

impl Validate for QueryFreeBusyArgs {}

/// Busy periods per calendar.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct FreeBusyResult {
    /// The zone of the times below.
    time_zone: String,
    time_min: String,
    time_max: String,
    calendars: Vec<CalendarBusyResult>,
}

/// One calendar's busy periods.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CalendarBusyResult {
    id: String,
    busy: Vec<PeriodResult>,
    /// Reasons it could not be read, e.g. notFound.
    errors: Vec<String>,
}

/// A period, end exclusive.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct PeriodResult {
    start: String,
    end: String,
}

#[async_trait]
impl Tool for QueryFreeBusy {
    type Args = QueryFreeBusyArgs;
    type Output = FreeBusyResult;

    const NAME: &'static str = "calendar_query_freebusy";
    const TITLE: &'static str = "Query free/busy times";
    const DESCRIPTION: &'static str = "Busy periods of the user's calendar and of other calendars or people's addresses in a window. Unreadable calendars are listed with their error.";
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
        let window = parse_window(
            Self::NAME,
            args.time_min.as_deref(),
            args.time_max.as_deref(),
            zone,
        )?;
        let ids = calendar_items(Self::NAME, args.calendars.as_deref().unwrap_or_default())?;

        let response = query(context, &window, zone, &ids).await?;

        let shown_zone = zone.unwrap_or(Tz::UTC);
        let calendars = read_response(&ids, &response)
            .into_iter()
            .map(|calendar| CalendarBusyResult {
                busy: merge(calendar.busy)
                    .iter()
                    .map(|(start, end)| PeriodResult {
                        start: in_zone(start, shown_zone),
                        end: in_zone(end, shown_zone),
                    })
                    .collect(),
                id: calendar.id,
                errors: calendar.errors,
            })
            .collect();
        Ok(FreeBusyResult {
            time_zone: shown_zone.name().to_owned(),
            time_min: in_zone(&window.start, shown_zone),
            time_max: in_zone(&window.end, shown_zone),
            calendars,
        })
    }
}

impl Render for FreeBusyResult {
    fn render_text(&self) -> String {
        let mut out = format!(
            "Busy times from {} to {} (zone {}):\n",
            self.time_min, self.time_max, self.time_zone
        );
        for calendar in &self.calendars {
            if !calendar.errors.is_empty() {
                out.push_str(&format!(
                    "- {}: UNKNOWN, Google reported {}\n",
                    calendar.id,
                    calendar.errors.join(", ")
                ));
                continue;
            }
            if calendar.busy.is_empty() {
                out.push_str(&format!("- {}: free the whole window\n", calendar.id));
                continue;
            }
            out.push_str(&format!("- {}:\n", calendar.id));
            for period in &calendar.busy {
                out.push_str(&format!("  {} to {}\n", period.start, period.end));
            }
        }
        out.trim_end().to_owned()
    }
}

// calendar_find_free_slots

pub(crate) struct FindFreeSlots;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FindFreeSlotsArgs {
    /// Other people's addresses or calendar ids.
    attendees: Option<Vec<String>>,
    /// Minimum slot length, minutes.
    #[schemars(range(min = 5, max = 1440))]
    duration_minutes: u32,
    /// Window start (RFC 3339, local time or date); default now.
    time_min: Option<String>,
    /// Window end; default +7 days, max 62.
    time_max: Option<String>,
    /// IANA zone; default the primary calendar's.
    time_zone: Option<String>,
    /// Local HH:MM-HH:MM; default 09:00-17:00.
    working_hours: Option<String>,
    /// Default mon-fri.
    working_days: Option<Vec<String>>,
    /// Minutes kept free around busy times; default 0.
    buffer_minutes: Option<u32>,
    /// Slots to return (1-200, default 20).
    #[schemars(range(min = 1, max = MAX_MAX_SLOTS))]
    max_slots: Option<u32>,
}

impl Validate for FindFreeSlotsArgs {
    fn validate(&self) -> Result<(), (&'static str, String)> {
        check_range("duration_minutes", Some(self.duration_minutes), 5, 1440)?;
        check_range("buffer_minutes", self.buffer_minutes, 0, 240)?;
        check_range("max_slots", self.max_slots, 1, MAX_MAX_SLOTS)
    }
}

/// Free time common to every checked calendar.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct FreeSlotsResult {
    /// IANA zone of the hours and times.
    time_zone: String,
    time_min: String,
    time_max: String,
    /// e.g. 09:00-17:00 mon,fri
    working_hours: String,
    #[serde(skip)]
    #[schemars(skip)]
    duration_minutes: u32,
    #[serde(skip)]
    #[schemars(skip)]
    buffer_minutes: u32,
    /// Free intervals, earliest first.
    slots: Vec<SlotResult>,
    /// More slots exist than max_slots.
    more_slots: bool,

    calendars_checked: Vec<String>,
    /// Calendars not checked; slots may clash with them.
    errors: Vec<CalendarError>,
}

/// A free interval.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct SlotResult {
    start: String,
    end: String,
    minutes: i64,
}

#[async_trait]
impl Tool for FindFreeSlots {
    type Args = FindFreeSlotsArgs;
    type Output = FreeSlotsResult;

    const NAME: &'static str = "calendar_find_free_slots";
    const TITLE: &'static str = "Find free slots";
    const DESCRIPTION: &'static str = "Free slots common to the user and the given people, inside local working hours (default 09:00-17:00 Mon-Fri). Unreadable calendars are reported, not taken as free.";
    const ANNOTATIONS: ToolAnnotations = ToolAnnotations::READ_ONLY;
    const ACCESS: RequiredAccess = RequiredAccess::Calendar(CalendarAccess::Read);

    async fn run(
        &self,
        context: &ToolContext,
        args: Self::Args,
    ) -> Result<Self::Output, ToolError> {
        let hours = working_hours(Self::NAME, &args)?;
        let zone = match args.time_zone.as_deref() {
            Some(name) => {
                parse_zone(name).map_err(|error| invalid(Self::NAME, "time_zone", error))?
            }
            None => primary_zone(context).await?,
        };
        let window = parse_window(
            Self::NAME,
            args.time_min.as_deref(),
            args.time_max.as_deref(),
            Some(zone),
        )?;
        let ids = calendar_items(Self::NAME, args.attendees.as_deref().unwrap_or_default())?;
        let duration = Duration::minutes(i64::from(args.duration_minutes));
        let buffer_minutes = args.buffer_minutes.unwrap_or(0);
        let max_slots = args.max_slots.unwrap_or(DEFAULT_MAX_SLOTS) as usize;

        let response = query(context, &window, Some(zone), &ids).await?;

        let calendars = read_response(&ids, &response);
        let busy: Vec<Interval> = calendars
            .iter()
            .flat_map(|calendar| calendar.busy.iter().copied())
            .collect();
        let slots = free_slots(
            &busy,
            (window.start, window.end),
            &hours,
            zone,
            duration,
            Duration::minutes(i64::from(buffer_minutes)),
        );

        Ok(FreeSlotsResult {
            time_zone: zone.name().to_owned(),
            time_min: in_zone(&window.start, zone),
            time_max: in_zone(&window.end, zone),
            working_hours: describe_hours(&hours),
            duration_minutes: args.duration_minutes,
            buffer_minutes,
            more_slots: slots.len() > max_slots,
            slots: slots
                .iter()
                .take(max_slots)
                .map(|(start, end)| SlotResult {
                    start: in_zone(start, zone),
                    end: in_zone(end, zone),
                    minutes: (*end - *start).num_minutes(),
                })
                .collect(),
            errors: calendar_errors(&calendars),
            calendars_checked: calendars
                .into_iter()
                .filter(|calendar| calendar.errors.is_empty())
                .map(|calendar| calendar.id)
                .collect(),
        })
    }
}

fn working_hours(tool: &'static str, args: &FindFreeSlotsArgs) -> Result<WorkingHours, ToolError> {
    let default = WorkingHours::default();
    let (start, end) = match args.working_hours.as_deref() {
        Some(value) => {
            let (start, end) = value.split_once('-').ok_or_else(|| {
                invalid(
                    tool,
                    "working_hours",
                    format!("{value:?} is not a range; use HH:MM-HH:MM, such as 09:00-17:00"),
                )
            })?;
            let start = parse_clock(start, false)
                .map_err(|error| invalid(tool, "working_hours", error))?
                .unwrap_or(default.start);
            let end =
                parse_clock(end, true).map_err(|error| invalid(tool, "working_hours", error))?;
            (start, end)
        }
        None => (default.start, default.end),
    };
    if end.is_some_and(|end| end <= start) {
        return Err(invalid(
            tool,
            "working_hours",
            "the end is not after the start; working hours that pass midnight are not supported",
        ));
    }
    let days = match &args.working_days {
        Some(names) if names.is_empty() => {
            return Err(invalid(
                tool,
                "working_days",
                "is empty; name at least one day",
            ));
        }
        Some(names) => names
            .iter()
            .map(|name| parse_weekday(name))
            .collect::<Result<Vec<Weekday>, String>>()
            .map_err(|error| invalid(tool, "working_days", error))?,
        None => default.days,
    };
    Ok(WorkingHours { start, end, days })
}

fn describe_hours(hours: &WorkingHours) -> String {
    let end = hours
        .end
        .map_or_else(|| "24:00".to_owned(), |end| end.format("%H:%M").to_string());
    let days: Vec<String> = hours
        .days
        .iter()
        .map(|day| day.to_string().to_lowercase())
        .collect();
    format!("{}-{end} {}", hours.start.format("%H:%M"), days.join(","))
}

/// Looks up the zone of the user's primary calendar, falling back to UTC when Google names none.
async fn primary_zone(context: &ToolContext) -> Result<Tz, ToolError> {
    let calendar = &context.calendar;
    let list = context
        .with_google(|credentials| async move {
            calendar
                .list_calendars(&credentials.access_token, None)
                .await
        })
        .await?;
    let zone = list
        .items
        .iter()
        .find(|entry| entry.primary == Some(true))
        .and_then(|entry| entry.time_zone.as_deref())
        .and_then(|name| parse_zone(name).ok());
    Ok(zone.unwrap_or(Tz::UTC))
}

impl Render for FreeSlotsResult {
    fn render_text(&self) -> String {
        let mut out = format!(
            "Free slots of at least {} min from {} to {}, working hours {} ({}), buffer {} min:\n",
            self.duration_minutes,
            self.time_min,
            self.time_max,
            self.working_hours,
            self.time_zone,
            self.buffer_minutes
        );
        if self.slots.is_empty() {
            out.push_str("- none\n");
        }
        for slot in &self.slots {
            out.push_str(&format!(
                "- {} to {} ({} min)\n",
                slot.start, slot.end, slot.minutes
            ));
        }
        if self.more_slots {
            out.push_str("More slots exist: raise max_slots or narrow the window.\n");
        }
        out.push_str(&format!("Checked: {}\n", self.calendars_checked.join(", ")));
        for error in &self.errors {
            out.push_str(&format!(
                "NOT checked: {} (Google reported {}); these slots may clash with its events\n",
                error.calendar, error.reason
            ));
        }
        out.trim_end().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::domain::models::calendar::{FreeBusyCalendar, FreeBusyError, TimePeriod};

    fn period(start: &str, end: &str) -> TimePeriod {
        TimePeriod {
            start: start.to_owned(),
            end: end.to_owned(),
        }
    }

    #[test]
    fn attendee_error_is_reported_not_hidden() {
        let mut calendars = BTreeMap::new();
        calendars.insert(
            "primary".to_owned(),
            FreeBusyCalendar {
                busy: vec![period("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z")],
                errors: Vec::new(),
            },
        );
        calendars.insert(
            "ana@example.com".to_owned(),
            FreeBusyCalendar {
                busy: vec![period(
                    "2026-03-02T14:00:00+01:00",
                    "2026-03-02T15:00:00+01:00",
                )],
                errors: Vec::new(),
            },
        );
        calendars.insert(
            "ghost@example.com".to_owned(),
            FreeBusyCalendar {
                busy: Vec::new(),
                errors: vec![FreeBusyError {
                    domain: Some("global".to_owned()),
                    reason: Some("notFound".to_owned()),
                }],
            },
        );
        let response = FreeBusyResponse {
            calendars,
            ..FreeBusyResponse::default()
        };
        let ids = calendar_items(
            "t",
            &[
                "ana@example.com".to_owned(),
                "ghost@example.com".to_owned(),
                "late@example.com".to_owned(),
            ],
        )
        .unwrap();

        let read = read_response(&ids, &response);
        assert_eq!(read.len(), 4);
        assert_eq!(read[0].busy.len(), 1);
        // Ana's period is 13:00-14:00 UTC, combined with the user's for the slot search.
        assert_eq!(utc(&read[1].busy[0].0), "2026-03-02T13:00:00Z");
        assert_eq!(read[2].errors, ["notFound"]);
        assert_eq!(read[3].errors, ["missingFromResponse"]);

        let errors = calendar_errors(&read);
        let named: Vec<_> = errors
            .iter()
            .map(|e| (e.calendar.as_str(), e.reason.as_str()))
            .collect();
        assert_eq!(
            named,
            [
                ("ghost@example.com", "notFound"),
                ("late@example.com", "missingFromResponse")
            ]
        );
    }

    #[test]
    fn calendar_list_starts_with_primary() {
        let ids = calendar_items(
            "t",
            &["a@example.com".to_owned(), "A@example.com".to_owned()],
        )
        .unwrap();
        assert_eq!(ids, ["primary", "a@example.com"]);
        let many: Vec<String> = (0..50).map(|i| format!("p{i}@example.com")).collect();
        assert!(calendar_items("t", &many).is_err());
        assert!(calendar_items("t", &["a b".to_owned()]).is_err());
    }

    #[test]
    fn window_is_bounded() {
        let error = parse_window("t", Some("2026-03-02"), Some("2026-06-02"), None).unwrap_err();
        assert!(error.to_string().contains("62 days"), "{error}");
        let error = parse_window("t", Some("2026-03-02"), Some("2026-03-01"), None).unwrap_err();
        assert!(error.to_string().contains("not after"), "{error}");
    }

    #[test]
    fn primary_found_under_address() {
        let mut calendars = BTreeMap::new();
        calendars.insert(
            "me@example.com".to_owned(),
            FreeBusyCalendar {
                busy: vec![period("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z")],
                errors: Vec::new(),
            },
        );
        let response = FreeBusyResponse {
            calendars,
            ..FreeBusyResponse::default()
        };
        let read = read_response(&["primary".to_owned()], &response);
        assert_eq!(read[0].busy.len(), 1);
        assert!(read[0].errors.is_empty());
    }
}

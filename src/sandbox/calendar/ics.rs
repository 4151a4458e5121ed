//! Reading `VEVENT`s out of iCalendar text with the `icalendar` crate's parser.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use icalendar::parser::{Component, Property, read_calendar_simple, unfold};

use crate::domain::models::calendar::{EventAttendee, EventPerson};

use super::series::{EventZone, Recurrence, Series, Start, Timing, local_to_utc};
use super::zone::{self, Resolved};

/// The reason given for an event whose DTEND comes before its DTSTART.
pub(super) const END_BEFORE_START: &str = "DTEND is before DTSTART";

/// A `VEVENT` before the store gives it an id.
#[derive(Debug)]
pub(super) struct ParsedEvent {
    pub(super) series: Series,
    /// The `RECURRENCE-ID` of a changed occurrence.
    pub(super) recurrence_id: Option<Start>,
}

/// The result of reading one file.
#[derive(Debug, Default)]
pub(super) struct ParsedFile {
    pub(super) events: Vec<ParsedEvent>,
    /// Why some `VEVENT`s were left out, one entry per event.
    pub(super) skipped: Vec<String>,
    /// Values that were ignored in events that were kept, such as an unreadable RDATE.
    pub(super) ignored: Vec<String>,
}

/// Parses iCalendar `text`. `calendar_zone` is the zone of floating times and of `TZID`s
/// that name no known zone. `owner_email` marks the user's own attendee entry as `self`.
///
/// # Errors
///
/// Returns the parser's reason, with a line number, when the text is not iCalendar.
pub(super) fn parse(
    text: &str,
    calendar_zone: Tz,
    owner_email: &str,
) -> Result<ParsedFile, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let unfolded = unfold(text);

    // The crate's parser takes one root component per input, so a file of several
    // concatenated VCALENDARs is parsed one calendar at a time.
    let chunks = split_calendars(&unfolded);
    let mut roots = Vec::new();
    let mut errors = Vec::new();
    for (first_line, chunk) in &chunks {
        match read_calendar_simple(chunk) {
            Ok(components) => roots.extend(components),
            Err(error) => {
                let offset = chunk.len().saturating_sub(error.input.len());
                let line = first_line + chunk[..offset].matches('\n').count();
                errors.push(format!(
                    "not valid iCalendar near line {line} ({:?})",
                    error.code
                ));
            }
        }
    }
    if roots.is_empty() {
        return Err(errors
            .into_iter()
            .next()
            .unwrap_or_else(|| "no calendar data".to_owned()));
    }

    let mut vevents = Vec::new();
    let mut standard_offsets = HashMap::new();
    for root in &roots {
        collect(root, &mut vevents, &mut standard_offsets);
    }

    let mut context = Context {
        calendar_zone,
        owner_email,
        standard_offsets,
        unknown_tzids: HashSet::new(),
        ignored: Vec::new(),
    };
    let mut parsed = ParsedFile {
        ignored: errors,
        ..ParsedFile::default()
    };
    for vevent in vevents {
        match parse_event(vevent, &mut context) {
            Ok(event) => parsed.events.push(event),
            Err(reason) => {
                let uid = text_value(vevent, "UID").unwrap_or_else(|| "(no UID)".to_owned());
                parsed.skipped.push(format!("event {uid}: {reason}"));
            }
        }
    }
    parsed.ignored.append(&mut context.ignored);
    for tzid in context.unknown_tzids {
        tracing::warn!(tzid, zone = %calendar_zone, "unknown TZID, its times are read in the calendar's zone");
    }
    Ok(parsed)
}

/// Splits unfolded text after each `END:VCALENDAR` line, with the 1-based number of each
/// part's first line.
fn split_calendars(text: &str) -> Vec<(usize, &str)> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut first_line = 1;
    let mut line_number = 0;
    for (index, line) in text.split_inclusive('\n').scan(0, |offset, line| {
        let at = *offset;
        *offset += line.len();
        Some((at, line))
    }) {
        line_number += 1;
        if line.trim().eq_ignore_ascii_case("END:VCALENDAR") {
            let end = index + line.len();
            chunks.push((first_line, &text[start..end]));
            start = end;
            first_line = line_number + 1;
        }
    }
    if !text[start..].trim().is_empty() {
        chunks.push((first_line, &text[start..]));
    }
    chunks
}

/// Gathers the `VEVENT`s and, per `TZID`, the `TZOFFSETTO` of each `VTIMEZONE`'s last
/// `STANDARD` part (or of any part when there is no `STANDARD`).
fn collect<'a>(
    component: &'a Component<'a>,
    vevents: &mut Vec<&'a Component<'a>>,
    standard_offsets: &mut HashMap<String, i32>,
) {
    let name = component.name.as_str();
    if name.eq_ignore_ascii_case("VEVENT") {
        vevents.push(component);
        return;
    }
    if name.eq_ignore_ascii_case("VTIMEZONE") {
        let Some(tzid) = find(component, "TZID") else {
            return;
        };
        let offsets = component.components.iter().filter_map(|part| {
            let offset =
                find(part, "TZOFFSETTO").and_then(|p| zone::parse_utc_offset(p.val.as_str()))?;
            Some((part.name.as_str().eq_ignore_ascii_case("STANDARD"), offset))
        });
        let chosen =
            offsets.fold(
                None,
                |chosen: Option<(bool, i32)>, (standard, offset)| match chosen {
                    Some((true, _)) if !standard => chosen,
                    _ => Some((standard, offset)),
                },
            );
        if let Some((_, offset)) = chosen {
            standard_offsets.insert(tzid.val.as_str().to_owned(), offset);
        }
        return;
    }
    for child in &component.components {
        collect(child, vevents, standard_offsets);
    }
}

struct Context<'a> {
    calendar_zone: Tz,
    owner_email: &'a str,
    standard_offsets: HashMap<String, i32>,
    unknown_tzids: HashSet<String>,
    ignored: Vec<String>,
}

impl Context<'_> {
    fn zone_of(&mut self, tzid: &str) -> EventZone {
        let standard_offset = self.standard_offsets.get(tzid).copied();
        match zone::resolve(tzid, standard_offset) {
            Some(Resolved::Named(tz)) => EventZone { tz, named: true },
            Some(Resolved::FixedOffset(tz)) => {
                tracing::debug!(tzid, zone = %tz, "TZID read as a fixed UTC offset without daylight saving");
                EventZone { tz, named: true }
            }
            None => {
                self.unknown_tzids.insert(tzid.to_owned());
                EventZone {
                    tz: self.calendar_zone,
                    named: false,
                }
            }
        }
    }

    /// Reads a DATE or DATE-TIME value, in the zone of its `TZID` parameter, in UTC (`Z`), or
    /// floating. Returns the start and the zone it was written in (`None` for a date).
    fn time(
        &mut self,
        value: &str,
        property: &Property<'_>,
    ) -> Result<(Start, Option<EventZone>), String> {
        let value = value.trim();
        let is_date = param(property, "VALUE").is_some_and(|v| v.eq_ignore_ascii_case("DATE"))
            || (value.len() == 8 && value.bytes().all(|b| b.is_ascii_digit()));
        if is_date {
            let date = NaiveDate::parse_from_str(value, "%Y%m%d").map_err(|_| {
                format!("invalid DATE value {value:?} in {}", property.name.as_str())
            })?;
            return Ok((Start::Date(date), None));
        }

        let (local, utc) = match value.strip_suffix(['Z', 'z']) {
            Some(local) => (local, true),
            None => (value, false),
        };
        let naive = (local.len() == 15)
            .then(|| NaiveDateTime::parse_from_str(local, "%Y%m%dT%H%M%S").ok())
            .flatten()
            .ok_or_else(|| {
                format!(
                    "invalid DATE-TIME value {value:?} in {}",
                    property.name.as_str()
                )
            })?;

        let zone = if utc {
            EventZone::UTC
        } else if let Some(tzid) = param(property, "TZID") {
            self.zone_of(tzid)
        } else {
            EventZone {
                tz: self.calendar_zone,
                named: false,
            }
        };
        Ok((Start::Instant(local_to_utc(naive, zone.tz)), Some(zone)))
    }
}

fn find<'a>(component: &'a Component<'a>, name: &str) -> Option<&'a Property<'a>> {
    component
        .properties
        .iter()
        .find(|p| p.name.as_str().eq_ignore_ascii_case(name))
}

fn find_all<'a>(
    component: &'a Component<'a>,
    name: &'a str,
) -> impl Iterator<Item = &'a Property<'a>> {
    component
        .properties
        .iter()
        .filter(move |p| p.name.as_str().eq_ignore_ascii_case(name))
}

fn param<'a>(property: &'a Property<'a>, key: &str) -> Option<&'a str> {
    property
        .params
        .iter()
        .find(|p| p.key.as_str().eq_ignore_ascii_case(key))
        .and_then(|p| p.val.as_ref())
        .map(|v| v.as_str().trim_matches('"'))
}

fn text_value(component: &Component<'_>, name: &str) -> Option<String> {
    find(component, name)
        .map(|p| p.val.as_str().to_owned())
        .filter(|v| !v.trim().is_empty())
}

/// The property as one content line, for the event's `recurrence` list.
fn content_line(property: &Property<'_>) -> String {
    let mut line = property.name.as_str().to_ascii_uppercase();
    for parameter in &property.params {
        line.push(';');
        line.push_str(parameter.key.as_str());
        if let Some(value) = &parameter.val {
            line.push('=');
            line.push_str(value.as_str());
        }
    }
    line.push(':');
    line.push_str(property.val.as_str());
    line
}

fn parse_event(vevent: &Component<'_>, context: &mut Context<'_>) -> Result<ParsedEvent, String> {
    // An event without UID gets one from the store, derived from its file and position.
    let uid = text_value(vevent, "UID").unwrap_or_default();

    let dtstart = find(vevent, "DTSTART").ok_or("no DTSTART")?;
    let (start, start_zone) = context.time(dtstart.val.as_str(), dtstart)?;
    let timing = timing(vevent, start, start_zone, context)?;

    let recurrence_id = match find(vevent, "RECURRENCE-ID") {
        Some(property) => Some(context.time(property.val.as_str(), property)?.0),
        None => None,
    };
    let recurrence = recurrence(vevent, &timing, context)?;

    let organizer = find(vevent, "ORGANIZER").map(|property| {
        let email = mail_address(property.val.as_str());
        EventPerson {
            is_self: email
                .as_deref()
                .map(|e| e.eq_ignore_ascii_case(context.owner_email))
                .filter(|s| *s),
            email,
            display_name: param(property, "CN").map(str::to_owned),
        }
    });
    let attendees = find_all(vevent, "ATTENDEE")
        .map(|property| attendee(property, organizer.as_ref(), context.owner_email))
        .collect();

    let status = match find(vevent, "STATUS")
        .map(|p| p.val.as_str().trim().to_ascii_uppercase())
        .as_deref()
    {
        Some("TENTATIVE") => "tentative",
        Some("CANCELLED") => "cancelled",
        _ => "confirmed",
    };
    let transparency = find(vevent, "TRANSP")
        .filter(|p| p.val.as_str().trim().eq_ignore_ascii_case("TRANSPARENT"))
        .map(|_| "transparent");

    let dtstamp = utc_stamp(vevent, "DTSTAMP");
    let created = utc_stamp(vevent, "CREATED").or_else(|| dtstamp.clone());
    let updated = utc_stamp(vevent, "LAST-MODIFIED")
        .or(dtstamp)
        .or_else(|| created.clone());

    Ok(ParsedEvent {
        series: Series {
            id: String::new(),
            uid,
            summary: text_value(vevent, "SUMMARY"),
            description: text_value(vevent, "DESCRIPTION"),
            location: text_value(vevent, "LOCATION"),
            status,
            timing,
            recurrence,
            attendees,
            organizer,
            transparency,
            created,
            updated,
            overrides: BTreeMap::new(),
        },
        recurrence_id,
    })
}

/// The event's interval from DTSTART and DTEND or DURATION. Without either, an all-day event
/// lasts one day and a timed one has no length (RFC 5545 section 3.6.1).
fn timing(
    vevent: &Component<'_>,
    start: Start,
    start_zone: Option<EventZone>,
    context: &mut Context<'_>,
) -> Result<Timing, String> {
    let end = match find(vevent, "DTEND") {
        Some(property) => Some(context.time(property.val.as_str(), property)?),
        None => None,
    };
    let duration = match find(vevent, "DURATION") {
        Some(property) if end.is_none() => Some(
            parse_duration(property.val.as_str())
                .ok_or_else(|| format!("invalid DURATION {:?}", property.val.as_str()))?,
        ),
        _ => None,
    };

    match start {
        Start::Date(start) => {
            let end = match (end, duration) {
                (Some((Start::Date(end), _)), _) => end,
                (Some((Start::Instant(end), zone)), _) => end
                    .with_timezone(&zone.unwrap_or(EventZone::UTC).tz)
                    .date_naive(),
                (None, Some(duration)) => start + Duration::days(duration.num_days()),
                (None, None) => start + Duration::days(1),
            };
            // Google needs at least one day; a DTEND on or before DTSTART is read as one day.
            let end = if end <= start {
                start + Duration::days(1)
            } else {
                end
            };
            Ok(Timing::AllDay { start, end })
        }
        Start::Instant(start) => {
            let start_zone = start_zone.unwrap_or(EventZone::UTC);
            let (end, end_zone) = match (end, duration) {
                (Some((Start::Instant(end), zone)), _) => (end, zone.unwrap_or(start_zone)),
                (Some((Start::Date(end), _)), _) => {
                    (super::series::midnight(end, start_zone.tz), start_zone)
                }
                (None, Some(duration)) => (start + duration, start_zone),
                (None, None) => (start, start_zone),
            };
            if end < start {
                return Err(END_BEFORE_START.to_owned());
            }
            Ok(Timing::Timed {
                start,
                end,
                start_zone,
                end_zone,
            })
        }
    }
}

/// Reads RRULE, RDATE and EXDATE. Rules are validated against the start here, so that a
/// broken rule skips the event at load time, not at each request.
fn recurrence(
    vevent: &Component<'_>,
    timing: &Timing,
    context: &mut Context<'_>,
) -> Result<Recurrence, String> {
    let mut recurrence = Recurrence::default();

    for property in &vevent.properties {
        let name = property.name.as_str().to_ascii_uppercase();
        match name.as_str() {
            "RRULE" => {
                recurrence.rules.push(super::recurrence::build_rule(
                    property.val.as_str(),
                    timing,
                )?);
            }
            "RDATE" | "EXDATE" => {
                for value in property
                    .val
                    .as_str()
                    .split(',')
                    .filter(|v| !v.trim().is_empty())
                {
                    // An RDATE may be a PERIOD (`start/end` or `start/duration`); only its start
                    // is used, and the occurrence keeps the series' length.
                    let value = value.split('/').next().unwrap_or(value);
                    let at = match context.time(value, property) {
                        Ok((at, _)) => at,
                        Err(reason) => {
                            context
                                .ignored
                                .push(format!("ignoring {name} value: {reason}"));
                            continue;
                        }
                    };
                    let at = match (at, timing) {
                        (Start::Instant(instant), Timing::AllDay { .. }) => {
                            Start::Date(instant.date_naive())
                        }
                        (Start::Date(date), Timing::Timed { start_zone, .. }) => {
                            Start::Instant(super::series::midnight(date, start_zone.tz))
                        }
                        (at, _) => at,
                    };
                    if name == "RDATE" {
                        recurrence.rdates.push(at);
                    } else {
                        recurrence.exdates.push(at);
                    }
                }
            }
            "EXRULE" => {
                // NOTE: EXRULE (deprecated by RFC 5545) is kept in `recurrence` but not applied.
            }
            _ => continue,
        }
        recurrence.lines.push(content_line(property));
    }

    if recurrence.rules.is_empty() && recurrence.rdates.is_empty() {
        // EXDATEs without a rule exclude nothing but DTSTART itself, and an event without
        // occurrences cannot be shown, so they are dropped.
        recurrence.lines.clear();
        recurrence.exdates.clear();
    }
    Ok(recurrence)
}

fn attendee(
    property: &Property<'_>,
    organizer: Option<&EventPerson>,
    owner_email: &str,
) -> EventAttendee {
    let email = mail_address(property.val.as_str());
    let response_status = match param(property, "PARTSTAT")
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("ACCEPTED") => "accepted",
        Some("DECLINED") => "declined",
        Some("TENTATIVE") => "tentative",
        _ => "needsAction",
    };
    let is_organizer = match (&email, organizer.and_then(|o| o.email.as_deref())) {
        (Some(email), Some(organizer)) => email.eq_ignore_ascii_case(organizer),
        _ => false,
    };
    let optional =
        param(property, "ROLE").is_some_and(|role| role.eq_ignore_ascii_case("OPT-PARTICIPANT"));

    EventAttendee {
        is_self: email
            .as_deref()
            .map(|e| e.eq_ignore_ascii_case(owner_email))
            .filter(|s| *s),
        email,
        display_name: param(property, "CN").map(str::to_owned),
        response_status: Some(response_status.to_owned()),
        organizer: is_organizer.then_some(true),
        optional: optional.then_some(true),
        ..EventAttendee::default()
    }
}

/// The address in a `mailto:` URI (any case), or the value itself when it looks like one.
fn mail_address(value: &str) -> Option<String> {
    let value = value.trim();
    let address = match value.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("mailto:") => &value[7..],
        _ => value,
    };
    address.contains('@').then(|| address.to_owned())
}

/// A UTC DATE-TIME property (CREATED, LAST-MODIFIED, DTSTAMP) in Google's RFC 3339 form.
fn utc_stamp(vevent: &Component<'_>, name: &str) -> Option<String> {
    let value = find(vevent, name)?.val.as_str().trim();
    let local = value.strip_suffix(['Z', 'z']).unwrap_or(value);
    let naive = NaiveDateTime::parse_from_str(local, "%Y%m%dT%H%M%S").ok()?;
    let instant: DateTime<Utc> = naive.and_utc();
    Some(instant.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// Parses an RFC 5545 DURATION such as `PT1H30M`, `P2D`, `P1W` or `-PT15M`.
pub(super) fn parse_duration(value: &str) -> Option<Duration> {
    let value = value.trim();
    let (negative, rest) = match value.as_bytes().first()? {
        b'-' => (true, &value[1..]),
        b'+' => (false, &value[1..]),
        _ => (false, value),
    };
    let rest = rest.strip_prefix(['P', 'p'])?;

    let mut total = Duration::zero();
    let mut number = String::new();
    let mut in_time = false;
    let mut any = false;
    for c in rest.chars() {
        match c.to_ascii_uppercase() {
            'T' if !in_time && number.is_empty() => in_time = true,
            d if d.is_ascii_digit() => number.push(d),
            unit => {
                let n: i64 = number.parse().ok()?;
                number.clear();
                any = true;
                total += match (unit, in_time) {
                    ('W', false) => Duration::try_weeks(n)?,
                    ('D', false) => Duration::try_days(n)?,
                    ('H', true) => Duration::try_hours(n)?,
                    ('M', true) => Duration::try_minutes(n)?,
                    ('S', true) => Duration::try_seconds(n)?,
                    _ => return None,
                };
            }
        }
    }
    if !number.is_empty() || !any {
        return None;
    }
    Some(if negative { -total } else { total })
}

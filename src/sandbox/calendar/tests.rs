//! Tests of the calendar store on the built-in calendar, on hand-written files and on the
//! corpus of real and broken `.ics` files.

use std::collections::HashSet;
use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};

use super::builtin::{LUNCH_UID, OFFSITE_UID, PLANNING_UID, REVIEW_UID, STANDUP_UID};
use super::*;
use crate::domain::models::calendar::{FreeBusyRequest, FreeBusyRequestItem, FreeBusyResponse};

const OWNER: &str = "owner@example.com";

fn corpus_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/ics"))
}

fn now() -> DateTime<Utc> {
    // A Wednesday.
    Utc.with_ymd_and_hms(2025, 6, 11, 15, 0, 0).unwrap()
}

fn store_from(text: &str) -> CalendarStore {
    let mut loader = Loader::new(OWNER);
    loader.add_file("test.ics", text);
    loader.finish()
}

fn params(time_min: &str, time_max: &str) -> EventsParams {
    EventsParams {
        time_min: Some(time_min.to_owned()),
        time_max: Some(time_max.to_owned()),
        single_events: Some("true".to_owned()),
        order_by: Some("startTime".to_owned()),
        ..EventsParams::default()
    }
}

fn by_uid<'a>(events: &'a Events, uid: &str) -> Vec<&'a Event> {
    events
        .items
        .iter()
        .filter(|e| e.ical_uid.as_deref() == Some(uid))
        .collect()
}

fn wrap(body: &str) -> String {
    format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\n{body}END:VCALENDAR\r\n")
}

#[test]
fn builtin_lists_every_event_in_two_weeks() {
    let store = CalendarStore::builtin(OWNER, now());
    assert_eq!(store.len(), 5);

    let events = store
        .list_events(
            "primary",
            &params("2025-06-11T00:00:00Z", "2025-06-25T00:00:00Z"),
        )
        .unwrap();
    assert_eq!(events.summary.as_deref(), Some(CALENDAR_SUMMARY));
    assert_eq!(events.time_zone.as_deref(), Some("UTC"));
    assert!(events.next_page_token.is_none());

    let planning = by_uid(&events, PLANNING_UID);
    assert_eq!(planning.len(), 1);
    assert_eq!(
        planning[0].start.date_time.as_deref(),
        Some("2025-06-12T10:00:00-04:00")
    );
    assert_eq!(
        planning[0].start.time_zone.as_deref(),
        Some("America/New_York")
    );
    assert_eq!(
        planning[0].location.as_deref(),
        Some("Conference room 4B, 350 Fifth Avenue, New York")
    );

    let offsite = by_uid(&events, OFFSITE_UID);
    assert_eq!(offsite.len(), 1);
    assert_eq!(offsite[0].start.date.as_deref(), Some("2025-06-13"));
    assert_eq!(offsite[0].end.date.as_deref(), Some("2025-06-16"));
    assert!(offsite[0].start.date_time.is_none());
    assert_eq!(offsite[0].transparency.as_deref(), Some("transparent"));

    // Mondays, Wednesdays and Fridays from 11 to 24 June, less the EXDATE on 18 June.
    let standups = by_uid(&events, STANDUP_UID);
    let starts: Vec<_> = standups
        .iter()
        .map(|e| e.start.date_time.clone().unwrap())
        .collect();
    assert_eq!(
        starts,
        [
            "2025-06-11T09:30:00+02:00",
            "2025-06-13T09:30:00+02:00",
            "2025-06-16T09:30:00+02:00",
            "2025-06-20T09:30:00+02:00",
            "2025-06-23T09:30:00+02:00",
        ]
    );
    assert!(
        standups
            .iter()
            .all(|e| e.recurrence.is_empty() && e.recurring_event_id.is_some())
    );

    let review = by_uid(&events, REVIEW_UID);
    assert_eq!(review.len(), 1);
    assert!(
        review[0]
            .description
            .as_deref()
            .unwrap()
            .contains("<li>Time zones &amp; all-day events</li>")
    );
    assert_eq!(review[0].attendees.len(), 5);
    let me = review[0]
        .attendees
        .iter()
        .find(|a| a.is_self == Some(true))
        .unwrap();
    assert_eq!(me.response_status.as_deref(), Some("accepted"));
    let ana = review[0]
        .attendees
        .iter()
        .find(|a| a.display_name.as_deref() == Some("Ana Lima"))
        .unwrap();
    assert_eq!(ana.response_status.as_deref(), Some("declined"));
    assert_eq!(ana.optional, Some(true));
    let team = review[0]
        .attendees
        .iter()
        .find(|a| a.email.as_deref() == Some("design-team@example.com"))
        .unwrap();
    assert_eq!(team.response_status.as_deref(), Some("needsAction"));
    assert_eq!(
        review[0].organizer.as_ref().unwrap().email.as_deref(),
        Some("priya.raman@example.com")
    );

    let lunch = by_uid(&events, LUNCH_UID);
    assert_eq!(lunch[0].status.as_deref(), Some("tentative"));
    assert_eq!(
        lunch[0].end.date_time.as_deref(),
        Some("2025-06-15T13:45:00+01:00")
    );

    let starts: Vec<_> = events.items.iter().map(|e| e.start.clone()).collect();
    assert_eq!(starts.len(), 9);
}

#[test]
fn builtin_event_ids_are_base32hex() {
    let store = CalendarStore::builtin(OWNER, now());
    let events = store
        .list_events(
            OWNER,
            &params("2025-06-01T00:00:00Z", "2025-07-01T00:00:00Z"),
        )
        .unwrap();
    for event in &events.items {
        let series_id = event.id.split('_').next().unwrap();
        assert!((5..=1024).contains(&series_id.len()), "{}", event.id);
        assert!(
            series_id
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'v')),
            "{}",
            event.id
        );
        assert!(
            event
                .html_link
                .as_deref()
                .unwrap()
                .starts_with("https://www.google.com/calendar/event?eid=")
        );
    }
}

#[test]
fn series_listed_with_recurrence_without_single_events() {
    let store = CalendarStore::builtin(OWNER, now());
    let events = store
        .list_events(
            "primary",
            &EventsParams {
                time_min: Some("2025-06-11T00:00:00Z".to_owned()),
                time_max: Some("2025-06-25T00:00:00Z".to_owned()),
                ..EventsParams::default()
            },
        )
        .unwrap();
    let standup = by_uid(&events, STANDUP_UID);
    assert_eq!(standup.len(), 1);
    assert_eq!(standup[0].recurrence[0], "RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR");
    assert_eq!(
        standup[0].recurrence[1],
        "EXDATE;TZID=Europe/Berlin:20250618T093000"
    );
    assert_eq!(
        standup[0].start.date_time.as_deref(),
        Some("2025-05-26T09:30:00+02:00")
    );
    assert!(standup[0].recurring_event_id.is_none());
    assert_eq!(events.items.len(), 5);
}

#[test]
fn all_day_event_end_is_exclusive() {
    let store = store_from(&wrap(
        "BEGIN:VEVENT\r\nUID:a\r\nSUMMARY:One day\r\nDTSTART;VALUE=DATE:20250301\r\nEND:VEVENT\r\n\
         BEGIN:VEVENT\r\nUID:b\r\nSUMMARY:Two days\r\nDTSTART;VALUE=DATE:20250301\r\nDURATION:P2D\r\nEND:VEVENT\r\n",
    ));
    let in_range = store
        .list_events(
            "primary",
            &params("2025-03-01T00:00:00Z", "2025-03-02T00:00:00Z"),
        )
        .unwrap();
    let ends: Vec<_> = in_range
        .items
        .iter()
        .map(|e| e.end.date.clone().unwrap())
        .collect();
    assert_eq!(ends, ["2025-03-02", "2025-03-03"]);

    // The one-day event ends at midnight that starts 2 March, so it is not on 2 March.
    let next_day = store
        .list_events(
            "primary",
            &params("2025-03-02T00:00:00Z", "2025-03-03T00:00:00Z"),
        )
        .unwrap();
    let summaries: Vec<_> = next_day
        .items
        .iter()
        .map(|e| e.summary.clone().unwrap())
        .collect();
    assert_eq!(summaries, ["Two days"]);

    // In Tokyo, 1 March starts at 28 February 15:00 UTC.
    let mut tokyo = params("2025-02-28T15:30:00Z", "2025-02-28T16:00:00Z");
    tokyo.time_zone = Some("Asia/Tokyo".to_owned());
    assert_eq!(store.list_events("primary", &tokyo).unwrap().items.len(), 2);
    let utc_only = params("2025-02-28T15:30:00Z", "2025-02-28T16:00:00Z");
    assert_eq!(
        store.list_events("primary", &utc_only).unwrap().items.len(),
        0
    );
}

#[test]
fn weekly_event_keeps_local_time_across_dst() {
    let store = store_from(&wrap(
        "BEGIN:VEVENT\r\nUID:weekly\r\nSUMMARY:Weekly\r\nDTSTART;TZID=America/New_York:20250303T090000\r\n\
         DTEND;TZID=America/New_York:20250303T093000\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\nEND:VEVENT\r\n",
    ));
    let events = store
        .list_events(
            "primary",
            &params("2025-03-01T00:00:00Z", "2025-04-01T00:00:00Z"),
        )
        .unwrap();
    let starts: Vec<_> = events
        .items
        .iter()
        .map(|e| e.start.date_time.clone().unwrap())
        .collect();
    assert_eq!(
        starts,
        [
            "2025-03-03T09:00:00-05:00",
            "2025-03-10T09:00:00-04:00",
            "2025-03-17T09:00:00-04:00"
        ]
    );
    let ids: Vec<_> = events
        .items
        .iter()
        .map(|e| e.id.rsplit('_').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        ids,
        ["20250303T140000Z", "20250310T130000Z", "20250317T130000Z"]
    );
    assert!(
        events
            .items
            .iter()
            .all(|e| e.start.time_zone.as_deref() == Some("America/New_York"))
    );

    let mut in_berlin = params("2025-03-01T00:00:00Z", "2025-04-01T00:00:00Z");
    in_berlin.time_zone = Some("Europe/Berlin".to_owned());
    let events = store.list_events("primary", &in_berlin).unwrap();
    assert_eq!(
        events.items[1].start.date_time.as_deref(),
        Some("2025-03-10T14:00:00+01:00")
    );
    assert_eq!(
        events.items[1].start.time_zone.as_deref(),
        Some("America/New_York")
    );
    assert_eq!(events.time_zone.as_deref(), Some("Europe/Berlin"));
}

#[test]
fn exdate_removes_occurrence() {
    let store = store_from(&wrap(
        "BEGIN:VEVENT\r\nUID:daily\r\nDTSTART:20250101T100000Z\r\nDURATION:PT1H\r\nRRULE:FREQ=DAILY;COUNT=5\r\n\
         EXDATE:20250102T100000Z,20250104T100000Z\r\nEND:VEVENT\r\n",
    ));
    let events = store
        .list_events(
            "primary",
            &params("2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z"),
        )
        .unwrap();
    let days: Vec<_> = events
        .items
        .iter()
        .map(|e| e.start.date_time.clone().unwrap()[..10].to_owned())
        .collect();
    assert_eq!(days, ["2025-01-01", "2025-01-03", "2025-01-05"]);

    let series_id = events.items[0].recurring_event_id.clone().unwrap();
    let removed = format!("{series_id}_20250102T100000Z");
    assert_eq!(
        store.get_event("primary", &removed, None).unwrap_err().code,
        404
    );
}

#[test]
fn instance_ids_round_trip_through_get() {
    let store = CalendarStore::builtin(OWNER, now());
    let events = store
        .list_events(
            "primary",
            &params("2025-06-01T00:00:00Z", "2025-07-01T00:00:00Z"),
        )
        .unwrap();
    for event in &events.items {
        let fetched = store.get_event("primary", &event.id, None).unwrap();
        assert_eq!(&fetched, event);
    }

    let standup = by_uid(&events, STANDUP_UID)[0];
    let series_id = standup.recurring_event_id.clone().unwrap();
    let series = store.get_event(OWNER, &series_id, None).unwrap();
    assert!(!series.recurrence.is_empty());

    // A Tuesday is not in the rule, and 09:31 is not its time.
    for bad in [
        "20250617T073000Z",
        "20250616T073100Z",
        "20250616",
        "garbage",
    ] {
        let error = store
            .get_event("primary", &format!("{series_id}_{bad}"), None)
            .unwrap_err();
        assert_eq!(error.code, 404, "{bad}");
        assert_eq!(error.message, "Not Found");
    }
    assert_eq!(
        store
            .get_event("primary", "unknownid", None)
            .unwrap_err()
            .code,
        404
    );
}

#[test]
fn paging_returns_each_occurrence_once() {
    let store = CalendarStore::builtin(OWNER, now());
    let mut query = params("2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z");
    let all = store.list_events("primary", &query).unwrap();
    assert!(all.next_page_token.is_none());
    assert!(all.items.len() > 50);

    query.max_results = Some("7".to_owned());
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = store.list_events("primary", &query).unwrap();
        assert!(page.items.len() <= 7);
        seen.extend(page.items.into_iter().map(|e| e.id));
        pages += 1;
        match page.next_page_token {
            Some(token) => query.page_token = Some(token),
            None => break,
        }
    }
    let expected: Vec<_> = all.items.into_iter().map(|e| e.id).collect();
    assert_eq!(seen, expected);
    assert_eq!(pages, expected.len().div_ceil(7));
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len());
}

#[test]
fn page_token_from_other_query_rejected() {
    let store = CalendarStore::builtin(OWNER, now());
    let mut query = params("2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z");
    query.max_results = Some("2".to_owned());
    let token = store
        .list_events("primary", &query)
        .unwrap()
        .next_page_token
        .unwrap();

    let mut other = params("2025-01-01T00:00:00Z", "2025-12-01T00:00:00Z");
    other.page_token = Some(token);
    assert_eq!(store.list_events("primary", &other).unwrap_err().code, 400);

    let mut garbage = params("2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z");
    garbage.page_token = Some("not-a-token".to_owned());
    assert_eq!(
        store.list_events("primary", &garbage).unwrap_err().code,
        400
    );
}

#[test]
fn invalid_params_give_google_400() {
    let store = CalendarStore::builtin(OWNER, now());
    let valid = params("2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z");
    let cases: Vec<(&str, EventsParams)> = vec![
        (
            "timeMin without offset",
            EventsParams {
                time_min: Some("2025-01-01T00:00:00".to_owned()),
                ..valid.clone()
            },
        ),
        (
            "timeMax not a time",
            EventsParams {
                time_max: Some("tomorrow".to_owned()),
                ..valid.clone()
            },
        ),
        (
            "empty range",
            EventsParams {
                time_max: Some("2024-01-01T00:00:00Z".to_owned()),
                ..valid.clone()
            },
        ),
        (
            "maxResults 0",
            EventsParams {
                max_results: Some("0".to_owned()),
                ..valid.clone()
            },
        ),
        (
            "maxResults 2501",
            EventsParams {
                max_results: Some("2501".to_owned()),
                ..valid.clone()
            },
        ),
        (
            "maxResults text",
            EventsParams {
                max_results: Some("ten".to_owned()),
                ..valid.clone()
            },
        ),
        (
            "orderBy without singleEvents",
            EventsParams {
                single_events: None,
                ..valid.clone()
            },
        ),
        (
            "orderBy unknown",
            EventsParams {
                order_by: Some("summary".to_owned()),
                ..valid.clone()
            },
        ),
        (
            "singleEvents not boolean",
            EventsParams {
                single_events: Some("yes".to_owned()),
                ..valid.clone()
            },
        ),
        (
            "timeZone unknown",
            EventsParams {
                time_zone: Some("Mars/Olympus".to_owned()),
                ..valid.clone()
            },
        ),
    ];
    for (name, params) in cases {
        let error = store.list_events("primary", &params).unwrap_err();
        assert_eq!(error.code, 400, "{name}");
        assert_eq!(error.status, "INVALID_ARGUMENT", "{name}");
        let json = error.to_json();
        assert_eq!(json["error"]["code"], 400, "{name}");
        assert_eq!(json["error"]["errors"][0]["reason"], "invalid", "{name}");
    }
    assert_eq!(store.list_events("primary", &valid).map(|_| ()), Ok(()));
    assert_eq!(
        store
            .list_events("primary", &EventsParams::default())
            .map(|_| ()),
        Ok(())
    );
}

#[test]
fn unknown_calendar_is_404() {
    let store = CalendarStore::builtin(OWNER, now());
    let error = store
        .list_events("someone.else@example.com", &EventsParams::default())
        .unwrap_err();
    assert_eq!(error.code, 404);
    assert_eq!(error.message, "Not Found");
    assert_eq!(
        store.get_event("other", "abcde", None).unwrap_err().code,
        404
    );
    assert!(
        store
            .list_events("OWNER@example.com", &EventsParams::default())
            .is_ok()
    );
}

#[test]
fn calendar_list_has_primary() {
    let store = CalendarStore::builtin(OWNER, now());
    let list = store.list_calendars(None, Some("10")).unwrap();
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].id, OWNER);
    assert_eq!(list.items[0].primary, Some(true));
    assert_eq!(list.items[0].access_role.as_deref(), Some("owner"));
    assert!(list.next_page_token.is_none());
    assert_eq!(
        store.list_calendars(Some("bogus"), None).unwrap_err().code,
        400
    );
    assert_eq!(store.list_calendars(None, Some("0")).unwrap_err().code, 400);
}

#[test]
fn q_filters_case_insensitively() {
    let store = CalendarStore::builtin(OWNER, now());
    let search = |q: &str| {
        let mut query = params("2025-06-01T00:00:00Z", "2025-07-01T00:00:00Z");
        query.q = Some(q.to_owned());
        let events = store.list_events("primary", &query).unwrap();
        events
            .items
            .into_iter()
            .filter_map(|e| e.ical_uid)
            .collect::<HashSet<_>>()
    };
    assert_eq!(
        search("DESIGN REVIEW"),
        HashSet::from([REVIEW_UID.to_owned()])
    );
    assert_eq!(
        search("jonas.weber"),
        HashSet::from([REVIEW_UID.to_owned()])
    );
    assert_eq!(search("ana lima"), HashSet::from([REVIEW_UID.to_owned()]));
    assert_eq!(search("lake como"), HashSet::from([OFFSITE_UID.to_owned()]));
    assert_eq!(
        search("meet.example.com"),
        HashSet::from([STANDUP_UID.to_owned()])
    );
    assert!(search("nothing matches this").is_empty());
}

#[test]
fn override_replaces_occurrence() {
    let store = store_from(&wrap(
        "BEGIN:VEVENT\r\nUID:series\r\nSUMMARY:Sync\r\nDTSTART:20250106T100000Z\r\nDTEND:20250106T110000Z\r\n\
         RRULE:FREQ=DAILY;COUNT=3\r\nEND:VEVENT\r\n\
         BEGIN:VEVENT\r\nUID:series\r\nRECURRENCE-ID:20250107T100000Z\r\nSUMMARY:Sync (moved)\r\n\
         DTSTART:20250107T150000Z\r\nDTEND:20250107T160000Z\r\nEND:VEVENT\r\n",
    ));
    assert_eq!(store.len(), 1);
    let events = store
        .list_events(
            "primary",
            &params("2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z"),
        )
        .unwrap();
    let summaries: Vec<_> = events
        .items
        .iter()
        .map(|e| e.summary.clone().unwrap())
        .collect();
    assert_eq!(summaries, ["Sync", "Sync (moved)", "Sync"]);
    let moved = &events.items[1];
    assert!(moved.id.ends_with("_20250107T100000Z"));
    assert_eq!(
        moved.start.date_time.as_deref(),
        Some("2025-01-07T15:00:00Z")
    );
    assert_eq!(
        moved
            .original_start_time
            .as_ref()
            .unwrap()
            .date_time
            .as_deref(),
        Some("2025-01-07T10:00:00Z")
    );
    assert_eq!(store.get_event("primary", &moved.id, None).unwrap(), *moved);
}

#[test]
fn infinite_rule_is_bounded() {
    let store = store_from(&wrap(
        "BEGIN:VEVENT\r\nUID:forever\r\nDTSTART:20241201T000000Z\r\nRRULE:FREQ=HOURLY;BYMINUTE=0\r\nEND:VEVENT\r\n",
    ));
    let mut query = params("2025-01-01T00:00:00Z", "2030-01-01T00:00:00Z");
    query.max_results = Some("2500".to_owned());
    let events = store.list_events("primary", &query).unwrap();
    // Per request, one series yields at most MAX_OCCURRENCES occurrences.
    assert_eq!(events.items.len(), recurrence::MAX_OCCURRENCES);
    assert!(events.next_page_token.is_none());

    let no_max = EventsParams {
        time_max: None,
        ..query
    };
    assert_eq!(
        store.list_events("primary", &no_max).unwrap().items.len(),
        recurrence::MAX_OCCURRENCES
    );
}

#[test]
fn corpus_loads_without_panic() {
    let store = CalendarStore::load_dir(corpus_dir(), OWNER);
    // 119 `.ics` files, of which 9 do not parse as iCalendar, and 82 events when this test
    // was written.
    assert_eq!(store.files_read, 119);
    assert!(
        (8..=20).contains(&store.files_skipped),
        "{} files skipped",
        store.files_skipped
    );
    assert!(store.len() >= 75, "only {} events loaded", store.len());

    // Known-good shapes are present.
    let uids: HashSet<_> = store.series.iter().map(|s| s.uid.as_str()).collect();
    for uid in ["noend123", "test-123"] {
        assert!(uids.contains(uid), "{uid} missing");
    }

    let custom_tz = store.series.iter().find(|s| s.uid == "noend123").unwrap();
    let event = store.get_event("primary", &custom_tz.id, None).unwrap();
    assert_eq!(
        event.start.date_time.as_deref(),
        Some("2014-08-29T08:00:00-04:00")
    );
    assert_eq!(event.start.time_zone.as_deref(), Some("America/New_York"));

    // Every series lists and every listed occurrence round-trips, over a wide window.
    let mut query = params("1990-01-01T00:00:00Z", "2030-01-01T00:00:00Z");
    query.max_results = Some("2500".to_owned());
    let mut listed = 0;
    loop {
        let page = store.list_events("primary", &query).unwrap();
        for event in &page.items {
            assert_eq!(
                &store
                    .get_event("primary", &event.id, None)
                    .unwrap_or_else(|e| panic!("{}: {e:?}", event.id)),
                event
            );
        }
        listed += page.items.len();
        match page.next_page_token {
            Some(token) => query.page_token = Some(token),
            None => break,
        }
    }
    assert!(listed >= store.len() / 2, "listed {listed}");
}

#[test]
fn broken_corpus_files_are_skipped() {
    for name in [
        "fuzz_testcase_0_char_in_component_name.ics",
        "fuzz_testcase_invalid_month.ics",
        "fuzz_testcase_vtimezone_lone_cr.ics",
        "issue_1081_invalid_rrule_freq.ics",
        "empty.ics",
    ] {
        let text = std::fs::read(corpus_dir().join(name)).unwrap();
        let store = store_from(&String::from_utf8_lossy(&text));
        assert_eq!(store.len(), 0, "{name} should load no event");
    }

    // Two semicolons before a parameter are accepted by the parser, and the event is kept.
    let text = std::fs::read(corpus_dir().join("broken_ical.ics")).unwrap();
    assert_eq!(store_from(&String::from_utf8_lossy(&text)).len(), 1);
}

#[test]
fn non_ascii_byday_skips_only_event() {
    // rrule 0.14 panics on a BYDAY entry that ends inside a multi-byte character.
    let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n\
        BEGIN:VEVENT\r\nUID:broken\r\nDTSTART:20250602T090000Z\r\n\
        RRULE:FREQ=WEEKLY;BYDAY=MO,\u{e0}H\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:kept\r\nDTSTART:20250603T090000Z\r\nEND:VEVENT\r\n\
        END:VCALENDAR\r\n";

    let store = store_from(text);

    assert_eq!(store.files_skipped, 0, "the whole file was skipped");
    assert_eq!(store.len(), 1);
}

fn freebusy_request(
    time_min: &str,
    time_max: &str,
    zone: Option<&str>,
    ids: &[&str],
) -> FreeBusyRequest {
    FreeBusyRequest {
        time_min: time_min.to_owned(),
        time_max: time_max.to_owned(),
        time_zone: zone.map(str::to_owned),
        items: ids
            .iter()
            .map(|id| FreeBusyRequestItem {
                id: (*id).to_owned(),
            })
            .collect(),
    }
}

fn busy_of(response: &FreeBusyResponse, id: &str) -> Vec<(String, String)> {
    response.calendars[id]
        .busy
        .iter()
        .map(|period| (period.start.clone(), period.end.clone()))
        .collect()
}

fn body(value: serde_json::Value) -> EventBody {
    EventBody::parse(value).unwrap()
}

#[test]
fn freebusy_expands_series_and_skips_free_events() {
    let store = CalendarStore::builtin(OWNER, now());
    let response = store
        .freebusy(&freebusy_request(
            "2025-06-11T00:00:00Z",
            "2025-06-21T00:00:00Z",
            None,
            &["primary", "ghost@example.com"],
        ))
        .unwrap();

    // The standup (Mon, Wed, Fri 09:30 Berlin) without the Wednesday its EXDATE removes,
    // the planning meeting and the design review; the offsite and the lunch are free time.
    let expected = [
        ("2025-06-11T07:30:00Z", "2025-06-11T07:45:00Z"),
        ("2025-06-12T14:00:00Z", "2025-06-12T15:00:00Z"),
        ("2025-06-13T07:30:00Z", "2025-06-13T07:45:00Z"),
        ("2025-06-14T14:00:00Z", "2025-06-14T15:00:00Z"),
        ("2025-06-16T07:30:00Z", "2025-06-16T07:45:00Z"),
        ("2025-06-20T07:30:00Z", "2025-06-20T07:45:00Z"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(start, end)| ((*start).to_owned(), (*end).to_owned()))
        .collect();
    assert_eq!(busy_of(&response, "primary"), expected);

    let ghost = &response.calendars["ghost@example.com"];
    assert!(ghost.busy.is_empty());
    assert_eq!(ghost.errors[0].reason.as_deref(), Some("notFound"));
    assert_eq!(response.kind.as_deref(), Some("calendar#freeBusy"));
}

#[test]
fn freebusy_clips_and_uses_zone() {
    let store = CalendarStore::builtin(OWNER, now());
    let response = store
        .freebusy(&freebusy_request(
            "2025-06-12T14:30:00Z",
            "2025-06-12T16:00:00Z",
            Some("Europe/Berlin"),
            &[OWNER],
        ))
        .unwrap();
    assert_eq!(
        busy_of(&response, OWNER),
        [(
            "2025-06-12T16:30:00+02:00".to_owned(),
            "2025-06-12T17:00:00+02:00".to_owned()
        )]
    );

    let error = store
        .freebusy(&freebusy_request(
            "2025-06-12T16:00:00Z",
            "2025-06-12T14:00:00Z",
            None,
            &[],
        ))
        .unwrap_err();
    assert_eq!(error.code, 400);
}

#[test]
fn declined_event_is_not_busy() {
    let mut store = CalendarStore::builtin(OWNER, now());
    let review = store
        .list_events(
            "primary",
            &params("2025-06-14T00:00:00Z", "2025-06-15T00:00:00Z"),
        )
        .unwrap()
        .items
        .into_iter()
        .find(|event| event.ical_uid.as_deref() == Some(REVIEW_UID))
        .unwrap();
    let attendees: Vec<_> = review
        .attendees
        .iter()
        .map(|attendee| {
            let mut attendee = serde_json::to_value(attendee).unwrap();
            if attendee["email"] == OWNER {
                attendee["responseStatus"] = "declined".into();
            }
            attendee
        })
        .collect();
    store
        .patch_event(
            "primary",
            &review.id,
            body(serde_json::json!({ "attendees": attendees })),
            now(),
        )
        .unwrap();

    let response = store
        .freebusy(&freebusy_request(
            "2025-06-14T00:00:00Z",
            "2025-06-15T00:00:00Z",
            None,
            &["primary"],
        ))
        .unwrap();
    assert!(busy_of(&response, "primary").is_empty());
}

#[test]
fn insert_checks_id_and_zone() {
    let mut store = CalendarStore::builtin(OWNER, now());
    let event = serde_json::json!({
        "id": "abcde12345",
        "summary": "Call",
        "start": { "dateTime": "2025-07-01T10:00:00+02:00" },
        "end": { "dateTime": "2025-07-01T11:00:00+02:00" }
    });
    let created = store
        .insert_event("primary", body(event.clone()), now())
        .unwrap();
    assert_eq!(created.id, "abcde12345");
    assert_eq!(
        created.start.date_time.as_deref(),
        Some("2025-07-01T08:00:00Z")
    );

    let error = store
        .insert_event("primary", body(event), now())
        .unwrap_err();
    assert_eq!(error.code, 409);

    let bad_id = serde_json::json!({
        "id": "ABC_xyz",
        "start": { "date": "2025-07-01" }, "end": { "date": "2025-07-02" }
    });
    assert_eq!(
        store
            .insert_event("primary", body(bad_id), now())
            .unwrap_err()
            .code,
        400
    );

    let no_zone = serde_json::json!({
        "start": { "dateTime": "2025-07-01T10:00:00+02:00" },
        "end": { "dateTime": "2025-07-01T11:00:00+02:00" },
        "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"]
    });
    let error = store
        .insert_event("primary", body(no_zone), now())
        .unwrap_err();
    assert!(error.message.contains("time zone"), "{}", error.message);

    let empty_day = serde_json::json!({
        "start": { "date": "2025-07-01" }, "end": { "date": "2025-07-01" }
    });
    assert_eq!(
        store
            .insert_event("primary", body(empty_day), now())
            .unwrap_err()
            .code,
        400
    );

    let other_calendar = serde_json::json!({
        "start": { "date": "2025-07-01" }, "end": { "date": "2025-07-02" }
    });
    assert_eq!(
        store
            .insert_event("ghost@example.com", body(other_calendar), now())
            .unwrap_err()
            .code,
        404
    );
}

#[test]
fn instance_patch_and_delete_become_exceptions() {
    let mut store = CalendarStore::builtin(OWNER, now());
    let series = store
        .insert_event(
            "primary",
            body(serde_json::json!({
                "summary": "Daily",
                "start": { "dateTime": "2025-10-24T09:00:00", "timeZone": "Europe/Berlin" },
                "end": { "dateTime": "2025-10-24T09:15:00", "timeZone": "Europe/Berlin" },
                "recurrence": ["RRULE:FREQ=DAILY;COUNT=4"]
            })),
            now(),
        )
        .unwrap();
    let window = params("2025-10-24T00:00:00Z", "2025-10-28T00:00:00Z");
    let starts = |store: &CalendarStore| -> Vec<String> {
        store
            .list_events("primary", &window)
            .unwrap()
            .items
            .iter()
            .filter(|event| event.recurring_event_id.as_deref() == Some(series.id.as_str()))
            .map(|event| event.start.date_time.clone().unwrap())
            .collect()
    };
    // 09:00 local on each day, across the end of summer time on 2025-10-26.
    assert_eq!(
        starts(&store),
        [
            "2025-10-24T09:00:00+02:00",
            "2025-10-25T09:00:00+02:00",
            "2025-10-26T09:00:00+01:00",
            "2025-10-27T09:00:00+01:00",
        ]
    );

    let second = format!("{}_20251025T070000Z", series.id);
    let moved = store
        .patch_event(
            "primary",
            &second,
            body(serde_json::json!({
                "summary": "Moved",
                "start": { "dateTime": "2025-10-25T10:00:00", "timeZone": "Europe/Berlin" },
                "end": { "dateTime": "2025-10-25T10:15:00", "timeZone": "Europe/Berlin" }
            })),
            now(),
        )
        .unwrap();
    assert_eq!(moved.id, second);
    assert_eq!(
        moved.recurring_event_id.as_deref(),
        Some(series.id.as_str())
    );
    assert_eq!(moved.summary.as_deref(), Some("Moved"));

    let third = format!("{}_20251026T080000Z", series.id);
    store.delete_event("primary", &third, now()).unwrap();
    assert_eq!(
        store
            .delete_event("primary", &third, now())
            .unwrap_err()
            .code,
        410
    );
    assert_eq!(
        starts(&store),
        [
            "2025-10-24T09:00:00+02:00",
            "2025-10-25T10:00:00+02:00",
            "2025-10-27T09:00:00+01:00",
        ]
    );

    // A start the rule does not produce is no occurrence.
    let unknown = format!("{}_20251025T080000Z", series.id);
    assert_eq!(
        store
            .delete_event("primary", &unknown, now())
            .unwrap_err()
            .code,
        404
    );

    store.delete_event("primary", &series.id, now()).unwrap();
    assert!(starts(&store).is_empty());
}

#[test]
fn insert_keeps_offset_in_repeated_hour() {
    let mut store = CalendarStore::builtin(OWNER, now());
    // 02:30+01:00 is the second 02:30 of the night Berlin leaves summer time.
    let created = store
        .insert_event(
            "primary",
            body(serde_json::json!({
                "start": { "dateTime": "2026-10-25T02:30:00+01:00", "timeZone": "Europe/Berlin" },
                "end": { "dateTime": "2026-10-25T03:00:00+01:00", "timeZone": "Europe/Berlin" }
            })),
            now(),
        )
        .unwrap();
    assert_eq!(
        created.start.date_time.as_deref(),
        Some("2026-10-25T02:30:00+01:00")
    );
    assert_eq!(
        created.end.date_time.as_deref(),
        Some("2026-10-25T03:00:00+01:00")
    );
    assert_eq!(created.start.time_zone.as_deref(), Some("Europe/Berlin"));

    let utc = store
        .insert_event(
            "primary",
            body(serde_json::json!({
                "start": { "dateTime": "2026-10-25T01:30:00Z", "timeZone": "Europe/Berlin" },
                "end": { "dateTime": "2026-10-25T02:00:00Z", "timeZone": "Europe/Berlin" }
            })),
            now(),
        )
        .unwrap();
    assert_eq!(
        utc.start.date_time.as_deref(),
        Some("2026-10-25T02:30:00+01:00")
    );

    // Changing only the end keeps the later 02:30 as the start.
    let patched = store
        .patch_event(
            "primary",
            &created.id,
            body(serde_json::json!({
                "end": { "dateTime": "2026-10-25T03:15:00+01:00", "timeZone": "Europe/Berlin" }
            })),
            now(),
        )
        .unwrap();
    assert_eq!(
        patched.start.date_time.as_deref(),
        Some("2026-10-25T02:30:00+01:00")
    );
    assert_eq!(
        patched.end.date_time.as_deref(),
        Some("2026-10-25T03:15:00+01:00")
    );
}

#[test]
fn series_from_repeated_hour_keeps_offset() {
    let mut store = CalendarStore::builtin(OWNER, now());
    let series = store
        .insert_event(
            "primary",
            body(serde_json::json!({
                "start": { "dateTime": "2026-10-25T02:30:00+01:00", "timeZone": "Europe/Berlin" },
                "end": { "dateTime": "2026-10-25T03:00:00+01:00", "timeZone": "Europe/Berlin" },
                "recurrence": ["RRULE:FREQ=DAILY;COUNT=2"]
            })),
            now(),
        )
        .unwrap();

    let window = params("2026-10-24T00:00:00Z", "2026-10-28T00:00:00Z");
    let starts: Vec<String> = store
        .list_events("primary", &window)
        .unwrap()
        .items
        .iter()
        .filter(|event| event.recurring_event_id.as_deref() == Some(series.id.as_str()))
        .map(|event| event.start.date_time.clone().unwrap())
        .collect();
    assert_eq!(
        starts,
        ["2026-10-25T02:30:00+01:00", "2026-10-26T02:30:00+01:00"]
    );

    let occurrence = format!("{}_20261025T013000Z", series.id);
    let moved = store
        .patch_event(
            "primary",
            &occurrence,
            body(serde_json::json!({
                "end": { "dateTime": "2026-10-25T03:30:00+01:00", "timeZone": "Europe/Berlin" }
            })),
            now(),
        )
        .unwrap();
    assert_eq!(
        moved.start.date_time.as_deref(),
        Some("2026-10-25T02:30:00+01:00")
    );
}

#[test]
fn malformed_rrule_gets_google_message() {
    let mut store = CalendarStore::builtin(OWNER, now());
    for line in [
        "RRULE:FREQ=SOMETIMES",
        "RRULE:FREQ=DAILY;UNTIL=soon",
        "EXDATE:never",
    ] {
        let error = store
            .insert_event(
                "primary",
                body(serde_json::json!({
                    "start": { "dateTime": "2026-07-01T10:00:00", "timeZone": "Europe/Berlin" },
                    "end": { "dateTime": "2026-07-01T11:00:00", "timeZone": "Europe/Berlin" },
                    "recurrence": ["RRULE:FREQ=DAILY;COUNT=2", line]
                })),
                now(),
            )
            .unwrap_err();
        assert_eq!(error.code, 400, "{line}");
        assert_eq!(error.message, "Invalid recurrence rule.", "{line}");
    }
}

//! The Calendar write, free/busy and free-slot tools end to end: the dispatcher, the real
//! Google adapter and the sandbox's calendar.
//!
//! Events are placed in March 2026, away from the built-in calendar's events around today.

use mcp_google_hub::ToolDispatcher;
use mcp_google_hub::app;
use mcp_google_hub::config::{Config, ConfigSources};
use mcp_google_hub::sandbox::{Sandbox, SandboxOptions};
use serde_json::{Value, json};

/// Starts a sandbox and a hub on it with the given Calendar access level and, when set,
/// `HUB_ALLOWED_RECIPIENTS`.
async fn hub(calendar_access: &str, recipients: Option<&str>) -> (Sandbox, ToolDispatcher) {
    let sandbox = Sandbox::start(SandboxOptions::default())
        .await
        .expect("sandbox starts");
    let mut sources = ConfigSources::default();
    app::point_at_sandbox(&mut sources, &sandbox);
    sources.set_override("HUB_CALENDAR_ACCESS", calendar_access);
    if let Some(recipients) = recipients {
        sources.set_override("HUB_ALLOWED_RECIPIENTS", recipients);
    }
    let config = Config::from_sources(&sources).expect("sandbox configuration");
    let dispatcher = app::build_dispatcher(&config).expect("dispatcher");
    (sandbox, dispatcher)
}

async fn call(dispatcher: &ToolDispatcher, tool: &str, arguments: Value) -> Value {
    match dispatcher.call(tool, arguments.clone()).await {
        Ok(output) => output.structured,
        Err(error) => panic!("{tool} {arguments} failed: {error}"),
    }
}

async fn list(dispatcher: &ToolDispatcher, time_min: &str, time_max: &str) -> Vec<Value> {
    let listed = call(
        dispatcher,
        "calendar_list_events",
        json!({"time_min": time_min, "time_max": time_max, "max_results": 250}),
    )
    .await;
    listed["events"].as_array().expect("events").clone()
}

fn field<'a>(events: &'a [Value], name: &str) -> Vec<&'a str> {
    events
        .iter()
        .map(|event| event[name].as_str().unwrap_or_default())
        .collect()
}

/// Creates a daily 09:00 New York series of five occurrences from 2026-03-06, across the
/// start of daylight saving time on 2026-03-08.
async fn create_series(dispatcher: &ToolDispatcher) -> String {
    let created = call(
        dispatcher,
        "calendar_create_event",
        json!({
            "summary": "Daily sync",
            "start": "2026-03-06T09:00",
            "end": "2026-03-06T09:30",
            "time_zone": "America/New_York",
            "recurrence": ["RRULE:FREQ=DAILY;COUNT=5"]
        }),
    )
    .await;
    created["event_id"].as_str().expect("event_id").to_owned()
}

#[tokio::test]
async fn created_event_is_listed() {
    let (_sandbox, dispatcher) = hub("write", None).await;

    let created = call(
        &dispatcher,
        "calendar_create_event",
        json!({
            "summary": "Budget review",
            "start": "2026-03-03T14:00",
            "end": "2026-03-03T15:00",
            "time_zone": "Asia/Kolkata",
            "location": "Room 7",
            "attendees": ["ana@example.com"]
        }),
    )
    .await;
    assert_eq!(created["time_zone"], "Asia/Kolkata");
    assert_eq!(created["start"], "2026-03-03T14:00:00+05:30");
    assert_eq!(created["send_updates"], "none");
    let id = created["event_id"].as_str().unwrap();

    let events = list(&dispatcher, "2026-03-03T00:00:00Z", "2026-03-04T00:00:00Z").await;
    assert_eq!(field(&events, "id"), [id]);
    assert_eq!(events[0]["summary"], "Budget review");
    assert_eq!(events[0]["start"], "2026-03-03T14:00:00+05:30");

    let detail = call(&dispatcher, "calendar_get_event", json!({"event_id": id})).await;
    let attendees: Vec<&str> = detail["attendees"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|attendee| attendee["email"].as_str())
        .collect();
    assert!(attendees.contains(&"ana@example.com"), "{attendees:?}");
}

#[tokio::test]
async fn all_day_event_keeps_its_dates() {
    let (_sandbox, dispatcher) = hub("write", None).await;

    let created = call(
        &dispatcher,
        "calendar_create_event",
        json!({"summary": "Holiday", "start_date": "2026-12-24"}),
    )
    .await;
    assert_eq!(created["all_day"], true);
    assert_eq!(created["start"], "2026-12-24");
    assert_eq!(created["end"], "2026-12-25");

    let error = dispatcher
        .call(
            "calendar_create_event",
            json!({"summary": "Holiday", "start_date": "2026-12-24", "end_date": "2026-12-24"}),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("exclusive"), "{error}");
}

#[tokio::test]
async fn series_keeps_local_time_across_dst() {
    let (_sandbox, dispatcher) = hub("write", None).await;
    create_series(&dispatcher).await;

    let events = list(&dispatcher, "2026-03-06T00:00:00Z", "2026-03-12T00:00:00Z").await;
    assert_eq!(
        field(&events, "start"),
        [
            "2026-03-06T09:00:00-05:00",
            "2026-03-07T09:00:00-05:00",
            "2026-03-08T09:00:00-04:00",
            "2026-03-09T09:00:00-04:00",
            "2026-03-10T09:00:00-04:00",
        ]
    );
}

#[tokio::test]
async fn gap_time_is_rejected() {
    let (_sandbox, dispatcher) = hub("write", None).await;
    let error = dispatcher
        .call(
            "calendar_create_event",
            json!({
                "summary": "Too early",
                "start": "2026-03-08T02:30",
                "end": "2026-03-08T03:30",
                "time_zone": "America/New_York"
            }),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("2026-03-08T02:30"), "{error}");
    assert!(error.contains("America/New_York"), "{error}");
}

#[tokio::test]
async fn later_repeated_hour_keeps_offset() {
    let (_sandbox, dispatcher) = hub("write", None).await;
    // Berlin's clocks go back from 03:00 to 02:00 on 2026-10-25, so 02:30 happens twice.
    let created = call(
        &dispatcher,
        "calendar_create_event",
        json!({
            "summary": "Night shift handover",
            "start": "2026-10-25T02:30:00+01:00",
            "end": "2026-10-25T03:00:00+01:00",
            "time_zone": "Europe/Berlin"
        }),
    )
    .await;
    assert_eq!(created["start"], "2026-10-25T02:30:00+01:00");
    assert_eq!(created["end"], "2026-10-25T03:00:00+01:00");

    let events = list(&dispatcher, "2026-10-25T00:00:00Z", "2026-10-25T03:00:00Z").await;
    assert_eq!(field(&events, "start"), ["2026-10-25T02:30:00+01:00"]);
    assert_eq!(field(&events, "end"), ["2026-10-25T03:00:00+01:00"]);
}

#[tokio::test]
async fn instance_and_series_updates() {
    let (_sandbox, dispatcher) = hub("write", None).await;
    let series = create_series(&dispatcher).await;
    let window = ("2026-03-06T00:00:00Z", "2026-03-12T00:00:00Z");
    let events = list(&dispatcher, window.0, window.1).await;
    let third = events[2]["id"].as_str().unwrap().to_owned();
    assert_eq!(third, format!("{series}_20260308T130000Z"));

    let error = dispatcher
        .call(
            "calendar_update_event",
            json!({"event_id": third, "summary": "Special"}),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("this_instance"), "{error}");

    let updated = call(
        &dispatcher,
        "calendar_update_event",
        json!({"event_id": third, "scope": "this_instance", "summary": "Special",
               "start": "2026-03-08T11:00", "time_zone": "America/New_York"}),
    )
    .await;
    assert_eq!(updated["event_id"], third);
    assert_eq!(updated["start"], "2026-03-08T11:00:00-04:00");
    // The occurrence kept its 30 minutes.
    assert_eq!(updated["end"], "2026-03-08T11:30:00-04:00");

    let events = list(&dispatcher, window.0, window.1).await;
    assert_eq!(
        field(&events, "summary"),
        [
            "Daily sync",
            "Daily sync",
            "Special",
            "Daily sync",
            "Daily sync"
        ]
    );

    let renamed = call(
        &dispatcher,
        "calendar_update_event",
        json!({"event_id": events[0]["id"], "scope": "whole_series", "summary": "Team sync"}),
    )
    .await;
    assert_eq!(renamed["event_id"], series.as_str());

    // Without time_zone, a local time is read in the event's own zone.
    let fourth = format!("{series}_20260309T130000Z");
    let moved = call(
        &dispatcher,
        "calendar_update_event",
        json!({"event_id": fourth, "scope": "this_instance", "start": "2026-03-09T10:00"}),
    )
    .await;
    assert_eq!(moved["start"], "2026-03-09T10:00:00-04:00");
    assert_eq!(moved["time_zone"], "America/New_York");
    let notes = moved["notes"].to_string();
    assert!(notes.contains("America/New_York"), "{notes}");

    let events = list(&dispatcher, window.0, window.1).await;
    assert_eq!(
        field(&events, "summary"),
        [
            "Team sync",
            "Team sync",
            "Special",
            "Team sync",
            "Team sync"
        ]
    );

    // New times given for one occurrence with whole_series move every occurrence alike, in
    // local time: 09:00 becomes 09:45 before and after the change to daylight time.
    let shifted = call(
        &dispatcher,
        "calendar_update_event",
        json!({"event_id": events[1]["id"], "scope": "whole_series", "start": "2026-03-07T09:45"}),
    )
    .await;
    assert_eq!(shifted["event_id"], series.as_str());
    assert_eq!(shifted["start"], "2026-03-06T09:45:00-05:00");
    assert_eq!(shifted["end"], "2026-03-06T10:15:00-05:00");

    let events = list(&dispatcher, window.0, window.1).await;
    assert_eq!(
        field(&events, "start"),
        [
            "2026-03-06T09:45:00-05:00",
            "2026-03-07T09:45:00-05:00",
            "2026-03-08T11:00:00-04:00",
            "2026-03-09T10:00:00-04:00",
            "2026-03-10T09:45:00-04:00",
        ]
    );
}

#[tokio::test]
async fn instance_and_series_deletes() {
    let (_sandbox, dispatcher) = hub("write", None).await;
    let series = create_series(&dispatcher).await;
    let window = ("2026-03-06T00:00:00Z", "2026-03-12T00:00:00Z");
    let events = list(&dispatcher, window.0, window.1).await;
    let second = events[1]["id"].as_str().unwrap().to_owned();

    let deleted = call(
        &dispatcher,
        "calendar_delete_event",
        json!({"event_id": second, "scope": "this_instance"}),
    )
    .await;
    assert_eq!(deleted["scope"], "this_instance");
    let events = list(&dispatcher, window.0, window.1).await;
    assert_eq!(events.len(), 4);
    assert!(!field(&events, "id").contains(&second.as_str()));

    let error = dispatcher
        .call("calendar_delete_event", json!({"event_id": series}))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("whole_series"), "{error}");

    let deleted = call(
        &dispatcher,
        "calendar_delete_event",
        json!({"event_id": series, "scope": "whole_series"}),
    )
    .await;
    assert_eq!(deleted["deleted_event_id"], series.as_str());
    assert!(list(&dispatcher, window.0, window.1).await.is_empty());
}

#[tokio::test]
async fn single_event_delete() {
    let (_sandbox, dispatcher) = hub("write", None).await;
    let created = call(
        &dispatcher,
        "calendar_create_event",
        json!({"summary": "Dentist", "start": "2026-03-04T08:00:00Z", "end": "2026-03-04T09:00:00Z"}),
    )
    .await;
    let id = created["event_id"].as_str().unwrap();

    let deleted = call(
        &dispatcher,
        "calendar_delete_event",
        json!({"event_id": id}),
    )
    .await;
    assert_eq!(deleted["scope"], "single");
    assert!(
        list(&dispatcher, "2026-03-04T00:00:00Z", "2026-03-05T00:00:00Z")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn respond_changes_own_entry_and_freebusy() {
    let (_sandbox, dispatcher) = hub("write", None).await;
    // The built-in design review invites the user, who has accepted it.
    let events = call(
        &dispatcher,
        "calendar_list_events",
        json!({"query": "Design review"}),
    )
    .await;
    let review = events["events"][0].clone();
    let id = review["id"].as_str().expect("the built-in design review");
    let (start, end) = (
        review["start"].as_str().unwrap(),
        review["end"].as_str().unwrap(),
    );

    let busy_before = call(
        &dispatcher,
        "calendar_query_freebusy",
        json!({"time_min": start, "time_max": end}),
    )
    .await;
    assert_eq!(
        busy_before["calendars"][0]["busy"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let responded = call(
        &dispatcher,
        "calendar_respond_to_event",
        json!({"event_id": id, "response": "declined", "comment": "Travelling"}),
    )
    .await;
    assert_eq!(responded["response_status"], "declined");

    let detail = call(&dispatcher, "calendar_get_event", json!({"event_id": id})).await;
    let statuses: Vec<(&str, &str)> = detail["attendees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["email"].as_str().unwrap(),
                a["response_status"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        statuses.contains(&("sandbox.user@example.com", "declined")),
        "{statuses:?}"
    );
    // The other guests' responses are untouched.
    assert!(
        statuses.contains(&("jonas.weber@example.com", "tentative")),
        "{statuses:?}"
    );

    let busy_after = call(
        &dispatcher,
        "calendar_query_freebusy",
        json!({"time_min": start, "time_max": end}),
    )
    .await;
    assert!(
        busy_after["calendars"][0]["busy"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn freebusy_reflects_created_events() {
    let (_sandbox, dispatcher) = hub("write", None).await;
    call(
        &dispatcher,
        "calendar_create_event",
        json!({"summary": "Busy", "start": "2026-03-02T10:00:00Z", "end": "2026-03-02T11:00:00Z"}),
    )
    .await;
    call(
        &dispatcher,
        "calendar_create_event",
        json!({"summary": "Overlap", "start": "2026-03-02T10:30:00Z", "end": "2026-03-02T11:30:00Z"}),
    )
    .await;
    call(
        &dispatcher,
        "calendar_create_event",
        json!({"summary": "Free", "start": "2026-03-02T13:00:00Z", "end": "2026-03-02T14:00:00Z", "show_as": "free"}),
    )
    .await;

    let result = call(
        &dispatcher,
        "calendar_query_freebusy",
        json!({
            "time_min": "2026-03-02T00:00",
            "time_max": "2026-03-03T00:00",
            "time_zone": "Europe/Berlin",
            "calendars": ["ghost@example.com"]
        }),
    )
    .await;
    assert_eq!(result["time_zone"], "Europe/Berlin");
    let own = &result["calendars"][0];
    assert_eq!(own["id"], "primary");
    assert_eq!(
        own["busy"],
        json!([{"start": "2026-03-02T11:00:00+01:00", "end": "2026-03-02T12:30:00+01:00"}])
    );
    let ghost = &result["calendars"][1];
    assert_eq!(ghost["id"], "ghost@example.com");
    assert_eq!(ghost["errors"], json!(["notFound"]));
}

#[tokio::test]
async fn free_slots_skip_created_events() {
    let (_sandbox, dispatcher) = hub("write", None).await;
    call(
        &dispatcher,
        "calendar_create_event",
        json!({"summary": "Busy", "start": "2026-03-02T10:00:00Z", "end": "2026-03-02T11:00:00Z"}),
    )
    .await;

    let result = call(
        &dispatcher,
        "calendar_find_free_slots",
        json!({
            "duration_minutes": 30,
            "time_min": "2026-03-02",
            "time_max": "2026-03-03",
            "time_zone": "UTC",
            "buffer_minutes": 15,
            "attendees": ["ghost@example.com"]
        }),
    )
    .await;
    assert_eq!(result["time_zone"], "UTC");
    assert_eq!(
        result["slots"],
        json!([
            {"start": "2026-03-02T09:00:00Z", "end": "2026-03-02T09:45:00Z", "minutes": 45},
            {"start": "2026-03-02T11:15:00Z", "end": "2026-03-02T17:00:00Z", "minutes": 345}
        ])
    );
    assert_eq!(result["calendars_checked"], json!(["primary"]));
    assert_eq!(
        result["errors"],
        json!([{"calendar": "ghost@example.com", "reason": "notFound"}])
    );
}

#[tokio::test]
async fn attendees_outside_allowlist_are_rejected() {
    let (_sandbox, dispatcher) = hub("write", Some("@example.com")).await;

    let error = dispatcher
        .call(
            "calendar_create_event",
            json!({
                "summary": "Leak",
                "start": "2026-03-02T10:00:00Z",
                "end": "2026-03-02T11:00:00Z",
                "attendees": ["ana@example.com", "eve@evil.example.org"]
            }),
        )
        .await
        .unwrap_err();
    assert_eq!(error.category().as_str(), "permission_denied");
    let message = error.to_string();
    assert!(message.contains("`attendees[1]`"), "{message}");
    assert!(message.contains("eve@evil.example.org"), "{message}");
    assert!(
        list(&dispatcher, "2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z")
            .await
            .is_empty(),
        "nothing was created"
    );

    let created = call(
        &dispatcher,
        "calendar_create_event",
        json!({
            "summary": "Fine",
            "start": "2026-03-02T10:00:00Z",
            "end": "2026-03-02T11:00:00Z",
            "attendees": ["ana@example.com"]
        }),
    )
    .await;
    let id = created["event_id"].as_str().unwrap();

    let error = dispatcher
        .call(
            "calendar_update_event",
            json!({"event_id": id, "attendees": ["ana@example.com", "eve@evil.example.org"]}),
        )
        .await
        .unwrap_err();
    assert_eq!(error.category().as_str(), "permission_denied");
}

#[tokio::test]
async fn notices_to_guests_outside_allowlist_are_rejected() {
    let (_sandbox, dispatcher) = hub("write", Some("@x.example")).await;
    // The built-in design review has guests at example.com, outside the allowlist.
    let events = call(
        &dispatcher,
        "calendar_list_events",
        json!({"query": "Design review"}),
    )
    .await;
    let review = events["events"][0].clone();
    let id = review["id"].as_str().expect("the built-in design review");

    let notifying_calls = [
        (
            "calendar_update_event",
            json!({"event_id": id, "summary": "Renamed", "send_updates": "all"}),
        ),
        (
            "calendar_update_event",
            json!({"event_id": id, "summary": "Renamed", "send_updates": "external_only"}),
        ),
        (
            "calendar_respond_to_event",
            json!({"event_id": id, "response": "tentative", "send_updates": "all"}),
        ),
        (
            "calendar_delete_event",
            json!({"event_id": id, "send_updates": "all"}),
        ),
    ];
    for (tool, arguments) in notifying_calls {
        let error = dispatcher
            .call(tool, arguments.clone())
            .await
            .expect_err("a notice outside the allowlist");
        assert_eq!(error.category().as_str(), "permission_denied", "{tool}");
        let message = error.to_string();
        assert!(message.contains("`send_updates`"), "{tool}: {message}");
        assert!(message.contains("@example.com"), "{tool}: {message}");
    }
    let detail = call(&dispatcher, "calendar_get_event", json!({"event_id": id})).await;
    assert_eq!(detail["summary"], review["summary"], "nothing was changed");

    // Without mail, the allowlist does not apply to guests already on the event.
    let renamed = call(
        &dispatcher,
        "calendar_update_event",
        json!({"event_id": id, "summary": "Renamed", "send_updates": "none"}),
    )
    .await;
    assert_eq!(renamed["summary"], "Renamed");
    call(
        &dispatcher,
        "calendar_delete_event",
        json!({"event_id": id}),
    )
    .await;
}

#[tokio::test]
async fn attendees_take_display_names() {
    let (_sandbox, dispatcher) = hub("write", None).await;

    let created = call(
        &dispatcher,
        "calendar_create_event",
        json!({
            "summary": "Named guests",
            "start": "2026-03-04T10:00:00Z",
            "end": "2026-03-04T11:00:00Z",
            "attendees": ["ana@example.com", "Bob Marsh <bob@x.example>", "\"Lee, Ann\" <ann@x.example>"]
        }),
    )
    .await;
    let id = created["event_id"].as_str().unwrap();
    let detail = call(&dispatcher, "calendar_get_event", json!({"event_id": id})).await;
    let emails: Vec<&str> = detail["attendees"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|attendee| attendee["email"].as_str())
        .collect();
    assert!(emails.contains(&"bob@x.example"), "{emails:?}");
    assert!(emails.contains(&"ann@x.example"), "{emails:?}");
    let names: Vec<&str> = detail["attendees"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|attendee| attendee["name"].as_str())
        .collect();
    assert!(names.contains(&"Bob Marsh"), "{names:?}");
    assert!(names.contains(&"Lee, Ann"), "{names:?}");

    let error = dispatcher
        .call(
            "calendar_update_event",
            json!({"event_id": id, "attendees": ["ana@example.com", "Bob <bob@>"]}),
        )
        .await
        .unwrap_err();
    assert_eq!(error.category().as_str(), "invalid_argument");
    let message = error.to_string();
    assert!(message.contains("`attendees[1]`"), "{message}");
}

#[tokio::test]
async fn empty_summary_and_empty_update_rejected() {
    let (_sandbox, dispatcher) = hub("write", None).await;

    let error = dispatcher
        .call(
            "calendar_create_event",
            json!({"summary": " ", "start_date": "2026-03-05"}),
        )
        .await
        .unwrap_err();
    assert_eq!(error.category().as_str(), "invalid_argument");
    assert!(error.to_string().contains("`summary`"), "{error}");

    let created = call(
        &dispatcher,
        "calendar_create_event",
        json!({"summary": "Titled", "start_date": "2026-03-05"}),
    )
    .await;
    let id = created["event_id"].as_str().unwrap();

    let error = dispatcher
        .call(
            "calendar_update_event",
            json!({"event_id": id, "summary": ""}),
        )
        .await
        .unwrap_err();
    assert_eq!(error.category().as_str(), "invalid_argument");
    assert!(error.to_string().contains("`summary`"), "{error}");

    let error = dispatcher
        .call("calendar_update_event", json!({"event_id": id}))
        .await
        .unwrap_err();
    assert_eq!(error.category().as_str(), "invalid_argument");
    let message = error.to_string();
    assert!(message.contains("no field to change"), "{message}");
    assert!(!message.contains("`summary`"), "{message}");
    assert!(message.contains("attendees"), "{message}");

    let detail = call(&dispatcher, "calendar_get_event", json!({"event_id": id})).await;
    assert_eq!(detail["summary"], "Titled");
}

#[tokio::test]
async fn recurrence_lines_are_checked() {
    let (_sandbox, dispatcher) = hub("write", None).await;
    let create = |recurrence: Value| {
        json!({
            "summary": "Standup",
            "start": "2026-03-09T09:00",
            "end": "2026-03-09T09:15",
            "time_zone": "Europe/Berlin",
            "recurrence": recurrence
        })
    };

    for line in [
        "RRULE:FREQ=DAILY;COUNT=3\r\nATTENDEE:mailto:eve@example.org",
        "RRULE:FREQ=DAILY\nCOUNT=3",
    ] {
        let error = dispatcher
            .call(
                "calendar_create_event",
                create(json!(["EXDATE;TZID=Europe/Berlin:20260310T090000", line])),
            )
            .await
            .unwrap_err();
        assert_eq!(error.category().as_str(), "invalid_argument", "{line:?}");
        let message = error.to_string();
        assert!(message.contains("`recurrence[1]`"), "{message}");
    }

    // A malformed rule reaches the sandbox, which returns Google's 400 message.
    let error = dispatcher
        .call(
            "calendar_create_event",
            create(json!(["RRULE:FREQ=SOMETIMES"])),
        )
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("Invalid recurrence rule"), "{message}");
    assert!(!message.contains("sandbox.invalid"), "{message}");
    assert!(
        list(&dispatcher, "2026-03-09T00:00:00Z", "2026-03-12T00:00:00Z")
            .await
            .is_empty(),
        "nothing was created"
    );
}

#[tokio::test]
async fn read_tools_reject_skipped_local_time() {
    let (_sandbox, dispatcher) = hub("write", None).await;
    // Clocks in New York skip from 02:00 to 03:00 on 2026-03-08.
    let window = |extra: Value| {
        let mut arguments = json!({
            "time_min": "2026-03-08T02:30",
            "time_max": "2026-03-08T06:00",
            "time_zone": "America/New_York"
        });
        arguments
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        arguments
    };
    let calls = [
        ("calendar_list_events", window(json!({}))),
        ("calendar_query_freebusy", window(json!({}))),
        (
            "calendar_find_free_slots",
            window(json!({"duration_minutes": 30})),
        ),
    ];
    for (tool, arguments) in calls {
        let error = dispatcher
            .call(tool, arguments)
            .await
            .expect_err("a skipped local time");
        assert_eq!(error.category().as_str(), "invalid_argument", "{tool}");
        let message = error.to_string();
        assert!(message.contains("time_min"), "{tool}: {message}");
        assert!(message.contains("does not exist"), "{tool}: {message}");
    }

    let listed = call(
        &dispatcher,
        "calendar_list_events",
        json!({"time_min": "2026-03-08T03:30", "time_max": "2026-03-08T06:00", "time_zone": "America/New_York"}),
    )
    .await;
    assert!(listed["events"].is_array());
}

#[tokio::test]
async fn max_slots_schema_matches_check() {
    let (_sandbox, dispatcher) = hub("write", None).await;
    let definition = dispatcher
        .definitions()
        .find(|definition| definition.name == "calendar_find_free_slots")
        .expect("calendar_find_free_slots is listed");
    let max_slots = &definition.input_schema["properties"]["max_slots"];
    assert_eq!(max_slots["minimum"], 1, "{max_slots}");
    assert_eq!(max_slots["maximum"], 200, "{max_slots}");

    for (value, accepted) in [(0, false), (1, true), (200, true), (201, false)] {
        let result = dispatcher
            .call(
                "calendar_find_free_slots",
                json!({
                    "duration_minutes": 30,
                    "time_min": "2026-03-02T00:00:00Z",
                    "time_max": "2026-03-03T00:00:00Z",
                    "max_slots": value
                }),
            )
            .await;
        assert_eq!(result.is_ok(), accepted, "max_slots {value}");
    }
}

#[tokio::test]
async fn read_access_refuses_writes() {
    let (_sandbox, dispatcher) = hub("read", None).await;
    let names: Vec<&str> = dispatcher.definitions().map(|tool| tool.name).collect();
    assert!(names.contains(&"calendar_query_freebusy"), "{names:?}");
    assert!(names.contains(&"calendar_find_free_slots"), "{names:?}");
    assert!(!names.contains(&"calendar_create_event"), "{names:?}");
    assert!(!names.contains(&"calendar_respond_to_event"), "{names:?}");

    let result = dispatcher
        .call(
            "calendar_create_event",
            json!({"summary": "x", "start_date": "2026-03-02"}),
        )
        .await;
    assert!(result.is_err());
}

/// Checks that every key of `value` is a property of the discovery schema `schema`,
/// recursing through `$ref` properties, arrays and maps of them.
fn check_shape(schemas: &Value, value: &Value, schema: &str) {
    let properties = schemas[schema]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("no schema {schema}"));
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("{schema} is not an object: {value}"));
    for (key, child) in object {
        let property = properties
            .get(key)
            .unwrap_or_else(|| panic!("{schema} has no property {key:?}"));
        if let Some(reference) = property["$ref"].as_str() {
            check_shape(schemas, child, reference);
        } else if let Some(reference) = property["items"]["$ref"].as_str() {
            for item in child.as_array().expect("an array") {
                check_shape(schemas, item, reference);
            }
        } else if let Some(reference) = property["additionalProperties"]["$ref"].as_str() {
            for entry in child.as_object().expect("a map").values() {
                check_shape(schemas, entry, reference);
            }
        }
    }
}

/// The sandbox's insert, patch and freebusy.query responses use only properties of the
/// Calendar discovery document's `Event` and `FreeBusyResponse` schemas.
#[tokio::test]
async fn write_responses_match_discovery() {
    let sandbox = Sandbox::start(SandboxOptions::default())
        .await
        .expect("sandbox starts");
    let client = mcp_google_hub::outbound::http::build_client(
        &mcp_google_hub::outbound::http::HttpSettings::default(),
    )
    .expect("client");
    let base = sandbox.base_url();
    let credentials: Value = client
        .get(base.join("api/v1/google/credentials").unwrap())
        .bearer_auth(sandbox.oma_access_token())
        .send()
        .await
        .expect("credentials")
        .json()
        .await
        .expect("credentials json");
    let token = credentials["access_token"].as_str().expect("access_token");
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/google-discovery/calendar.v3.json"
    ))
    .expect("discovery document");
    let discovery: Value = serde_json::from_str(&text).unwrap();
    let schemas = &discovery["schemas"];

    let inserted: Value = client
        .post(base.join("calendar/v3/calendars/primary/events").unwrap())
        .bearer_auth(token)
        .json(&json!({
            "id": "shapecheck01",
            "summary": "Shape",
            "start": {"dateTime": "2026-03-02T09:00:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2026-03-02T10:00:00", "timeZone": "Europe/Berlin"},
            "attendees": [{"email": "ana@example.com"}],
            "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"]
        }))
        .send()
        .await
        .expect("insert")
        .json()
        .await
        .expect("insert json");
    assert_eq!(inserted["id"], "shapecheck01", "{inserted}");
    check_shape(schemas, &inserted, "Event");

    let patched: Value = client
        .patch(
            base.join("calendar/v3/calendars/primary/events/shapecheck01_20260303T080000Z")
                .unwrap(),
        )
        .bearer_auth(token)
        .json(&json!({"summary": "Changed once"}))
        .send()
        .await
        .expect("patch")
        .json()
        .await
        .expect("patch json");
    assert_eq!(patched["recurringEventId"], "shapecheck01", "{patched}");
    check_shape(schemas, &patched, "Event");

    let busy: Value = client
        .post(base.join("calendar/v3/freeBusy").unwrap())
        .bearer_auth(token)
        .json(&json!({
            "timeMin": "2026-03-02T00:00:00Z",
            "timeMax": "2026-03-05T00:00:00Z",
            "items": [{"id": "primary"}, {"id": "ghost@example.com"}]
        }))
        .send()
        .await
        .expect("freebusy")
        .json()
        .await
        .expect("freebusy json");
    assert_eq!(
        busy["calendars"]["primary"]["busy"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    check_shape(schemas, &busy, "FreeBusyResponse");
}

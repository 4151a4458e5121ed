//! The built-in calendar, written as iCalendar text relative to "now" and loaded through the
//! same parser as files, so that it exercises the same code.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

/// The UIDs of the built-in events, for tests.
pub(super) const PLANNING_UID: &str = "builtin-planning@sandbox.invalid";
pub(super) const OFFSITE_UID: &str = "builtin-offsite@sandbox.invalid";
pub(super) const STANDUP_UID: &str = "builtin-standup@sandbox.invalid";
pub(super) const REVIEW_UID: &str = "builtin-design-review@sandbox.invalid";
pub(super) const LUNCH_UID: &str = "builtin-lunch@sandbox.invalid";

/// Writes the built-in calendar for `owner_email` around `now`:
/// - tomorrow 10:00 to 11:00 in New York, a one-off meeting;
/// - an all-day offsite over three days from the day after tomorrow (DTEND is exclusive);
/// - a weekday standup at 09:30 Berlin time, every Monday, Wednesday and Friday since two
///   weeks ago, without end, with next week's Wednesday cancelled by an EXDATE;
/// - a design review in three days with four attendees and an HTML description;
/// - a tentative lunch in four days, marked as free time.
pub(super) fn ics(owner_email: &str, now: DateTime<Utc>) -> String {
    let today = now.date_naive();
    let stamp = (now - Duration::days(7)).format("%Y%m%dT%H%M%SZ");
    let date = |days: i64| (today + Duration::days(days)).format("%Y%m%d").to_string();

    let standup_first = monday_of_week(today) - Duration::days(14);
    let cancelled_standup = monday_of_week(today) + Duration::days(7 + 2);

    format!(
        "BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//mcp-google-hub//sandbox//EN\r
BEGIN:VEVENT\r
UID:{PLANNING_UID}\r
DTSTAMP:{stamp}\r
CREATED:{stamp}\r
LAST-MODIFIED:{stamp}\r
SUMMARY:Quarterly planning\r
LOCATION:Conference room 4B\\, 350 Fifth Avenue\\, New York\r
DTSTART;TZID=America/New_York:{tomorrow}T100000\r
DTEND;TZID=America/New_York:{tomorrow}T110000\r
ORGANIZER;CN=Sandbox Owner:mailto:{owner_email}\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:{OFFSITE_UID}\r
DTSTAMP:{stamp}\r
SUMMARY:Team offsite\r
DESCRIPTION:Three days away from the office. Travel on the first morning.\r
LOCATION:Lake Como\r
DTSTART;VALUE=DATE:{offsite_start}\r
DTEND;VALUE=DATE:{offsite_end}\r
TRANSP:TRANSPARENT\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:{STANDUP_UID}\r
DTSTAMP:{stamp}\r
SUMMARY:Standup\r
LOCATION:https://meet.example.com/standup\r
DTSTART;TZID=Europe/Berlin:{standup_first}T093000\r
DTEND;TZID=Europe/Berlin:{standup_first}T094500\r
RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR\r
EXDATE;TZID=Europe/Berlin:{cancelled_standup}T093000\r
ORGANIZER;CN=Sandbox Owner:mailto:{owner_email}\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:{REVIEW_UID}\r
DTSTAMP:{stamp}\r
SUMMARY:Design review: calendar sync\r
DESCRIPTION:<p>Agenda:</p><ul><li>Sync conflicts</li><li>Time zones &amp; all-d\r
 ay events</li></ul><p>Notes: <a href=\"https://docs.example.com/review\">review\r
  doc</a></p>\r
DTSTART:{review}T140000Z\r
DTEND:{review}T150000Z\r
ORGANIZER;CN=Priya Raman:mailto:priya.raman@example.com\r
ATTENDEE;CN=Priya Raman;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:priya.raman@example.com\r
ATTENDEE;CN=Sandbox Owner;PARTSTAT=ACCEPTED:mailto:{owner_email}\r
ATTENDEE;CN=Jonas Weber;PARTSTAT=TENTATIVE:mailto:jonas.weber@example.com\r
ATTENDEE;CN=Ana Lima;PARTSTAT=DECLINED;ROLE=OPT-PARTICIPANT:mailto:ana.lima@example.com\r
ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:design-team@example.com\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:{LUNCH_UID}\r
DTSTAMP:{stamp}\r
SUMMARY:Lunch with Sam?\r
STATUS:TENTATIVE\r
TRANSP:TRANSPARENT\r
DTSTART;TZID=Europe/London:{lunch}T123000\r
DURATION:PT1H15M\r
END:VEVENT\r
END:VCALENDAR\r
",
        tomorrow = date(1),
        offsite_start = date(2),
        offsite_end = date(5),
        standup_first = standup_first.format("%Y%m%d"),
        cancelled_standup = cancelled_standup.format("%Y%m%d"),
        review = date(3),
        lunch = date(4),
    )
}

fn monday_of_week(date: NaiveDate) -> NaiveDate {
    date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
}

//! What the hub may do on the user's behalf: the access level of each service, the OAuth
//! scopes a level needs, and the allowlist of recipients mail and invitations may go to.
//!
//! Access is enforced three times over. The dispatcher neither lists nor runs a tool above
//! the configured level; `auth login` asks Google only for the scopes the level needs; and
//! the code that sends mail exists only in builds with the `gmail-send` feature.

use std::fmt;
use std::str::FromStr;

/// How much of Gmail the tools may touch. Each level includes the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum GmailAccess {
    /// Search and read messages, threads, labels and attachments.
    #[default]
    Read,
    /// Also change labels, mark read or unread, archive, trash and untrash, create labels.
    Organize,
    /// Also write, update and delete drafts, including replies and forwards as drafts.
    Draft,
    /// Also send mail. Needs a build with the `gmail-send` feature.
    Send,
}

/// How much of Google Calendar the tools may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum CalendarAccess {
    /// List calendars, read events and query free/busy time.
    #[default]
    Read,
    /// Also create, change, delete and respond to events.
    Write,
}

/// The level a tool needs to be listed and run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequiredAccess {
    /// Nothing: the tool reads only the hub's own state, like `hub_status`.
    None,
    /// At least this Gmail level.
    Gmail(GmailAccess),
    /// At least this Calendar level.
    Calendar(CalendarAccess),
}

/// The configured access level of each service. The default is read-only everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccessLevels {
    /// The Gmail level (`HUB_GMAIL_ACCESS`).
    pub gmail: GmailAccess,
    /// The Calendar level (`HUB_CALENDAR_ACCESS`).
    pub calendar: CalendarAccess,
}

impl AccessLevels {
    /// Read-only access to every service.
    pub const READ_ONLY: Self = Self {
        gmail: GmailAccess::Read,
        calendar: CalendarAccess::Read,
    };

    /// Returns whether a tool that needs `required` may be listed and run.
    pub fn allows(&self, required: RequiredAccess) -> bool {
        match required {
            RequiredAccess::None => true,
            RequiredAccess::Gmail(level) => self.gmail >= level,
            RequiredAccess::Calendar(level) => self.calendar >= level,
        }
    }

    /// Returns the OAuth scopes `service` (`gmail` or `calendar`) needs at its configured
    /// level, or `None` for an unknown service.
    ///
    /// Google has no draft-only Gmail scope: `gmail.compose` allows sending as well, so the
    /// `draft` and `send` levels ask for the same scopes and only the build (the
    /// `gmail-send` feature) and the dispatcher keep a `draft` hub from sending.
    pub fn scopes_for(&self, service: &str) -> Option<&'static [&'static str]> {
        let scopes: &'static [&'static str] = match service {
            "gmail" => match self.gmail {
                GmailAccess::Read => &[GMAIL_READONLY],
                GmailAccess::Organize => &[GMAIL_MODIFY],
                GmailAccess::Draft | GmailAccess::Send => &[GMAIL_MODIFY, GMAIL_COMPOSE],
            },
            "calendar" => match self.calendar {
                CalendarAccess::Read => &[CALENDAR_READONLY],
                CalendarAccess::Write => &[CALENDAR_READONLY, CALENDAR_EVENTS],
            },
            _ => return None,
        };
        Some(scopes)
    }
}

/// Returns the scopes among `needed` that `granted` covers neither directly nor through a
/// broader scope (`https://mail.google.com/` for Gmail, `.../auth/calendar` for Calendar,
/// `gmail.modify` for `gmail.readonly`).
pub fn missing_scopes<'a>(needed: &[&'a str], granted: &[String]) -> Vec<&'a str> {
    let has = |scope: &str| granted.iter().any(|granted| granted == scope);
    needed
        .iter()
        .copied()
        .filter(|scope| {
            let broader = if scope.contains("/auth/gmail.") {
                has(GMAIL_FULL) || (*scope == GMAIL_READONLY && has(GMAIL_MODIFY))
            } else if scope.contains("/auth/calendar.") {
                has(CALENDAR_FULL)
            } else {
                false
            };
            !has(scope) && !broader
        })
        .collect()
}

const GMAIL_FULL: &str = "https://mail.google.com/";
const CALENDAR_FULL: &str = "https://www.googleapis.com/auth/calendar";
const GMAIL_READONLY: &str = "https://www.googleapis.com/auth/gmail.readonly";
// Read, label, archive and trash; not permanent deletion, which needs the full mail scope.
const GMAIL_MODIFY: &str = "https://www.googleapis.com/auth/gmail.modify";
// Drafts and sending.
const GMAIL_COMPOSE: &str = "https://www.googleapis.com/auth/gmail.compose";
const CALENDAR_READONLY: &str = "https://www.googleapis.com/auth/calendar.readonly";
// Events on every calendar the user can write; calendarList.list still needs the read scope.
const CALENDAR_EVENTS: &str = "https://www.googleapis.com/auth/calendar.events";

impl GmailAccess {
    /// The names accepted by [`FromStr`], lowest level first.
    pub const NAMES: [&'static str; 4] = ["read", "organize", "draft", "send"];

    /// Returns the level's name, as `HUB_GMAIL_ACCESS` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Organize => "organize",
            Self::Draft => "draft",
            Self::Send => "send",
        }
    }
}

impl CalendarAccess {
    /// The names accepted by [`FromStr`], lowest level first.
    pub const NAMES: [&'static str; 2] = ["read", "write"];

    /// Returns the level's name, as `HUB_CALENDAR_ACCESS` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

impl FromStr for GmailAccess {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim().to_ascii_lowercase().as_str() {
            "read" => Ok(Self::Read),
            "organize" => Ok(Self::Organize),
            "draft" => Ok(Self::Draft),
            "send" => Ok(Self::Send),
            _ => Err(format!(
                "unknown Gmail access level {value:?}; use one of {}",
                Self::NAMES.join(", ")
            )),
        }
    }
}

impl FromStr for CalendarAccess {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim().to_ascii_lowercase().as_str() {
            "read" => Ok(Self::Read),
            "write" => Ok(Self::Write),
            _ => Err(format!(
                "unknown Calendar access level {value:?}; use one of {}",
                Self::NAMES.join(", ")
            )),
        }
    }
}

impl fmt::Display for GmailAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for CalendarAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The addresses mail may be sent to and events may invite (`HUB_ALLOWED_RECIPIENTS`).
///
/// Entries are whole addresses (`ana@example.com`) or domains (`@example.com`). A domain
/// entry matches that domain only, not its subdomains, so `@example.com` does not let mail
/// reach `x@mail.example.com`. Matching ignores ASCII case on both sides: Gmail and almost
/// every other provider treat the local part case-insensitively, although RFC 5321 allows
/// a server not to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecipientAllowlist {
    /// `None` when no allowlist is configured, so any recipient is allowed.
    entries: Option<Vec<AllowEntry>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum AllowEntry {
    Address(String),
    Domain(String),
}

/// A recipient outside [`RecipientAllowlist`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{address} in `{field}` is not an allowed recipient: {reason}")]
pub struct RecipientNotAllowed {
    /// The argument that named the recipient, such as `to` or `attendees`.
    pub field: &'static str,
    /// The address.
    pub address: String,
    /// Why, with what to change.
    pub reason: &'static str,
}

impl RecipientAllowlist {
    /// An allowlist that allows every recipient, as when `HUB_ALLOWED_RECIPIENTS` is unset.
    pub fn unrestricted() -> Self {
        Self { entries: None }
    }

    /// Parses a comma-separated list of addresses and `@domain` entries. Whitespace around
    /// entries is ignored; a value with no entries at all allows no recipient.
    ///
    /// # Errors
    ///
    /// Names the first entry that is neither an address nor `@domain`.
    pub fn parse(value: &str) -> Result<Self, String> {
        let mut entries = Vec::new();
        for entry in value
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
        {
            let lower = entry.to_ascii_lowercase();
            let parsed = match lower.strip_prefix('@') {
                Some(domain) if is_domain(domain) => AllowEntry::Domain(domain.to_owned()),
                None if split_address(&lower).is_some() => AllowEntry::Address(lower),
                _ => {
                    return Err(format!(
                        "HUB_ALLOWED_RECIPIENTS has an invalid entry {entry:?}; use addresses \
                         like ana@example.com or domains like @example.com, separated by commas"
                    ));
                }
            };
            entries.push(parsed);
        }
        Ok(Self {
            entries: Some(entries),
        })
    }

    /// Returns whether an allowlist is configured.
    pub fn is_restricted(&self) -> bool {
        self.entries.is_some()
    }

    /// Checks one recipient's bare address (`ana@example.com`, without a display name).
    ///
    /// # Errors
    ///
    /// [`RecipientNotAllowed`] naming `field` and the address when an allowlist is
    /// configured and no entry matches it, or when the address has no domain to match.
    pub fn check(&self, field: &'static str, address: &str) -> Result<(), RecipientNotAllowed> {
        let Some(entries) = &self.entries else {
            return Ok(());
        };
        let reject = |reason| RecipientNotAllowed {
            field,
            address: address.to_owned(),
            reason,
        };
        if entries.is_empty() {
            return Err(reject(
                "HUB_ALLOWED_RECIPIENTS is set but empty, so nothing may be sent",
            ));
        }

        let lower = address.trim().to_ascii_lowercase();
        let Some((_, domain)) = split_address(&lower) else {
            return Err(reject("it is not a valid address"));
        };
        let allowed = entries.iter().any(|entry| match entry {
            AllowEntry::Address(allowed) => *allowed == lower,
            AllowEntry::Domain(allowed) => allowed == domain,
        });
        if allowed {
            Ok(())
        } else {
            Err(reject(
                "it matches no entry of HUB_ALLOWED_RECIPIENTS; add the address or its @domain there",
            ))
        }
    }
}

/// Splits `local@domain`, requiring both parts and a plausible domain.
fn split_address(address: &str) -> Option<(&str, &str)> {
    let (local, domain) = address.rsplit_once('@')?;
    (!local.is_empty() && !local.chars().any(char::is_whitespace) && is_domain(domain))
        .then_some((local, domain))
}

/// Checks the shape of a domain name: dot-separated labels of letters, digits and hyphens.
fn is_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_include_lower_levels() {
        let levels = AccessLevels {
            gmail: GmailAccess::Draft,
            calendar: CalendarAccess::Read,
        };

        assert!(levels.allows(RequiredAccess::None));
        assert!(levels.allows(RequiredAccess::Gmail(GmailAccess::Read)));
        assert!(levels.allows(RequiredAccess::Gmail(GmailAccess::Organize)));
        assert!(levels.allows(RequiredAccess::Gmail(GmailAccess::Draft)));
        assert!(!levels.allows(RequiredAccess::Gmail(GmailAccess::Send)));
        assert!(levels.allows(RequiredAccess::Calendar(CalendarAccess::Read)));
        assert!(!levels.allows(RequiredAccess::Calendar(CalendarAccess::Write)));
    }

    #[test]
    fn scopes_follow_levels() {
        let read = AccessLevels::READ_ONLY;
        let write = AccessLevels {
            gmail: GmailAccess::Send,
            calendar: CalendarAccess::Write,
        };

        assert_eq!(read.scopes_for("gmail"), Some(&[GMAIL_READONLY][..]));
        assert_eq!(read.scopes_for("calendar"), Some(&[CALENDAR_READONLY][..]));
        assert_eq!(
            write.scopes_for("gmail"),
            Some(&[GMAIL_MODIFY, GMAIL_COMPOSE][..])
        );
        assert_eq!(
            write.scopes_for("calendar"),
            Some(&[CALENDAR_READONLY, CALENDAR_EVENTS][..])
        );
        assert_eq!(read.scopes_for("drive"), None);
    }

    #[test]
    fn missing_scopes_counts_broader_grants() {
        let needed = [GMAIL_MODIFY, GMAIL_COMPOSE];

        let none = missing_scopes(&needed, &[]);
        assert_eq!(none, needed);
        let full = missing_scopes(&needed, &[GMAIL_FULL.to_owned()]);
        assert!(full.is_empty());
        let partial = missing_scopes(&needed, &[GMAIL_MODIFY.to_owned()]);
        assert_eq!(partial, [GMAIL_COMPOSE]);
        let read = missing_scopes(&[GMAIL_READONLY], &[GMAIL_MODIFY.to_owned()]);
        assert!(read.is_empty());
        let calendar = missing_scopes(
            &[CALENDAR_READONLY, CALENDAR_EVENTS],
            &[CALENDAR_FULL.to_owned()],
        );
        assert!(calendar.is_empty());
    }

    #[test]
    fn level_names_parse_back() {
        for name in GmailAccess::NAMES {
            assert_eq!(name.parse::<GmailAccess>().unwrap().as_str(), name);
        }
        for name in CalendarAccess::NAMES {
            assert_eq!(name.parse::<CalendarAccess>().unwrap().as_str(), name);
        }
        assert_eq!(" SEND ".parse::<GmailAccess>(), Ok(GmailAccess::Send));

        let error = "write".parse::<GmailAccess>().unwrap_err();
        assert!(error.contains("\"write\""), "{error}");
        assert!(error.contains("read, organize, draft, send"), "{error}");
    }

    #[test]
    fn unrestricted_allowlist_allows_anyone() {
        let allowlist = RecipientAllowlist::unrestricted();

        assert!(!allowlist.is_restricted());
        assert!(allowlist.check("to", "anyone@anywhere.example").is_ok());
    }

    #[test]
    fn allowlist_matches_addresses_and_domains() {
        let allowlist = RecipientAllowlist::parse(" Ana@Example.com, @team.example.org ").unwrap();

        assert!(allowlist.check("to", "ana@example.com").is_ok());
        assert!(allowlist.check("to", "ANA@EXAMPLE.COM").is_ok());
        assert!(allowlist.check("cc", "bo@team.example.org").is_ok());
        assert!(allowlist.check("cc", "bo@Team.Example.Org").is_ok());
    }

    #[test]
    fn allowlist_rejects_others_naming_field() {
        let allowlist = RecipientAllowlist::parse("ana@example.com, @team.example.org").unwrap();

        let other = allowlist.check("bcc", "eve@example.com").unwrap_err();
        assert_eq!(other.field, "bcc");
        assert_eq!(other.address, "eve@example.com");
        assert!(other.to_string().contains("`bcc`"), "{other}");

        let subdomain = allowlist.check("to", "bo@sub.team.example.org");
        assert!(subdomain.is_err());
        let lookalike = allowlist.check("to", "bo@evilteam.example.org");
        assert!(lookalike.is_err());
        let no_domain = allowlist.check("to", "ana");
        assert!(no_domain.is_err());
    }

    #[test]
    fn empty_allowlist_rejects_everyone() {
        for value in ["", " ", ",,"] {
            let allowlist = RecipientAllowlist::parse(value).unwrap();

            assert!(allowlist.is_restricted());
            let error = allowlist.check("to", "ana@example.com").unwrap_err();
            assert!(error.reason.contains("set but empty"), "{error}");
        }
    }

    #[test]
    fn allowlist_rejects_invalid_entries() {
        for entry in [
            "ana",
            "@",
            "@-bad.example",
            "ana@",
            "a b@example.com",
            "@exa mple.com",
        ] {
            let error = RecipientAllowlist::parse(entry).unwrap_err();
            assert!(error.contains(&format!("{entry:?}")), "{error}");
        }
    }
}

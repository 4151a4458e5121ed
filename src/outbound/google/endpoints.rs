//! The root URLs of the Gmail and Calendar APIs, and the request URLs built under them.

use std::fmt;

use url::Url;

use crate::domain::errors::GoogleApiError;

/// Gmail's `rootUrl` in Google's `gmail.v1` discovery document.
const GMAIL_ROOT: &str = "https://gmail.googleapis.com/";

/// Calendar's `rootUrl` in Google's `calendar.v3` discovery document.
const CALENDAR_ROOT: &str = "https://www.googleapis.com/";

/// The segments every Gmail method path starts with. Gmail's `servicePath` is empty and each
/// method path begins with `gmail/v1/`.
const GMAIL_SERVICE_PATH: [&str; 2] = ["gmail", "v1"];

/// Calendar's `servicePath`, which its method paths are relative to.
const CALENDAR_SERVICE_PATH: [&str; 2] = ["calendar", "v3"];

/// The root URLs of the Gmail and Calendar APIs.
///
/// [`google`](Self::google) gives Google's own roots. [`with_root`](Self::with_root) puts
/// both APIs under one root, for a local stand-in such as the sandbox or a test server.
#[derive(Clone, PartialEq, Eq)]
pub struct GoogleEndpoints {
    gmail: ServiceBase,
    calendar: ServiceBase,
}

impl GoogleEndpoints {
    /// Google's production roots: `https://gmail.googleapis.com/` for Gmail and
    /// `https://www.googleapis.com/` for Calendar.
    pub fn google() -> Self {
        Self {
            gmail: ServiceBase::new(&constant_url(GMAIL_ROOT), &GMAIL_SERVICE_PATH),
            calendar: ServiceBase::new(&constant_url(CALENDAR_ROOT), &CALENDAR_SERVICE_PATH),
        }
    }

    /// Both APIs under `root`, so Gmail is at `{root}/gmail/v1/...` and Calendar at
    /// `{root}/calendar/v3/...`.
    ///
    /// A root with a path of its own joins with exactly one slash, with or without a
    /// trailing slash. Its query and fragment are dropped. A root that cannot carry a path,
    /// such as `mailto:x`, is accepted here, but every call made with it then fails with
    /// [`GoogleApiError::Unavailable`].
    pub fn with_root(root: Url) -> Self {
        Self {
            gmail: ServiceBase::new(&root, &GMAIL_SERVICE_PATH),
            calendar: ServiceBase::new(&root, &CALENDAR_SERVICE_PATH),
        }
    }

    pub(super) fn gmail(&self) -> &ServiceBase {
        &self.gmail
    }

    pub(super) fn calendar(&self) -> &ServiceBase {
        &self.calendar
    }
}

impl Default for GoogleEndpoints {
    fn default() -> Self {
        Self::google()
    }
}

impl fmt::Debug for GoogleEndpoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleEndpoints")
            .field("gmail", &self.gmail)
            .field("calendar", &self.calendar)
            .finish()
    }
}

fn constant_url(text: &str) -> Url {
    // Only called with the constants above, which the unit tests parse.
    Url::parse(text).expect("Google's root URLs are valid")
}

/// The base URL of one API: its root followed by its service path, with no trailing slash.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct ServiceBase {
    /// `None` when the root cannot carry a path.
    base: Option<Url>,
}

impl ServiceBase {
    fn new(root: &Url, service_path: &[&str]) -> Self {
        let mut base = root.clone();
        base.set_query(None);
        base.set_fragment(None);

        let joined = match base.path_segments_mut() {
            Ok(mut segments) => {
                // The empty last segment of a root ending in `/` would double the slash.
                segments.pop_if_empty().extend(service_path);
                true
            }
            Err(()) => false,
        };
        Self {
            base: joined.then_some(base),
        }
    }

    /// Builds the URL of a method from its path segments after the service path, each
    /// percent-encoded as one segment, so an id containing `/`, `#` or `?` stays one segment.
    ///
    /// # Errors
    ///
    /// [`GoogleApiError::Unavailable`] when the configured root cannot carry a path.
    pub(super) fn url(&self, segments: &[&str]) -> Result<Url, GoogleApiError> {
        let Some(base) = &self.base else {
            return Err(GoogleApiError::Unavailable {
                message: "the configured Google API root URL cannot carry a path; \
                          set an http:// or https:// URL"
                    .to_owned(),
            });
        };

        let mut url = base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.extend(segments);
        }
        Ok(url)
    }
}

impl fmt::Debug for ServiceBase {
    /// Prints the base without any user name or password the root may carry.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.base {
            Some(base) => {
                let mut redacted = base.clone();
                let _ = redacted.set_username("");
                let _ = redacted.set_password(None);
                f.write_str(redacted.as_str())
            }
            None => f.write_str("<root without a path>"),
        }
    }
}

/// Checks that an id can be sent as one path segment.
///
/// The `url` crate drops `.` and `..` segments and the server would resolve them anyway, so
/// such an id would address a different resource. Google never issues them.
///
/// # Errors
///
/// [`GoogleApiError::NotFound`] for `.` and `..`.
pub(super) fn id_segment<'a>(kind: &str, id: &'a str) -> Result<&'a str, GoogleApiError> {
    if matches!(id, "." | "..") {
        return Err(GoogleApiError::NotFound {
            message: format!(
                "no {kind} has the id {id:?}, because Google ids are never `.` or `..`"
            ),
        });
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> GoogleEndpoints {
        GoogleEndpoints::with_root(Url::parse(text).unwrap())
    }

    fn gmail_url(endpoints: &GoogleEndpoints, segments: &[&str]) -> String {
        endpoints.gmail().url(segments).unwrap().to_string()
    }

    fn calendar_url(endpoints: &GoogleEndpoints, segments: &[&str]) -> String {
        endpoints.calendar().url(segments).unwrap().to_string()
    }

    #[test]
    fn google_roots() {
        let endpoints = GoogleEndpoints::google();
        assert_eq!(
            gmail_url(&endpoints, &["users", "me", "labels"]),
            "https://gmail.googleapis.com/gmail/v1/users/me/labels"
        );
        assert_eq!(
            calendar_url(&endpoints, &["users", "me", "calendarList"]),
            "https://www.googleapis.com/calendar/v3/users/me/calendarList"
        );
    }

    #[test]
    fn root_with_or_without_slash() {
        for text in [
            "http://127.0.0.1:8080/google",
            "http://127.0.0.1:8080/google/",
            "http://127.0.0.1:8080/google/?token=x#frag",
        ] {
            let endpoints = root(text);
            assert_eq!(
                gmail_url(&endpoints, &["users", "me", "labels"]),
                "http://127.0.0.1:8080/google/gmail/v1/users/me/labels",
                "root {text}"
            );
            assert_eq!(
                calendar_url(&endpoints, &["users", "me", "calendarList"]),
                "http://127.0.0.1:8080/google/calendar/v3/users/me/calendarList",
                "root {text}"
            );
        }
    }

    #[test]
    fn bare_host_root() {
        for text in ["http://127.0.0.1:8080", "http://127.0.0.1:8080/"] {
            assert_eq!(
                gmail_url(&root(text), &["users", "me", "labels"]),
                "http://127.0.0.1:8080/gmail/v1/users/me/labels",
                "root {text}"
            );
        }
    }

    #[test]
    fn ids_stay_one_segment() {
        let url = calendar_url(
            &GoogleEndpoints::google(),
            &[
                "calendars",
                "team#ops@group.calendar.google.com",
                "events",
                "a/b?c%d",
            ],
        );
        assert_eq!(
            url,
            "https://www.googleapis.com/calendar/v3/calendars/\
             team%23ops@group.calendar.google.com/events/a%2Fb%3Fc%25d"
        );
    }

    #[test]
    fn dot_ids_rejected() {
        for id in [".", ".."] {
            let error = id_segment("message", id).unwrap_err();
            assert!(
                matches!(error, GoogleApiError::NotFound { .. }),
                "{error:?}"
            );
        }
        assert_eq!(id_segment("message", "...").unwrap(), "...");
    }

    #[test]
    fn root_without_path_fails_calls() {
        let endpoints = root("mailto:someone@example.com");
        let error = endpoints.gmail().url(&["users"]).unwrap_err();
        assert!(
            matches!(error, GoogleApiError::Unavailable { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn debug_hides_userinfo() {
        let debug = format!("{:?}", root("http://user:hunter2@127.0.0.1:9/"));
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(!debug.contains("user"), "{debug}");
        assert!(debug.contains("http://127.0.0.1:9/gmail/v1"), "{debug}");
    }
}

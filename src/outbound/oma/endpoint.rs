//! The OMA Backend's endpoint URLs, joined from `OMA_BACKEND_URL` and `OMA_API_PREFIX`.

use url::Url;

/// An OMA Backend endpoint the client calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Endpoint {
    /// `GET {prefix}/google/credentials`: fresh Google tokens.
    Credentials,
    /// `GET {prefix}/google/status`: whether Google is connected, without tokens.
    Status,
}

impl Endpoint {
    /// Returns the path below the API prefix.
    pub(super) fn path(self) -> &'static str {
        match self {
            Self::Credentials => "google/credentials",
            Self::Status => "google/status",
        }
    }

    /// Returns a short name for logs.
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Credentials => "credentials",
            Self::Status => "status",
        }
    }
}

/// Normalizes an API prefix to `/seg/seg` form, or to the empty string when it has no
/// segments. Empty segments (from a doubled or trailing slash) are dropped.
pub(super) fn normalize_prefix(prefix: &str) -> String {
    prefix
        .split('/')
        .filter(|segment| !segment.is_empty())
        .fold(String::new(), |mut joined, segment| {
            joined.push('/');
            joined.push_str(segment);
            joined
        })
}

/// Appends `prefix` and then `path` to the path of `base`, keeping the base's own path.
///
/// Empty segments are dropped on every side, so a trailing slash on the base or slashes
/// around the prefix neither get lost nor doubled. The base's query and fragment are
/// removed because the OMA API takes none.
pub(super) fn join(base: &Url, prefix: &str, path: &str) -> Url {
    let base_segments = base.path().split('/');
    let segments: Vec<&str> = base_segments
        .chain(prefix.split('/'))
        .chain(path.split('/'))
        .filter(|segment| !segment.is_empty())
        .collect();

    // `set_path` percent-encodes what a path may not contain and leaves existing `%XX`
    // escapes of the base alone, so nothing is encoded twice.
    let mut joined = base.clone();
    joined.set_path(&format!("/{}", segments.join("/")));
    joined.set_query(None);
    joined.set_fragment(None);
    joined
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(base: &str, prefix: &str, path: &str) -> String {
        let base = Url::parse(base).expect("test base URL parses");
        join(&base, prefix, path).to_string()
    }

    #[test]
    fn join_table() {
        let cases = [
            (
                "https://oma.example.com",
                "/api/v1",
                "https://oma.example.com/api/v1/google/credentials",
            ),
            (
                "https://oma.example.com/",
                "/api/v1",
                "https://oma.example.com/api/v1/google/credentials",
            ),
            (
                "https://oma.example.com",
                "api/v1",
                "https://oma.example.com/api/v1/google/credentials",
            ),
            (
                "https://oma.example.com",
                "api/v1/",
                "https://oma.example.com/api/v1/google/credentials",
            ),
            (
                "https://oma.example.com/",
                "/api/v1/",
                "https://oma.example.com/api/v1/google/credentials",
            ),
            (
                "https://oma.example.com",
                "/apib/v1",
                "https://oma.example.com/apib/v1/google/credentials",
            ),
            (
                "https://host/oma",
                "/apib/v1",
                "https://host/oma/apib/v1/google/credentials",
            ),
            (
                "https://host/oma/",
                "/apib/v1",
                "https://host/oma/apib/v1/google/credentials",
            ),
            (
                "https://host/oma/",
                "apib/v1",
                "https://host/oma/apib/v1/google/credentials",
            ),
            (
                "https://host/oma//",
                "//apib//v1//",
                "https://host/oma/apib/v1/google/credentials",
            ),
            (
                "http://127.0.0.1:8000",
                "/api/v1",
                "http://127.0.0.1:8000/api/v1/google/credentials",
            ),
            (
                "http://[::1]:8000/",
                "/api/v1",
                "http://[::1]:8000/api/v1/google/credentials",
            ),
            (
                "https://oma.example.com",
                "",
                "https://oma.example.com/google/credentials",
            ),
            (
                "https://oma.example.com",
                "/",
                "https://oma.example.com/google/credentials",
            ),
            (
                "https://host/a%20b/",
                "/api/v1",
                "https://host/a%20b/api/v1/google/credentials",
            ),
            (
                "https://host/oma?x=1#top",
                "/api/v1",
                "https://host/oma/api/v1/google/credentials",
            ),
        ];
        for (base, prefix, expected) in cases {
            assert_eq!(
                joined(base, prefix, "google/credentials"),
                expected,
                "base {base:?}, prefix {prefix:?}"
            );
        }
    }

    #[test]
    fn join_without_path_is_api_root() {
        assert_eq!(
            joined("https://host/oma/", "/apib/v1/", ""),
            "https://host/oma/apib/v1"
        );
        assert_eq!(joined("https://host", "", ""), "https://host/");
    }

    #[test]
    fn join_encodes_prefix_characters() {
        assert_eq!(
            joined("https://host", "/api v1", "google/status"),
            "https://host/api%20v1/google/status"
        );
    }

    #[test]
    fn normalize_prefix_table() {
        assert_eq!(normalize_prefix("/api/v1"), "/api/v1");
        assert_eq!(normalize_prefix("api/v1/"), "/api/v1");
        assert_eq!(normalize_prefix("//apib//v1"), "/apib/v1");
        assert_eq!(normalize_prefix("/"), "");
        assert_eq!(normalize_prefix(""), "");
    }

    #[test]
    fn endpoint_paths() {
        assert_eq!(Endpoint::Credentials.path(), "google/credentials");
        assert_eq!(Endpoint::Status.path(), "google/status");
    }
}

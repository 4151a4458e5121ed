//! The built-in mailbox, served when no mail directory is given.
//!
//! The messages were written for this project; each exercises one part of the Gmail API:
//! plain text, an HTML-only newsletter, `multipart/alternative`, a PDF attachment with a
//! non-ASCII file name, RFC 2047 encoded headers with a Latin-1 body, a three-message
//! thread (one message sent by the user, one unread), a forwarded `message/rfc822` and a
//! message in the trash. Labels come from their `X-Gmail-Labels` headers.
//!
//! The files address `sandbox.user@example.com`; that address is replaced with the
//! configured user's before parsing, so the same MIME code path handles them as any file.

use super::mailbox::load::Source;

/// The address the built-in files are written for.
const PLACEHOLDER_EMAIL: &str = "sandbox.user@example.com";

const FILES: [(&str, &str); 10] = [
    (
        "builtin/01-welcome.eml",
        include_str!("builtin/01-welcome.eml"),
    ),
    (
        "builtin/02-newsletter.eml",
        include_str!("builtin/02-newsletter.eml"),
    ),
    (
        "builtin/03-alternative.eml",
        include_str!("builtin/03-alternative.eml"),
    ),
    (
        "builtin/04-invoice.eml",
        include_str!("builtin/04-invoice.eml"),
    ),
    (
        "builtin/05-encoded-subject.eml",
        include_str!("builtin/05-encoded-subject.eml"),
    ),
    (
        "builtin/06-launch-1.eml",
        include_str!("builtin/06-launch-1.eml"),
    ),
    (
        "builtin/07-launch-2.eml",
        include_str!("builtin/07-launch-2.eml"),
    ),
    (
        "builtin/08-launch-3.eml",
        include_str!("builtin/08-launch-3.eml"),
    ),
    (
        "builtin/09-forwarded.eml",
        include_str!("builtin/09-forwarded.eml"),
    ),
    ("builtin/10-trash.eml", include_str!("builtin/10-trash.eml")),
];

/// The built-in messages, addressed to `user_email`.
pub(crate) fn sources(user_email: &str) -> Vec<Source> {
    FILES
        .iter()
        .map(|(name, text)| Source {
            name: (*name).to_owned(),
            bytes: text.replace(PLACEHOLDER_EMAIL, user_email).into_bytes(),
        })
        .collect()
}

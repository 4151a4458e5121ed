//! The Gmail tools: reading, organizing, drafting and sending.

mod attachment;
mod compose;
mod drafts;
mod message;
mod organize;
mod reply;
mod search;
#[cfg(feature = "gmail-send")]
mod send;
mod update_draft;

pub(crate) use attachment::GetAttachment;
pub(crate) use compose::CreateDraft;
pub(crate) use drafts::{DeleteDraft, ListDrafts};
pub(crate) use message::{GetMessage, GetThread, ListLabels, NoArgs};
pub(crate) use organize::{CreateLabel, ModifyLabels, TrashMessage, UntrashMessage};
pub(crate) use reply::{Forward, Reply};
pub(crate) use search::SearchMessages;
#[cfg(feature = "gmail-send")]
pub(crate) use send::{SendDraft, SendMessage};
pub(crate) use update_draft::UpdateDraft;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use crate::domain::mail_content::AttachmentInfo;
use crate::domain::models::gmail::Message;

/// An attachment as listed in a message result.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct AttachmentSummary {
    /// The file name.
    filename: String,
    /// The MIME type.
    mime_type: String,
    /// The size in bytes.
    size: i64,
    /// Pass to gmail_get_attachment with the message id to fetch it.
    attachment_id: Option<String>,
}

impl From<AttachmentInfo> for AttachmentSummary {
    fn from(info: AttachmentInfo) -> Self {
        Self {
            filename: info.filename,
            mime_type: info.mime_type,
            size: info.size,
            attachment_id: info.attachment_id,
        }
    }
}

/// The headers every message result shows. Gmail returns header values with their RFC 2047
/// encoded words decoded, so they are not decoded again: text that only looks like an
/// encoded word would turn into other text.
///
/// NOTE: a header whose encoded words Gmail could not decode is shown as sent.
struct Envelope {
    from: Option<String>,
    to: Option<String>,
    cc: Option<String>,
    subject: Option<String>,
    date: Option<String>,
}

impl Envelope {
    fn of(message: &Message) -> Self {
        let header = |name: &str| message.header(name).map(str::to_owned);
        Self {
            from: header("From"),
            to: header("To"),
            cc: header("Cc"),
            subject: header("Subject"),
            date: message_date(message).or_else(|| header("Date")),
        }
    }
}

/// Returns when Gmail received the message, RFC 3339 in UTC, from `internalDate`.
fn message_date(message: &Message) -> Option<String> {
    let millis = message.internal_date?;
    DateTime::<Utc>::from_timestamp_millis(millis)
        .map(|date| date.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// Renders a size in bytes the way people read it.
fn human_size(bytes: i64) -> String {
    const KIB: f64 = 1024.0;
    let bytes_f = bytes as f64;
    if bytes_f < KIB {
        format!("{bytes} B")
    } else if bytes_f < KIB * KIB {
        format!("{:.1} KiB", bytes_f / KIB)
    } else {
        format!("{:.1} MiB", bytes_f / (KIB * KIB))
    }
}

fn render_attachments(out: &mut String, attachments: &[AttachmentSummary]) {
    if attachments.is_empty() {
        return;
    }
    out.push_str("Attachments:\n");
    for attachment in attachments {
        out.push_str(&format!(
            "- {} ({}, {}), attachment_id: {}\n",
            attachment.filename,
            attachment.mime_type,
            human_size(attachment.size),
            attachment.attachment_id.as_deref().unwrap_or("(inline)")
        ));
    }
}

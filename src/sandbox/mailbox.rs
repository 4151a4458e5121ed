//! The sandbox mailbox: messages parsed from RFC 5322 files, served as Gmail v1 resources.
//!
//! Everything is computed once per message when it is loaded or added (payload trees,
//! snippets, labels, threads, search fields), so reads only filter, page and clone. The
//! write calls (send, drafts, label changes, trash) change the mailbox for the life of the
//! sandbox; nothing is written to disk.

pub(crate) mod load;
pub(crate) mod mime;
pub(crate) mod search;
mod write;

pub(crate) use write::{DraftBody, LabelBody, ModifyBody, RawMessageBody};

use std::collections::HashMap;
use std::path::Path;

use base64::Engine as _;
use chrono::Utc;

use crate::domain::models::gmail::{
    ListMessagesResponse, Message, MessagePart, MessagePartBody, MessageRef, Thread,
};

use super::google_error::GoogleErrorBody;
use mime::StoredAttachment;
use search::SearchFields;

/// The system labels every Gmail mailbox has, in the order `labels.list` returns them.
const SYSTEM_LABELS: [&str; 14] = [
    "CHAT",
    "SENT",
    "INBOX",
    "IMPORTANT",
    "TRASH",
    "DRAFT",
    "SPAM",
    "CATEGORY_FORUMS",
    "CATEGORY_UPDATES",
    "CATEGORY_PERSONAL",
    "CATEGORY_PROMOTIONS",
    "CATEGORY_SOCIAL",
    "STARRED",
    "UNREAD",
];

/// `maxResults` of `messages.list` when absent, and its maximum (Gmail v1 discovery).
const DEFAULT_PAGE_SIZE: u32 = 100;
const MAX_PAGE_SIZE: u32 = 500;

/// One message with everything its resources need.
#[derive(Debug, Clone)]
pub(crate) struct StoredMessage {
    pub(crate) id: String,
    pub(crate) thread_id: String,
    /// The `Message-ID` header without angle brackets, for threading replies.
    pub(crate) rfc_message_id: Option<String>,
    /// Whether `messages.trash` removed `INBOX`, which `messages.untrash` then restores.
    pub(crate) trashed_from_inbox: bool,
    pub(crate) label_ids: Vec<String>,
    pub(crate) snippet: String,
    pub(crate) history_id: u64,
    pub(crate) internal_date_ms: i64,
    pub(crate) raw: Vec<u8>,
    pub(crate) payload: MessagePart,
    pub(crate) attachments: Vec<StoredAttachment>,
    pub(crate) search: SearchFields,
}

/// A user label: `Label_<n>` and the name it was given in `X-Gmail-Labels` or
/// `labels.create`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserLabel {
    pub(crate) id: String,
    pub(crate) name: String,
    /// `labelShow`, `labelShowIfUnread` or `labelHide`.
    pub(crate) label_list_visibility: String,
    /// `show` or `hide`.
    pub(crate) message_list_visibility: String,
}

impl UserLabel {
    /// Creates a label shown in the label list and the message list, Gmail's default.
    pub(crate) fn new(id: String, name: String) -> Self {
        Self {
            id,
            name,
            label_list_visibility: "labelShow".to_owned(),
            message_list_visibility: "show".to_owned(),
        }
    }
}

/// The `format` of `messages.get` and `threads.get`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Format {
    Full,
    /// Only these headers; every header when the list is empty.
    Metadata(Vec<String>),
    Minimal,
    Raw,
}

impl Format {
    /// Parses the `format` parameter; absent is `full`.
    ///
    /// # Errors
    ///
    /// Google's 400 for an unknown value.
    pub(crate) fn parse(
        value: Option<&str>,
        metadata_headers: Vec<String>,
    ) -> Result<Self, GoogleErrorBody> {
        match value.map(str::to_ascii_lowercase).as_deref() {
            None | Some("full") => Ok(Self::Full),
            Some("metadata") => Ok(Self::Metadata(metadata_headers)),
            Some("minimal") => Ok(Self::Minimal),
            Some("raw") => Ok(Self::Raw),
            Some(_) => Err(GoogleErrorBody::bad_request(
                "Invalid value for format: use full, metadata, minimal or raw.",
            )),
        }
    }
}

/// The parameters of `messages.list`, as received.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListParams {
    pub(crate) q: Option<String>,
    pub(crate) max_results: Option<u32>,
    pub(crate) page_token: Option<String>,
    pub(crate) label_ids: Vec<String>,
    pub(crate) include_spam_trash: bool,
}

/// The loaded messages and the indexes over them.
#[derive(Debug, Default)]
pub(crate) struct Mailbox {
    user_email: String,
    /// In load order; `history_id` follows this order.
    messages: Vec<StoredMessage>,
    by_id: HashMap<String, usize>,
    /// Thread id to message indexes, oldest first.
    threads: HashMap<String, Vec<usize>>,
    user_labels: Vec<UserLabel>,
    /// Draft ids and the ids of their messages, oldest first.
    drafts: Vec<(String, String)>,
}

impl Mailbox {
    /// Loads every `.eml` file under `dir`, recursively, in path order. Files that cannot be
    /// read or parsed are skipped with a warning naming the file.
    ///
    /// # Errors
    ///
    /// The I/O error when `dir` itself cannot be listed.
    pub(crate) fn load_dir(dir: &Path, user_email: &str) -> std::io::Result<Self> {
        let sources = load::read_eml_files(dir)?;
        Ok(load::build(sources, user_email))
    }

    /// Builds the built-in mailbox written for the sandbox.
    pub(crate) fn builtin(user_email: &str) -> Self {
        load::build(super::builtin_mail::sources(user_email), user_email)
    }

    /// Returns the number of messages.
    pub(crate) fn len(&self) -> usize {
        self.messages.len()
    }

    /// `users.messages.list`.
    ///
    /// # Errors
    ///
    /// Google's 400 for a page token that belongs to another query.
    pub(crate) fn list(
        &self,
        params: &ListParams,
    ) -> Result<ListMessagesResponse, GoogleErrorBody> {
        let page_size = params
            .max_results
            .unwrap_or(DEFAULT_PAGE_SIZE)
            .clamp(1, MAX_PAGE_SIZE) as usize;
        let fingerprint = list_fingerprint(params);
        let offset = match params
            .page_token
            .as_deref()
            .filter(|token| !token.is_empty())
        {
            None => 0,
            Some(token) => decode_page_token(token, fingerprint)
                .ok_or_else(|| GoogleErrorBody::bad_request("Invalid pageToken"))?,
        };

        let matches = self.search(params);

        let page: Vec<MessageRef> = matches
            .iter()
            .skip(offset)
            .take(page_size)
            .map(|&index| {
                let message = &self.messages[index];
                MessageRef {
                    id: message.id.clone(),
                    thread_id: message.thread_id.clone(),
                }
            })
            .collect();
        let end = offset.saturating_add(page_size);
        let next_page_token = (end < matches.len()).then(|| encode_page_token(fingerprint, end));

        Ok(ListMessagesResponse {
            messages: page,
            next_page_token,
            result_size_estimate: Some(u32::try_from(matches.len()).unwrap_or(u32::MAX)),
        })
    }

    /// Returns the indexes of the messages matching `params`, newest first.
    fn search(&self, params: &ListParams) -> Vec<usize> {
        let query = search::parse(params.q.as_deref().unwrap_or_default(), Utc::now());
        let show_spam_trash = params.include_spam_trash
            || query.names_spam_or_trash()
            || params
                .label_ids
                .iter()
                .any(|id| id == "TRASH" || id == "SPAM");

        let mut matches: Vec<usize> = (0..self.messages.len())
            .filter(|&index| {
                let message = &self.messages[index];
                let hidden = message
                    .label_ids
                    .iter()
                    .any(|id| id == "TRASH" || id == "SPAM");
                (show_spam_trash || !hidden)
                    && params
                        .label_ids
                        .iter()
                        .all(|wanted| message.label_ids.iter().any(|id| id == wanted))
                    && query.matches(&message.search, &self.user_email)
            })
            .collect();

        // Gmail lists newest first; ties go to the later-loaded message so the order is total.
        matches.sort_by(|&a, &b| {
            let (left, right) = (&self.messages[a], &self.messages[b]);
            right
                .internal_date_ms
                .cmp(&left.internal_date_ms)
                .then(b.cmp(&a))
        });
        matches
    }

    /// `users.messages.get`.
    ///
    /// # Errors
    ///
    /// Google's 400 for an id that is not hexadecimal, 404 for an unknown id.
    pub(crate) fn message(&self, id: &str, format: &Format) -> Result<Message, GoogleErrorBody> {
        let message = self.find(id)?;
        Ok(render_message(message, format))
    }

    /// `users.threads.get`: the thread's messages, oldest first.
    ///
    /// # Errors
    ///
    /// Google's 400 for an id that is not hexadecimal, 404 for an unknown id.
    pub(crate) fn thread(&self, id: &str, format: &Format) -> Result<Thread, GoogleErrorBody> {
        check_id(id)?;
        let indexes = self.threads.get(id).ok_or_else(not_found)?;
        let messages: Vec<Message> = indexes
            .iter()
            .map(|&index| render_message(&self.messages[index], format))
            .collect();
        let history_id = indexes
            .iter()
            .map(|&index| self.messages[index].history_id)
            .max()
            .unwrap_or_default();
        Ok(Thread {
            id: id.to_owned(),
            snippet: None,
            history_id: Some(history_id.to_string()),
            messages,
        })
    }

    /// `users.messages.attachments.get`: the content as base64url with padding.
    ///
    /// # Errors
    ///
    /// Google's 400 for a message id that is not hexadecimal, 404 for an unknown message
    /// or attachment.
    pub(crate) fn attachment(
        &self,
        message_id: &str,
        attachment_id: &str,
    ) -> Result<MessagePartBody, GoogleErrorBody> {
        let message = self.find(message_id)?;
        let attachment = message
            .attachments
            .iter()
            .find(|attachment| attachment.id == attachment_id)
            .ok_or_else(not_found)?;
        Ok(MessagePartBody {
            attachment_id: None,
            size: i64::try_from(attachment.data.len()).unwrap_or(i64::MAX),
            data: Some(mime::encode_base64url_padded(&attachment.data)),
        })
    }

    /// `users.labels.list`: ids, names, types and visibility, without counts (as Gmail).
    pub(crate) fn labels(&self) -> serde_json::Value {
        let mut labels: Vec<serde_json::Value> = SYSTEM_LABELS
            .iter()
            .map(|id| serde_json::json!({ "id": id, "name": id, "type": "system" }))
            .collect();
        labels.extend(self.user_labels.iter().map(user_label_json));
        serde_json::json!({ "labels": labels })
    }

    /// `users.labels.get`: one label with its message and thread counts.
    ///
    /// # Errors
    ///
    /// Google's 404 for an unknown label id.
    pub(crate) fn label(&self, id: &str) -> Result<serde_json::Value, GoogleErrorBody> {
        let mut label = if let Some(system) = SYSTEM_LABELS.iter().find(|system| **system == id) {
            serde_json::json!({ "id": system, "name": system, "type": "system" })
        } else {
            let user = self
                .user_labels
                .iter()
                .find(|label| label.id == id)
                .ok_or_else(not_found)?;
            user_label_json(user)
        };

        let with_label: Vec<&StoredMessage> = self
            .messages
            .iter()
            .filter(|message| message.label_ids.iter().any(|label| label == id))
            .collect();
        let unread =
            |message: &&&StoredMessage| message.label_ids.iter().any(|label| label == "UNREAD");
        let mut threads: Vec<&str> = with_label
            .iter()
            .map(|message| message.thread_id.as_str())
            .collect();
        threads.sort_unstable();
        threads.dedup();
        let mut unread_threads: Vec<&str> = with_label
            .iter()
            .filter(unread)
            .map(|message| message.thread_id.as_str())
            .collect();
        unread_threads.sort_unstable();
        unread_threads.dedup();

        if let Some(object) = label.as_object_mut() {
            object.insert("messagesTotal".to_owned(), with_label.len().into());
            object.insert(
                "messagesUnread".to_owned(),
                with_label.iter().filter(unread).count().into(),
            );
            object.insert("threadsTotal".to_owned(), threads.len().into());
            object.insert("threadsUnread".to_owned(), unread_threads.len().into());
        }
        Ok(label)
    }

    fn find(&self, id: &str) -> Result<&StoredMessage, GoogleErrorBody> {
        check_id(id)?;
        self.by_id
            .get(id)
            .map(|&index| &self.messages[index])
            .ok_or_else(not_found)
    }
}

fn user_label_json(label: &UserLabel) -> serde_json::Value {
    serde_json::json!({
        "id": label.id,
        "name": label.name,
        "type": "user",
        "messageListVisibility": label.message_list_visibility,
        "labelListVisibility": label.label_list_visibility,
    })
}

/// Replaces a message's labels, keeping the search fields in step. User label ids must
/// name labels in `user_labels`; unknown ones are dropped.
pub(crate) fn set_labels(
    message: &mut StoredMessage,
    labels: Vec<String>,
    user_labels: &[UserLabel],
) {
    let mut label_ids: Vec<String> = Vec::new();
    let mut label_keys = Vec::new();
    for id in labels {
        let name = if SYSTEM_LABELS.contains(&id.as_str()) {
            id.clone()
        } else {
            match user_labels.iter().find(|label| label.id == id) {
                Some(label) => label.name.clone(),
                None => continue,
            }
        };
        if !label_ids.contains(&id) {
            label_keys.push(search::label_key(&id));
            label_keys.push(search::label_key(&name));
            label_ids.push(id);
        }
    }
    message.search.label_ids = label_ids.clone();
    message.search.label_keys = label_keys;
    message.label_ids = label_ids;
}

fn render_message(message: &StoredMessage, format: &Format) -> Message {
    let mut resource = Message {
        id: message.id.clone(),
        thread_id: message.thread_id.clone(),
        label_ids: message.label_ids.clone(),
        snippet: Some(message.snippet.clone()),
        history_id: Some(message.history_id.to_string()),
        internal_date: Some(message.internal_date_ms),
        payload: None,
        size_estimate: Some(i64::try_from(message.raw.len()).unwrap_or(i64::MAX)),
        raw: None,
    };

    match format {
        Format::Full => resource.payload = Some(message.payload.clone()),
        Format::Metadata(names) => {
            let headers = message
                .payload
                .headers
                .iter()
                .filter(|header| {
                    names.is_empty()
                        || names
                            .iter()
                            .any(|name| name.eq_ignore_ascii_case(&header.name))
                })
                .cloned()
                .collect();
            resource.payload = Some(MessagePart {
                part_id: message.payload.part_id.clone(),
                mime_type: message.payload.mime_type.clone(),
                filename: message.payload.filename.clone(),
                headers,
                body: None,
                parts: Vec::new(),
            });
        }
        Format::Minimal => {}
        Format::Raw => resource.raw = Some(mime::encode_base64url_padded(&message.raw)),
    }
    resource
}

/// Gmail ids are lower-case hexadecimal; anything else is a malformed request, not a miss.
fn check_id(id: &str) -> Result<(), GoogleErrorBody> {
    if !id.is_empty() && id.len() <= 32 && id.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(GoogleErrorBody::bad_request("Invalid id value"))
    }
}

fn not_found() -> GoogleErrorBody {
    GoogleErrorBody::not_found("Requested entity was not found.")
}

/// Identifies a listing, so a page token is only accepted by the query that issued it.
fn list_fingerprint(params: &ListParams) -> u64 {
    let mut label_ids = params.label_ids.clone();
    label_ids.sort();
    let key = format!(
        "{}\u{0}{}\u{0}{}\u{0}{}",
        params.q.as_deref().unwrap_or_default().trim(),
        label_ids.join(","),
        params.include_spam_trash,
        params
            .max_results
            .unwrap_or(DEFAULT_PAGE_SIZE)
            .clamp(1, MAX_PAGE_SIZE),
    );
    load::fnv1a(key.as_bytes())
}

fn encode_page_token(fingerprint: u64, offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{fingerprint:016x}:{offset}"))
}

fn decode_page_token(token: &str, fingerprint: u64) -> Option<usize> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (issued_for, offset) = text.split_once(':')?;
    (u64::from_str_radix(issued_for, 16).ok()? == fingerprint).then_some(())?;
    offset.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_token_round_trips() {
        let token = encode_page_token(42, 100);
        assert_eq!(decode_page_token(&token, 42), Some(100));
        assert_eq!(decode_page_token(&token, 43), None);
        assert_eq!(decode_page_token("garbage!", 42), None);
    }

    #[test]
    fn id_check_rejects_non_hex() {
        assert!(check_id("0123456789abcdef").is_ok());
        assert_eq!(check_id("not-an-id").map_err(|error| error.code), Err(400));
        assert_eq!(check_id("").map_err(|error| error.code), Err(400));
    }

    #[test]
    fn format_parses() {
        assert_eq!(Format::parse(None, vec![]), Ok(Format::Full));
        assert_eq!(Format::parse(Some("RAW"), vec![]), Ok(Format::Raw));
        assert_eq!(
            Format::parse(Some("metadata"), vec!["From".into()]),
            Ok(Format::Metadata(vec!["From".into()]))
        );
        assert_eq!(
            Format::parse(Some("nope"), vec![]).map_err(|error| error.code),
            Err(400)
        );
    }
}

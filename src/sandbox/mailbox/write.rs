//! The Gmail write calls over the sandbox mailbox: `messages.send`, the drafts, label
//! changes, trash and `labels.create`. Responses and errors follow Gmail v1.

use chrono::Utc;
use serde::Deserialize;

use super::load::{self, fnv1a};
use super::{
    Format, ListParams, Mailbox, SYSTEM_LABELS, StoredMessage, UserLabel, check_id, not_found,
    render_message, set_labels,
};
use crate::domain::mail_content::decode_base64url;
use crate::domain::models::gmail::{Draft, ListDraftsResponse, Message};
use crate::sandbox::google_error::GoogleErrorBody;

/// Labels that only Gmail sets: a message becomes SENT by being sent and DRAFT by being
/// saved as a draft, never through `messages.modify`.
const IMMUTABLE_LABELS: [&str; 2] = ["SENT", "DRAFT"];

/// `Message` as a request body: the fields a write reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RawMessageBody {
    #[serde(default)]
    raw: Option<String>,
    #[serde(default)]
    thread_id: Option<String>,
}

/// `Draft` as a request body.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DraftBody {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    message: Option<RawMessageBody>,
}

/// `ModifyMessageRequest` and `BatchModifyMessagesRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ModifyBody {
    #[serde(default)]
    ids: Vec<String>,
    #[serde(default)]
    add_label_ids: Vec<String>,
    #[serde(default)]
    remove_label_ids: Vec<String>,
}

/// `Label` as a request body of `labels.create`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LabelBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    label_list_visibility: Option<String>,
    #[serde(default)]
    message_list_visibility: Option<String>,
}

/// The thread a new message joins: the one named in the request, or the thread of the
/// message its `In-Reply-To`/`References` name, or a thread of its own.
enum ThreadChoice {
    Given(String),
    FromHeaders,
}

impl Mailbox {
    /// `users.messages.send`: stores the message with the label SENT (and INBOX when the
    /// user is among the recipients) and returns its id, thread id and labels.
    ///
    /// # Errors
    ///
    /// Google's 400 for a missing or undecodable `raw` or a message without recipients,
    /// 404 for an unknown `threadId`.
    pub(crate) fn send(&mut self, body: RawMessageBody) -> Result<Message, GoogleErrorBody> {
        let (raw, thread) = self.read_raw(body)?;
        let stored = self.build(raw, vec!["SENT".to_owned()], thread)?;
        check_recipients(&stored)?;

        let labels = self.sent_labels(&stored);
        let id = self.add(stored);
        self.relabel(&id, labels);
        Ok(self.summary(&id))
    }

    /// `users.drafts.create`: stores the message with the label DRAFT under a new draft id.
    ///
    /// # Errors
    ///
    /// Google's 400 for a missing message or `raw`, 404 for an unknown `threadId`.
    pub(crate) fn create_draft(&mut self, body: DraftBody) -> Result<Draft, GoogleErrorBody> {
        let message = body.message.ok_or_else(missing_raw)?;
        let (raw, thread) = self.read_raw(message)?;
        let stored = self.build(raw, vec!["DRAFT".to_owned()], thread)?;

        let message_id = self.add(stored);
        let draft_id = self.new_draft_id(&message_id);
        self.drafts.push((draft_id.clone(), message_id.clone()));
        Ok(self.draft_summary(&draft_id, &message_id))
    }

    /// `users.drafts.update`: replaces the draft's message with a new one under a new
    /// message id, as Gmail does.
    ///
    /// # Errors
    ///
    /// Google's 404 for an unknown draft, 400 for a missing message or `raw`.
    pub(crate) fn update_draft(
        &mut self,
        draft_id: &str,
        body: DraftBody,
    ) -> Result<Draft, GoogleErrorBody> {
        let position = self.draft_position(draft_id)?;
        let message = body.message.ok_or_else(missing_raw)?;
        let (raw, thread) = self.read_raw(message)?;
        let stored = self.build(raw, vec!["DRAFT".to_owned()], thread)?;

        let old_message_id = self.drafts[position].1.clone();
        self.remove_message(&old_message_id);
        let message_id = self.add(stored);
        self.drafts[position].1 = message_id.clone();
        Ok(self.draft_summary(draft_id, &message_id))
    }

    /// `users.drafts.get`.
    ///
    /// # Errors
    ///
    /// Google's 404 for an unknown draft.
    pub(crate) fn draft(&self, draft_id: &str, format: &Format) -> Result<Draft, GoogleErrorBody> {
        let position = self.draft_position(draft_id)?;
        let message = self.find(&self.drafts[position].1)?;
        Ok(Draft {
            id: draft_id.to_owned(),
            message: Some(render_message(message, format)),
        })
    }

    /// `users.drafts.list`: the drafts whose message matches `q`, newest first.
    ///
    /// # Errors
    ///
    /// Google's 400 for a page token that belongs to another query.
    pub(crate) fn list_drafts(
        &self,
        params: &ListParams,
    ) -> Result<ListDraftsResponse, GoogleErrorBody> {
        let mut params = params.clone();
        params.label_ids = vec!["DRAFT".to_owned()];
        let page = self.list(&params)?;

        let drafts = page
            .messages
            .iter()
            .filter_map(|reference| {
                let (draft_id, _) = self
                    .drafts
                    .iter()
                    .find(|(_, message_id)| *message_id == reference.id)?;
                Some(self.draft_summary(draft_id, &reference.id))
            })
            .collect();
        Ok(ListDraftsResponse {
            drafts,
            next_page_token: page.next_page_token,
            result_size_estimate: page.result_size_estimate,
        })
    }

    /// `users.drafts.send`: the draft's message loses DRAFT and gains SENT, keeping its id
    /// and thread, and the draft is gone.
    ///
    /// # Errors
    ///
    /// Google's 400 for a body without a draft id or a draft without recipients, 404 for
    /// an unknown draft.
    pub(crate) fn send_draft(&mut self, body: DraftBody) -> Result<Message, GoogleErrorBody> {
        let draft_id = body
            .id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| GoogleErrorBody::bad_request("Invalid draft: the id is missing."))?;
        let position = self.draft_position(&draft_id)?;
        let message_id = self.drafts[position].1.clone();
        let message = self.find(&message_id)?;
        check_recipients(message)?;

        let labels = self.sent_labels(message);
        self.drafts.remove(position);
        self.relabel(&message_id, labels);
        let now = Utc::now().timestamp_millis();
        if let Some(&index) = self.by_id.get(&message_id) {
            self.messages[index].internal_date_ms = now;
            self.messages[index].search.internal_date_ms = now;
        }
        self.reindex();
        Ok(self.summary(&message_id))
    }

    /// `users.drafts.delete`: removes the draft and its message for good.
    ///
    /// # Errors
    ///
    /// Google's 404 for an unknown draft.
    pub(crate) fn delete_draft(&mut self, draft_id: &str) -> Result<(), GoogleErrorBody> {
        let position = self.draft_position(draft_id)?;
        let (_, message_id) = self.drafts.remove(position);
        self.remove_message(&message_id);
        Ok(())
    }

    /// `users.messages.modify`.
    ///
    /// # Errors
    ///
    /// Google's 400 for a malformed id or an unknown or immutable label, 404 for an
    /// unknown message.
    pub(crate) fn modify(
        &mut self,
        id: &str,
        body: &ModifyBody,
    ) -> Result<Message, GoogleErrorBody> {
        self.find(id)?;
        self.check_label_changes(body)?;

        self.apply_label_changes(id, body);
        Ok(self.summary(id))
    }

    /// `users.messages.batchModify`: the same changes on every message, or on none when
    /// one id is unknown.
    ///
    /// # Errors
    ///
    /// Google's 400 for no ids, more than 1000, a malformed id or an unknown or immutable
    /// label, 404 for an unknown message.
    pub(crate) fn batch_modify(&mut self, body: &ModifyBody) -> Result<(), GoogleErrorBody> {
        if body.ids.is_empty() || body.ids.len() > 1000 {
            return Err(GoogleErrorBody::bad_request(
                "ids must list 1 to 1000 message ids.",
            ));
        }
        for id in &body.ids {
            self.find(id)?;
        }
        self.check_label_changes(body)?;

        for id in &body.ids {
            self.apply_label_changes(id, body);
        }
        Ok(())
    }

    /// `users.messages.trash`: adds TRASH and removes INBOX.
    ///
    /// # Errors
    ///
    /// Google's 400 for a malformed id, 404 for an unknown message.
    pub(crate) fn trash(&mut self, id: &str) -> Result<Message, GoogleErrorBody> {
        let message = self.find(id)?;
        let had_inbox = message.label_ids.iter().any(|label| label == "INBOX");
        let mut labels: Vec<String> = message
            .label_ids
            .iter()
            .filter(|label| *label != "INBOX")
            .cloned()
            .collect();
        labels.push("TRASH".to_owned());

        self.relabel(id, labels);
        if let Some(&index) = self.by_id.get(id) {
            self.messages[index].trashed_from_inbox |= had_inbox;
        }
        Ok(self.summary(id))
    }

    /// `users.messages.untrash`: removes TRASH, and puts back INBOX if trash removed it.
    ///
    /// # Errors
    ///
    /// Google's 400 for a malformed id, 404 for an unknown message.
    pub(crate) fn untrash(&mut self, id: &str) -> Result<Message, GoogleErrorBody> {
        let message = self.find(id)?;
        let restore_inbox =
            message.trashed_from_inbox && message.label_ids.iter().any(|label| label == "TRASH");
        let mut labels: Vec<String> = message
            .label_ids
            .iter()
            .filter(|label| *label != "TRASH")
            .cloned()
            .collect();
        if restore_inbox {
            labels.insert(0, "INBOX".to_owned());
        }

        self.relabel(id, labels);
        if let Some(&index) = self.by_id.get(id) {
            self.messages[index].trashed_from_inbox = false;
        }
        Ok(self.summary(id))
    }

    /// `users.labels.create`.
    ///
    /// # Errors
    ///
    /// Google's 400 for a missing or reserved name or an unknown visibility, 409 for a
    /// name in use (compared without case, as Gmail does).
    pub(crate) fn create_label(
        &mut self,
        body: LabelBody,
    ) -> Result<serde_json::Value, GoogleErrorBody> {
        let name = body
            .name
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
            .ok_or_else(|| GoogleErrorBody::bad_request("Invalid label name"))?;
        let reserved = SYSTEM_LABELS
            .iter()
            .any(|system| system.eq_ignore_ascii_case(&name));
        if reserved || name.chars().any(char::is_control) {
            return Err(GoogleErrorBody::bad_request("Invalid label name"));
        }
        if self
            .user_labels
            .iter()
            .any(|label| label.name.to_lowercase() == name.to_lowercase())
        {
            return Err(GoogleErrorBody::conflict("Label name exists or conflicts"));
        }

        let mut label = UserLabel::new(self.new_label_id(), name);
        if let Some(visibility) = body.label_list_visibility {
            if !matches!(
                visibility.as_str(),
                "labelShow" | "labelShowIfUnread" | "labelHide"
            ) {
                return Err(GoogleErrorBody::bad_request(
                    "Invalid value for labelListVisibility",
                ));
            }
            label.label_list_visibility = visibility;
        }
        if let Some(visibility) = body.message_list_visibility {
            if !matches!(visibility.as_str(), "show" | "hide") {
                return Err(GoogleErrorBody::bad_request(
                    "Invalid value for messageListVisibility",
                ));
            }
            label.message_list_visibility = visibility;
        }

        let json = super::user_label_json(&label);
        self.user_labels.push(label);
        Ok(json)
    }

    /// Decodes `raw` and reads the thread choice of a request body.
    fn read_raw(&self, body: RawMessageBody) -> Result<(Vec<u8>, ThreadChoice), GoogleErrorBody> {
        let raw = body
            .raw
            .filter(|raw| !raw.is_empty())
            .ok_or_else(missing_raw)?;
        let bytes = decode_base64url(&raw)
            .map_err(|_| GoogleErrorBody::bad_request("Invalid value for ByteString: raw"))?;

        let thread = match body.thread_id.filter(|id| !id.is_empty()) {
            Some(thread_id) => {
                check_id(&thread_id)?;
                if !self.threads.contains_key(&thread_id) {
                    return Err(not_found());
                }
                ThreadChoice::Given(thread_id)
            }
            None => ThreadChoice::FromHeaders,
        };
        Ok((bytes, thread))
    }

    /// Parses a new message, adding `From` with the user's address when it has none, as
    /// Gmail does for mail it sends.
    fn build(
        &self,
        raw: Vec<u8>,
        labels: Vec<String>,
        thread: ThreadChoice,
    ) -> Result<StoredMessage, GoogleErrorBody> {
        let raw = with_from(raw, &self.user_email);
        let id = self.new_message_id(&raw);

        let stored = load::parse_added(raw, id, self, labels, |own_id, related| match thread {
            ThreadChoice::Given(thread_id) => thread_id,
            ThreadChoice::FromHeaders => self
                .thread_of_any(related)
                .unwrap_or_else(|| own_id.to_owned()),
        })
        .ok_or_else(|| GoogleErrorBody::bad_request("Invalid raw: the message has no headers."))?;

        let now = Utc::now().timestamp_millis();
        let mut stored = stored;
        stored.internal_date_ms = now;
        stored.search.internal_date_ms = now;
        stored.history_id = self.next_history_id();
        Ok(stored)
    }

    /// Returns the thread of the first stored message whose Message-ID is in `ids`.
    fn thread_of_any(&self, ids: &[String]) -> Option<String> {
        ids.iter().find_map(|wanted| {
            self.messages
                .iter()
                .find(|message| message.rfc_message_id.as_deref() == Some(wanted.as_str()))
                .map(|message| message.thread_id.clone())
        })
    }

    /// Appends a message and returns its id.
    fn add(&mut self, message: StoredMessage) -> String {
        let id = message.id.clone();
        self.messages.push(message);
        self.reindex();
        id
    }

    fn remove_message(&mut self, id: &str) {
        self.messages.retain(|message| message.id != id);
        self.reindex();
    }

    /// Rebuilds the id and thread indexes after messages were added, removed or redated.
    fn reindex(&mut self) {
        self.by_id.clear();
        self.threads.clear();
        for (index, message) in self.messages.iter().enumerate() {
            self.by_id.insert(message.id.clone(), index);
            self.threads
                .entry(message.thread_id.clone())
                .or_default()
                .push(index);
        }
        let messages = &self.messages;
        for members in self.threads.values_mut() {
            members.sort_by_key(|&index| (messages[index].internal_date_ms, index));
        }
    }

    fn relabel(&mut self, id: &str, labels: Vec<String>) {
        let history_id = self.next_history_id();
        if let Some(&index) = self.by_id.get(id) {
            let message = &mut self.messages[index];
            set_labels(message, labels, &self.user_labels);
            message.history_id = history_id;
        }
    }

    fn check_label_changes(&self, body: &ModifyBody) -> Result<(), GoogleErrorBody> {
        for label in body.add_label_ids.iter().chain(&body.remove_label_ids) {
            let known = SYSTEM_LABELS.contains(&label.as_str())
                || self.user_labels.iter().any(|user| user.id == *label);
            if !known || IMMUTABLE_LABELS.contains(&label.as_str()) {
                return Err(GoogleErrorBody::bad_request(format!(
                    "Invalid label: {label}"
                )));
            }
        }
        Ok(())
    }

    fn apply_label_changes(&mut self, id: &str, body: &ModifyBody) {
        let Some(&index) = self.by_id.get(id) else {
            return;
        };
        let mut labels: Vec<String> = self.messages[index]
            .label_ids
            .iter()
            .filter(|label| !body.remove_label_ids.contains(label))
            .cloned()
            .collect();
        for label in &body.add_label_ids {
            if !labels.contains(label) {
                labels.push(label.clone());
            }
        }
        self.relabel(id, labels);
    }

    /// SENT, and INBOX too when the user sent the mail to themselves.
    fn sent_labels(&self, message: &StoredMessage) -> Vec<String> {
        let user = self.user_email.to_lowercase();
        let search = &message.search;
        let to_user = [&search.to, &search.cc, &search.bcc]
            .iter()
            .any(|field| field.contains(&user));
        let mut labels = vec!["SENT".to_owned()];
        if to_user {
            labels.push("INBOX".to_owned());
        }
        labels
    }

    /// The short form Gmail returns from a write: id, thread id and labels.
    fn summary(&self, id: &str) -> Message {
        let message = self.by_id.get(id).map(|&index| &self.messages[index]);
        Message {
            id: id.to_owned(),
            thread_id: message
                .map(|message| message.thread_id.clone())
                .unwrap_or_default(),
            label_ids: message
                .map(|message| message.label_ids.clone())
                .unwrap_or_default(),
            ..Message::default()
        }
    }

    fn draft_summary(&self, draft_id: &str, message_id: &str) -> Draft {
        Draft {
            id: draft_id.to_owned(),
            message: Some(self.summary(message_id)),
        }
    }

    fn draft_position(&self, draft_id: &str) -> Result<usize, GoogleErrorBody> {
        self.drafts
            .iter()
            .position(|(id, _)| id == draft_id)
            .ok_or_else(not_found)
    }

    fn new_message_id(&self, raw: &[u8]) -> String {
        let mut hash = fnv1a(raw)
            ^ fnv1a(
                &Utc::now()
                    .timestamp_nanos_opt()
                    .unwrap_or_default()
                    .to_le_bytes(),
            );
        loop {
            let id = format!("{hash:016x}");
            if !self.by_id.contains_key(&id) {
                return id;
            }
            hash = fnv1a(id.as_bytes());
        }
    }

    /// Makes a draft id in Gmail's form, `r` and decimal digits.
    fn new_draft_id(&self, message_id: &str) -> String {
        let mut hash = fnv1a(message_id.as_bytes());
        loop {
            let id = format!("r{}", hash >> 1);
            if !self.drafts.iter().any(|(existing, _)| *existing == id) {
                return id;
            }
            hash = fnv1a(id.as_bytes());
        }
    }

    fn new_label_id(&self) -> String {
        let highest = self
            .user_labels
            .iter()
            .filter_map(|label| label.id.strip_prefix("Label_")?.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        format!("Label_{}", highest + 1)
    }

    fn next_history_id(&self) -> u64 {
        self.messages
            .iter()
            .map(|message| message.history_id)
            .max()
            .unwrap_or(1000)
            + 1
    }
}

/// Rejects a message without recipients, as Gmail does: `To`, `Cc` or `Bcc` must name
/// an address.
fn check_recipients(message: &StoredMessage) -> Result<(), GoogleErrorBody> {
    let search = &message.search;
    if [&search.to, &search.cc, &search.bcc]
        .iter()
        .all(|field| !field.contains('@'))
    {
        return Err(GoogleErrorBody::bad_request("Recipient address required"));
    }
    Ok(())
}

fn missing_raw() -> GoogleErrorBody {
    GoogleErrorBody::bad_request(
        "'raw' RFC822 payload message string or uploading message via /upload/* URL required",
    )
}

/// Puts `From: user` in front of a message without a `From` header.
fn with_from(raw: Vec<u8>, user_email: &str) -> Vec<u8> {
    let header_end = find_header_end(&raw);
    let has_from = raw[..header_end]
        .split(|&byte| byte == b'\n')
        .any(|line| line.len() >= 5 && line[..5].eq_ignore_ascii_case(b"from:"));
    if has_from {
        return raw;
    }
    let mut with = format!("From: {user_email}\r\n").into_bytes();
    with.extend(raw);
    with
}

/// Returns where the header section ends: the first empty line, or the end.
fn find_header_end(raw: &[u8]) -> usize {
    raw.windows(4)
        .position(|window| window == b"\r\n\r\n")
        .or_else(|| raw.windows(2).position(|window| window == b"\n\n"))
        .unwrap_or(raw.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::mail_content::encode_base64url;

    fn mailbox() -> Mailbox {
        Mailbox::builtin("me@example.com")
    }

    fn raw(text: &str) -> RawMessageBody {
        RawMessageBody {
            raw: Some(encode_base64url(text.as_bytes())),
            thread_id: None,
        }
    }

    #[test]
    fn send_adds_from_and_sent() {
        let mut mailbox = mailbox();
        let before = mailbox.len();
        let sent = mailbox
            .send(raw("To: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n"))
            .expect("sent");
        assert_eq!(mailbox.len(), before + 1);
        assert_eq!(sent.label_ids, ["SENT"]);
        assert_eq!(sent.thread_id, sent.id);
        let stored = mailbox.message(&sent.id, &Format::Full).expect("stored");
        assert_eq!(stored.header("From"), Some("me@example.com"));
    }

    #[test]
    fn send_without_recipient_rejected() {
        let error = mailbox()
            .send(raw("Subject: hi\r\n\r\nbody\r\n"))
            .unwrap_err();
        assert_eq!(error.code, 400);
        assert_eq!(error.message, "Recipient address required");
    }

    #[test]
    fn reply_joins_thread_by_in_reply_to() {
        let mut mailbox = mailbox();
        let first = mailbox
            .send(raw(
                "Message-ID: <one@x>\r\nTo: a@example.com\r\nSubject: s\r\n\r\n1\r\n",
            ))
            .expect("first");
        let reply = mailbox
            .send(raw(
                "In-Reply-To: <one@x>\r\nTo: a@example.com\r\nSubject: Re: s\r\n\r\n2\r\n",
            ))
            .expect("reply");
        assert_eq!(reply.thread_id, first.thread_id);
        let thread = mailbox
            .thread(&first.thread_id, &Format::Minimal)
            .expect("thread");
        assert_eq!(thread.messages.len(), 2);
    }

    #[test]
    fn unknown_thread_is_not_found() {
        let mut body = raw("To: a@example.com\r\n\r\nx\r\n");
        body.thread_id = Some("00000000000000ff".to_owned());
        assert_eq!(mailbox().send(body).unwrap_err().code, 404);
    }

    #[test]
    fn from_header_detected() {
        assert_eq!(
            with_from(b"FROM: x@y.z\r\n\r\nb".to_vec(), "me@e.com"),
            b"FROM: x@y.z\r\n\r\nb"
        );
        assert!(
            with_from(b"To: a@b.c\r\n\r\nFrom: body".to_vec(), "me@e.com")
                .starts_with(b"From: me@e.com\r\n")
        );
    }
}

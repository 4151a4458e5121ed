//! Building the mailbox: reading files, parsing, labelling and threading.

use std::collections::{BTreeSet, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use mail_parser::{Address, HeaderValue, MessageParser};

use crate::domain::mail_content::extract;

use super::mime::{self, ConvertedPayload};
use super::search::{SearchFields, label_key};
use super::{Mailbox, StoredMessage, UserLabel};

/// Directories nested deeper than this are not read, which also ends symlink loops.
const MAX_DIR_DEPTH: usize = 32;

/// The `internalDate` of a message without a valid `Date` header: 2020-01-01T00:00:00Z.
const FALLBACK_DATE_MS: i64 = 1_577_836_800_000;

/// Snippets are cut at this many characters, about what Gmail shows.
const SNIPPET_CHARS: usize = 200;

/// One input: a display name for logs and the file's bytes.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub(crate) name: String,
    pub(crate) bytes: Vec<u8>,
}

/// FNV-1a, 64 bits: a hash that is stable across Rust versions and platforms, for ids that
/// must not change between runs.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Reads every `.eml` file under `dir` in sorted path order.
///
/// # Errors
///
/// The I/O error when `dir` itself cannot be listed. Failures below it are logged and
/// skipped.
pub(crate) fn read_eml_files(dir: &Path) -> std::io::Result<Vec<Source>> {
    std::fs::read_dir(dir)?;

    let mut paths = Vec::new();
    collect_paths(dir, 0, &mut paths);
    paths.sort();

    let sources = paths
        .into_iter()
        .filter_map(|path| match std::fs::read(&path) {
            Ok(bytes) => Some(Source {
                name: path.display().to_string(),
                bytes,
            }),
            Err(error) => {
                tracing::warn!(file = %path.display(), %error, "skipping an unreadable mail file");
                None
            }
        })
        .collect();
    Ok(sources)
}

fn collect_paths(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if depth > MAX_DIR_DEPTH {
        tracing::warn!(dir = %dir.display(), "skipping a directory nested too deeply");
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            tracing::warn!(dir = %dir.display(), %error, "skipping an unreadable directory");
            return;
        }
    };

    for entry in entries.flatten() {
        let path = entry.path();
        // `metadata` follows symlinks, so linked files and directories are read too.
        let Ok(metadata) = std::fs::metadata(&path) else {
            tracing::warn!(file = %path.display(), "skipping an entry whose metadata cannot be read");
            continue;
        };
        if metadata.is_dir() {
            collect_paths(&path, depth + 1, out);
        } else if metadata.is_file()
            && path
                .extension()
                .is_some_and(|extension| extension.eq_ignore_ascii_case("eml"))
        {
            out.push(path);
        }
    }
}

/// What one source yields before labels and threads are known across the mailbox.
struct Parsed {
    id: String,
    raw: Vec<u8>,
    converted: ConvertedPayload,
    internal_date_ms: i64,
    message_id: Option<String>,
    related_ids: Vec<String>,
    /// System label ids and user label names, before user labels get ids.
    labels: Vec<LabelRef>,
    from_user: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum LabelRef {
    System(String),
    User(String),
}

/// Parses the sources and builds the mailbox's indexes.
pub(crate) fn build(sources: Vec<Source>, user_email: &str) -> Mailbox {
    let user_lower = user_email.to_lowercase();
    let mut used_ids = BTreeSet::new();
    let mut parsed = Vec::new();

    for (index, source) in sources.into_iter().enumerate() {
        let id = unique_id(&source.bytes, index, &mut used_ids);
        let name = source.name.clone();
        // mail-parser documents that it never panics; the guard keeps that promise ours
        // too should a file prove otherwise.
        match catch_unwind(AssertUnwindSafe(|| parse_source(source, id, &user_lower))) {
            Ok(Some(message)) => parsed.push(message),
            Ok(None) => tracing::warn!(file = %name, "skipping a mail file that has no headers"),
            Err(_) => {
                tracing::warn!(file = %name, "skipping a mail file the MIME parser failed on")
            }
        }
    }

    let user_labels = assign_user_labels(&parsed);
    let thread_ids = thread_ids(&parsed);

    let mut mailbox = Mailbox {
        user_email: user_email.to_owned(),
        user_labels,
        ..Mailbox::default()
    };
    for (index, (message, thread_id)) in parsed.into_iter().zip(thread_ids).enumerate() {
        let stored = finish(message, thread_id, index, &mailbox.user_labels);
        mailbox.by_id.insert(stored.id.clone(), index);
        mailbox
            .threads
            .entry(stored.thread_id.clone())
            .or_default()
            .push(index);
        mailbox.messages.push(stored);
    }
    for members in mailbox.threads.values_mut() {
        members.sort_by_key(|&index| (mailbox.messages[index].internal_date_ms, index));
    }
    mailbox
}

/// Parses a message added after load, sent or saved as a draft, with `labels` in place of
/// those its headers would give. `thread_for` picks the thread from the message's id and
/// the Message-IDs its `In-Reply-To` and `References` name. `None` when the bytes have no
/// headers.
pub(super) fn parse_added(
    raw: Vec<u8>,
    id: String,
    mailbox: &Mailbox,
    labels: Vec<String>,
    thread_for: impl FnOnce(&str, &[String]) -> String,
) -> Option<StoredMessage> {
    let source = Source {
        name: id.clone(),
        bytes: raw,
    };
    let user_lower = mailbox.user_email.to_lowercase();
    let parsed =
        catch_unwind(AssertUnwindSafe(|| parse_source(source, id, &user_lower))).ok()??;

    let thread_id = thread_for(&parsed.id, &parsed.related_ids);
    let index = mailbox.messages.len();
    let mut stored = finish(parsed, thread_id, index, &mailbox.user_labels);
    super::set_labels(&mut stored, labels, &mailbox.user_labels);
    Some(stored)
}

/// A 16-hex-digit id from the file content, so it survives restarts; identical files get
/// distinct ids by mixing in their position.
fn unique_id(bytes: &[u8], index: usize, used: &mut BTreeSet<String>) -> String {
    let mut hash = fnv1a(bytes);
    loop {
        let id = format!("{hash:016x}");
        if used.insert(id.clone()) {
            return id;
        }
        hash = fnv1a(format!("{id}:{index}").as_bytes());
    }
}

fn parse_source(source: Source, id: String, user_lower: &str) -> Option<Parsed> {
    let message = MessageParser::default().parse(&source.bytes)?;
    if message
        .parts
        .first()
        .is_none_or(|root| root.headers.is_empty())
    {
        return None;
    }

    let converted = mime::convert(&message, &id);
    let internal_date_ms = message.date().and_then(date_ms).unwrap_or(FALLBACK_DATE_MS);
    let message_id = message.message_id().map(normalize_message_id);
    let mut related_ids = text_values(message.in_reply_to());
    related_ids.extend(text_values(message.references()));

    let from_user = message
        .from()
        .is_some_and(|from| addresses(from).iter().any(|address| address == user_lower));
    let to_user = [message.to(), message.cc(), message.bcc()]
        .into_iter()
        .flatten()
        .any(|list| addresses(list).iter().any(|address| address == user_lower));
    let gmail_labels = converted
        .payload
        .header("X-Gmail-Labels")
        .map(str::to_owned);
    let labels = match gmail_labels {
        Some(header) => labels_from_header(&header),
        None => default_labels(&id, from_user, to_user),
    };

    Some(Parsed {
        id,
        raw: source.bytes,
        converted,
        internal_date_ms,
        message_id,
        related_ids,
        labels,
        from_user,
    })
}

/// Converts a parsed `Date` to milliseconds, or `None` when its fields are out of range.
fn date_ms(date: &mail_parser::DateTime) -> Option<i64> {
    let day = NaiveDate::from_ymd_opt(
        i32::from(date.year),
        u32::from(date.month),
        u32::from(date.day),
    )?;
    day.and_hms_opt(
        u32::from(date.hour),
        u32::from(date.minute),
        u32::from(date.second),
    )?;
    if date.year < 1971 {
        return None;
    }
    date.to_timestamp().checked_mul(1000)
}

fn normalize_message_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

fn text_values(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(text) => vec![normalize_message_id(text)],
        HeaderValue::TextList(list) => list.iter().map(|text| normalize_message_id(text)).collect(),
        _ => Vec::new(),
    }
}

fn addresses(address: &Address<'_>) -> Vec<String> {
    address
        .iter()
        .filter_map(|addr| addr.address())
        .map(str::to_lowercase)
        .collect()
}

/// Reads Gmail's own export header (`X-Gmail-Labels: Inbox,Unread,Projects/Sandbox`).
/// `Opened` and `Archived` are states, not labels: an opened message is read by default.
fn labels_from_header(header: &str) -> Vec<LabelRef> {
    let mut labels = Vec::new();
    for name in header
        .split(',')
        .map(|name| name.trim().trim_matches('"').trim())
        .filter(|name| !name.is_empty())
    {
        let lower = name.to_lowercase();
        let system = match lower.as_str() {
            "inbox" => Some("INBOX".to_owned()),
            "sent" | "sent mail" => Some("SENT".to_owned()),
            "unread" => Some("UNREAD".to_owned()),
            "starred" => Some("STARRED".to_owned()),
            "important" => Some("IMPORTANT".to_owned()),
            "trash" => Some("TRASH".to_owned()),
            "spam" => Some("SPAM".to_owned()),
            "draft" | "drafts" => Some("DRAFT".to_owned()),
            "chat" => Some("CHAT".to_owned()),
            "opened" | "archived" => continue,
            _ => lower
                .strip_prefix("category ")
                .map(|category| format!("CATEGORY_{}", category.trim().to_uppercase())),
        };
        labels.push(system.map_or_else(|| LabelRef::User(name.to_owned()), LabelRef::System));
    }
    labels
}

/// Labels for mail without `X-Gmail-Labels`: `SENT` for the user's own mail, `INBOX` for
/// mail to the user, and `UNREAD` on about a quarter of received messages, chosen by id.
fn default_labels(id: &str, from_user: bool, to_user: bool) -> Vec<LabelRef> {
    let mut labels = Vec::new();
    if !from_user || to_user {
        labels.push(LabelRef::System("INBOX".to_owned()));
    }
    if from_user {
        labels.push(LabelRef::System("SENT".to_owned()));
    } else if id.ends_with(['0', '4', '8', 'c']) {
        labels.push(LabelRef::System("UNREAD".to_owned()));
    }
    labels
}

/// Gives user labels the ids `Label_1`, `Label_2`, ... in name order.
fn assign_user_labels(parsed: &[Parsed]) -> Vec<UserLabel> {
    let names: BTreeSet<&str> = parsed
        .iter()
        .flat_map(|message| &message.labels)
        .filter_map(|label| match label {
            LabelRef::User(name) => Some(name.as_str()),
            LabelRef::System(_) => None,
        })
        .collect();
    names
        .into_iter()
        .enumerate()
        .map(|(index, name)| UserLabel::new(format!("Label_{}", index + 1), name.to_owned()))
        .collect()
}

/// Groups messages into threads with a union-find over Message-IDs: a message joins the
/// thread of every id in its `In-Reply-To` and `References`. The thread id is the id of the
/// oldest message.
fn thread_ids(parsed: &[Parsed]) -> Vec<String> {
    let mut sets = UnionFind::default();
    let mut nodes = Vec::with_capacity(parsed.len());
    for message in parsed {
        let own_key = message
            .message_id
            .clone()
            .unwrap_or_else(|| format!("\u{0}{}", message.id));
        let node = sets.node(&own_key);
        for related in &message.related_ids {
            let other = sets.node(related);
            sets.union(node, other);
        }
        nodes.push(node);
    }

    let mut oldest: HashMap<usize, usize> = HashMap::new();
    for (index, &node) in nodes.iter().enumerate() {
        let root = sets.find(node);
        let entry = oldest.entry(root).or_insert(index);
        if (parsed[index].internal_date_ms, index) < (parsed[*entry].internal_date_ms, *entry) {
            *entry = index;
        }
    }
    nodes
        .iter()
        .map(|&node| {
            let root = sets.find(node);
            oldest
                .get(&root)
                .map_or_else(String::new, |&first| parsed[first].id.clone())
        })
        .collect()
}

#[derive(Default)]
struct UnionFind {
    keys: HashMap<String, usize>,
    parents: Vec<usize>,
}

impl UnionFind {
    fn node(&mut self, key: &str) -> usize {
        if let Some(&node) = self.keys.get(key) {
            return node;
        }
        let node = self.parents.len();
        self.parents.push(node);
        self.keys.insert(key.to_owned(), node);
        node
    }

    fn find(&mut self, node: usize) -> usize {
        let mut root = node;
        while self.parents[root] != root {
            root = self.parents[root];
        }
        // Path compression keeps later lookups short.
        let mut current = node;
        while self.parents[current] != root {
            let next = self.parents[current];
            self.parents[current] = root;
            current = next;
        }
        root
    }

    fn union(&mut self, a: usize, b: usize) {
        let (root_a, root_b) = (self.find(a), self.find(b));
        if root_a != root_b {
            self.parents[root_b] = root_a;
        }
    }
}

fn finish(
    message: Parsed,
    thread_id: String,
    index: usize,
    user_labels: &[UserLabel],
) -> StoredMessage {
    let mut label_ids = Vec::new();
    let mut label_keys = Vec::new();
    for label in &message.labels {
        let (id, name) = match label {
            LabelRef::System(id) => (id.clone(), id.clone()),
            LabelRef::User(name) => match user_labels.iter().find(|user| &user.name == name) {
                Some(user) => (user.id.clone(), user.name.clone()),
                None => continue,
            },
        };
        if !label_ids.contains(&id) {
            label_keys.push(label_key(&id));
            label_keys.push(label_key(&name));
            label_ids.push(id);
        }
    }
    if message.from_user && !label_ids.iter().any(|id| id == "SENT") && message.labels.is_empty() {
        label_ids.push("SENT".to_owned());
    }

    let payload = message.converted.payload;
    let content = extract(&payload);
    let filenames: Vec<String> = content
        .attachments
        .iter()
        .map(|attachment| attachment.filename.to_lowercase())
        .collect();
    let header = |name: &str| payload.header(name).unwrap_or_default().to_lowercase();
    let search = SearchFields {
        subject: header("Subject"),
        from: header("From"),
        to: header("To"),
        cc: header("Cc"),
        bcc: header("Bcc"),
        body: content.body.to_lowercase(),
        filenames,
        label_ids: label_ids.clone(),
        label_keys,
        internal_date_ms: message.internal_date_ms,
        size: u64::try_from(message.raw.len()).unwrap_or(u64::MAX),
    };

    StoredMessage {
        id: message.id,
        thread_id,
        rfc_message_id: message.message_id,
        trashed_from_inbox: false,
        label_ids,
        snippet: snippet(&content.body),
        history_id: 1000 + u64::try_from(index).unwrap_or(0),
        internal_date_ms: message.internal_date_ms,
        raw: message.raw,
        payload,
        attachments: message.converted.attachments,
        search,
    }
}

/// The first [`SNIPPET_CHARS`] characters of the body with whitespace collapsed, and with
/// `&`, `<`, `>`, `"` and `'` escaped as HTML entities, as Gmail sends snippets.
fn snippet(body: &str) -> String {
    let collapsed = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut: String = collapsed.chars().take(SNIPPET_CHARS).collect();
    let mut escaped = String::with_capacity(cut.len());
    for c in cut.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(name: &str, text: &str) -> Source {
        Source {
            name: name.to_owned(),
            bytes: text.as_bytes().to_vec(),
        }
    }

    #[test]
    fn threads_join_by_references() {
        let sources = vec![
            source(
                "a",
                "Message-ID: <1@x>\r\nDate: Mon, 3 Mar 2025 10:00:00 +0000\r\nSubject: a\r\n\r\none\r\n",
            ),
            source(
                "b",
                "Message-ID: <2@x>\r\nIn-Reply-To: <1@x>\r\nDate: Mon, 3 Mar 2025 11:00:00 +0000\r\n\r\ntwo\r\n",
            ),
            source(
                "c",
                "Message-ID: <3@x>\r\nReferences: <1@x> <2@x>\r\nDate: Mon, 3 Mar 2025 09:00:00 +0000\r\n\r\nthree\r\n",
            ),
            source("d", "Message-ID: <4@x>\r\nSubject: alone\r\n\r\nfour\r\n"),
        ];
        let mailbox = build(sources, "me@example.com");
        let ids: Vec<&str> = mailbox
            .messages
            .iter()
            .map(|message| message.thread_id.as_str())
            .collect();
        // Message c is the oldest of the three, so the thread takes its id.
        let c_id = mailbox.messages[2].id.as_str();
        assert_eq!(ids[..3], [c_id, c_id, c_id]);
        assert_eq!(ids[3], mailbox.messages[3].id);
        let order: Vec<usize> = mailbox.threads[c_id].clone();
        assert_eq!(order, [2, 0, 1]);
    }

    #[test]
    fn invalid_date_falls_back() {
        let mailbox = build(
            vec![source(
                "a",
                "Date: not a date\r\nSubject: x\r\n\r\nbody\r\n",
            )],
            "me@example.com",
        );
        assert_eq!(mailbox.messages[0].internal_date_ms, FALLBACK_DATE_MS);
    }

    #[test]
    fn headerless_input_is_skipped() {
        let mailbox = build(
            vec![
                source("empty", ""),
                source("ok", "Subject: x\r\n\r\nbody\r\n"),
            ],
            "me@example.com",
        );
        assert_eq!(mailbox.len(), 1);
    }

    #[test]
    fn identical_files_get_distinct_ids() {
        let text = "Subject: same\r\n\r\nbody\r\n";
        let mailbox = build(vec![source("a", text), source("b", text)], "me@example.com");
        assert_eq!(mailbox.len(), 2);
        assert_ne!(mailbox.messages[0].id, mailbox.messages[1].id);
        assert!(
            mailbox
                .messages
                .iter()
                .all(|message| message.id.len() == 16)
        );
    }

    #[test]
    fn header_labels_map_to_ids() {
        let labels = labels_from_header("Inbox, Opened, Category Promotions, Projects/Sandbox");
        assert_eq!(
            labels,
            [
                LabelRef::System("INBOX".into()),
                LabelRef::System("CATEGORY_PROMOTIONS".into()),
                LabelRef::User("Projects/Sandbox".into()),
            ]
        );
    }

    #[test]
    fn snippet_collapses_and_escapes() {
        assert_eq!(
            snippet("  a\n\n b <c> & 'd'  "),
            "a b &lt;c&gt; &amp; &#39;d&#39;"
        );
        assert_eq!(snippet(&"x".repeat(500)).len(), SNIPPET_CHARS);
    }
}

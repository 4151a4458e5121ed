//! Composing outgoing mail: checking addresses and header values, and writing the RFC 5322
//! message with the `mail-builder` crate.
//!
//! Every header value a caller supplies is checked before anything is built: a CR, LF or
//! other control character is rejected with the name of the field, so no input can add a
//! header. `mail-builder` then encodes non-ASCII subjects and display names as RFC 2047
//! encoded words, non-ASCII attachment file names as RFC 2231 parameters, and picks a
//! transfer encoding for each body part.
//!
//! `mail-builder` 2.0 writes ASCII text as it is, so a subject or display name typed as
//! `=?UTF-8?B?U3Bvb2ZlZA==?=` would reach the recipient decoded, as different text. Such
//! values are encoded here instead (see [`looks_encoded`]), so they read back as typed.

use std::borrow::Cow;

use base64::Engine as _;
use mail_builder::MessageBuilder;
use mail_builder::headers::HeaderType;
use mail_builder::headers::address::Address;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;

/// Gmail's limit for one message, attachments and their base64 encoding included:
/// 25 MiB, counted here in bytes of the built message.
pub const MAX_MESSAGE_BYTES: usize = 25 * 1024 * 1024;

/// An estimate of the file bytes that fit in [`MAX_MESSAGE_BYTES`]: base64 writes 4 bytes
/// for 3, and `mail-builder` ends every 76 of them with CRLF, so files grow by 4/3 times
/// 78/76. Headers and the body take a little more.
pub const ESTIMATED_MAX_FILE_BYTES: usize = MAX_MESSAGE_BYTES / 4 * 3 / 78 * 76;

/// The maximum UTF-8 bytes in one encoded word that [`encoded_words`] writes. 36 bytes are
/// 48 base64 characters, so a word is 60 characters. That is within RFC 2047's 75, and a
/// header name and the word fit on one 78-character line.
const ENCODED_WORD_BYTES: usize = 36;

/// The longest local part of an address, in bytes (RFC 5321 section 4.5.3.1.1).
const MAX_LOCAL_PART: usize = 64;
/// The longest domain of an address, in bytes (RFC 5321 section 4.5.3.1.2).
const MAX_DOMAIN: usize = 253;
/// The longest domain label, in bytes (RFC 1035 section 2.3.4).
const MAX_LABEL: usize = 63;

/// Why a message could not be composed. Each variant names the argument at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    /// A header value contains a line break or another control character.
    #[error(
        "field `{field}` contains the control character {character:?}; header values must be one line of printable text"
    )]
    ControlCharacter {
        /// The argument, such as `subject` or `to[1]`.
        field: String,
        /// The character found.
        character: char,
    },
    /// A file name contains a bidirectional override or isolate, which can make the name
    /// display in another order than it has.
    #[error(
        "field `{field}`: the file name contains the bidirectional control character U+{code:04X}, which can make a name such as \"\\u{{202e}}txt.exe\" display as \"exe.txt\"; rename the file without it",
        code = u32::from(*character)
    )]
    BidiControl {
        /// The argument, such as `attachments[0]`.
        field: String,
        /// The character found.
        character: char,
    },
    /// An address is not a valid `local@domain` address.
    #[error("field `{field}`: {value:?} is not a valid email address: {reason}")]
    InvalidAddress {
        /// The argument, such as `cc[0]`.
        field: String,
        /// The address as given.
        value: String,
        /// The reason the address is invalid.
        reason: String,
    },
    /// A message id to refer to is not a valid msg-id.
    #[error("field `{field}`: {value:?} is not a message id such as <abc@example.com>")]
    InvalidMessageId {
        /// The argument.
        field: String,
        /// The value as given.
        value: String,
    },
    /// A MIME type is not `type/subtype`.
    #[error("field `{field}`: {value:?} is not a MIME type such as application/pdf")]
    InvalidMimeType {
        /// The argument.
        field: String,
        /// The value as given.
        value: String,
    },
    /// The built message is larger than Gmail accepts.
    #[error(
        "the message would be {size}, more than {limit}; attach fewer or smaller files",
        size = mebibytes(*size as u64),
        limit = size_limit_text()
    )]
    TooLarge {
        /// The size of the built message in bytes.
        size: usize,
        /// [`MAX_MESSAGE_BYTES`].
        limit: usize,
    },
    /// The message could not be written.
    #[error("the message could not be written: {0}")]
    Write(String),
}

/// Formats a size in bytes as MiB with one decimal, the one unit of every size error.
pub fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Names Gmail's size limit and what it counts, for errors about size.
pub fn size_limit_text() -> String {
    format!(
        "Gmail's limit of {} for a message with its attachments base64-encoded (about {} of files)",
        mebibytes(MAX_MESSAGE_BYTES as u64),
        mebibytes(ESTIMATED_MAX_FILE_BYTES as u64)
    )
}

/// A mailbox: an address with an optional display name, as in `Ann Lee <ann@example.com>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress {
    /// The display name, without quotes.
    pub name: Option<String>,
    /// The `local@domain` address.
    pub address: String,
}

impl EmailAddress {
    /// Parses `ann@example.com`, `<ann@example.com>`, `Ann Lee <ann@example.com>` or
    /// `"Lee, Ann" <ann@example.com>`, checking the address as an RFC 5322 addr-spec.
    ///
    /// Only dot-atom local parts and host-name domains are accepted: no quoted local
    /// parts, IP literals or non-ASCII addresses. Display names may hold any Unicode
    /// text without control characters.
    ///
    /// # Errors
    ///
    /// [`ComposeError::ControlCharacter`] or [`ComposeError::InvalidAddress`], naming
    /// `field`.
    pub fn parse(field: &str, text: &str) -> Result<Self, ComposeError> {
        check_header_text(field, text)?;
        let invalid = |reason: &str| ComposeError::InvalidAddress {
            field: field.to_owned(),
            value: text.to_owned(),
            reason: reason.to_owned(),
        };

        let trimmed = text.trim();
        let (name, address) = match trimmed.strip_suffix('>') {
            Some(rest) => {
                let open = rest
                    .rfind('<')
                    .ok_or_else(|| invalid("it ends with `>` but has no `<`"))?;
                (unquote(rest[..open].trim()), rest[open + 1..].trim())
            }
            None => (None, trimmed),
        };
        check_addr_spec(address).map_err(|reason| invalid(&reason))?;

        Ok(Self {
            name,
            address: address.to_owned(),
        })
    }

    /// Returns the address in lower case, for comparisons: Gmail treats addresses
    /// without regard to case.
    pub fn key(&self) -> String {
        self.address.to_lowercase()
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name} <{}>", self.address),
            None => f.write_str(&self.address),
        }
    }
}

/// Reads a display name, removing the quotes and backslash escapes of a quoted string.
fn unquote(name: &str) -> Option<String> {
    let name = match name
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
    {
        Some(inner) => {
            let mut unescaped = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => unescaped.extend(chars.next()),
                    other => unescaped.push(other),
                }
            }
            unescaped
        }
        None => name.to_owned(),
    };
    Some(name).filter(|name| !name.trim().is_empty())
}

/// Returns the domain of an address, `ann@example.com` giving `example.com`, in lower case.
pub fn domain_of(address: &str) -> Option<String> {
    let (_, domain) = address.rsplit_once('@')?;
    check_addr_spec(address).ok()?;
    Some(domain.to_lowercase())
}

/// Checks an RFC 5322 addr-spec with a dot-atom local part and a host-name domain.
fn check_addr_spec(address: &str) -> Result<(), String> {
    let Some((local, domain)) = address.split_once('@') else {
        return Err("it has no `@`".to_owned());
    };
    if domain.contains('@') {
        return Err("it has more than one `@`".to_owned());
    }

    if local.is_empty() || local.len() > MAX_LOCAL_PART {
        return Err(format!(
            "the part before `@` must be 1 to {MAX_LOCAL_PART} characters"
        ));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("the part before `@` has a misplaced dot".to_owned());
    }
    if let Some(bad) = local.chars().find(|&c| !is_atext(c) && c != '.') {
        return Err(format!("the part before `@` contains {bad:?}"));
    }

    if domain.is_empty() || domain.len() > MAX_DOMAIN {
        return Err(format!("the domain must be 1 to {MAX_DOMAIN} characters"));
    }
    if !domain.contains('.') {
        return Err("the domain has no dot".to_owned());
    }
    for label in domain.split('.') {
        let valid = !label.is_empty()
            && label.len() <= MAX_LABEL
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !valid {
            return Err(format!(
                "the domain part {label:?} is not a host name label"
            ));
        }
    }
    Ok(())
}

/// RFC 5322 `atext`: the characters of an atom.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// Rejects a file name that contains a control character or a bidirectional override or
/// isolate (U+202A to U+202E, U+2066 to U+2069), with which `\u{202e}txt.exe` displays as
/// `exe.txt`. Subjects and display names may contain these characters, because text in
/// right-to-left scripts needs them; a file name's extension is what a reader trusts.
///
/// # Errors
///
/// [`ComposeError::ControlCharacter`] or [`ComposeError::BidiControl`] naming `field`.
pub fn check_file_name(field: &str, name: &str) -> Result<(), ComposeError> {
    check_header_text(field, name)?;
    let bidi = |c: &char| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    match name.chars().find(bidi) {
        Some(character) => Err(ComposeError::BidiControl {
            field: field.to_owned(),
            character,
        }),
        None => Ok(()),
    }
}

/// Rejects a header value that contains a control character, CR and LF included.
///
/// # Errors
///
/// [`ComposeError::ControlCharacter`] naming `field` and the first such character.
pub fn check_header_text(field: &str, value: &str) -> Result<(), ComposeError> {
    match value.chars().find(|c| c.is_control()) {
        Some(character) => Err(ComposeError::ControlCharacter {
            field: field.to_owned(),
            character,
        }),
        None => Ok(()),
    }
}

/// Parses the addresses of an address-list header such as `To` or `Cc` as received, for
/// reply-all. Entries that are not a single valid address (groups such as
/// `undisclosed-recipients:;`, or malformed ones) are left out.
pub fn parse_address_list(header: &str) -> Vec<EmailAddress> {
    split_address_list(header)
        .into_iter()
        .filter_map(|entry| EmailAddress::parse("header", entry).ok())
        .collect()
}

/// Splits an address list at the commas outside quoted strings and angle brackets.
pub fn split_address_list(header: &str) -> Vec<&str> {
    let mut entries = Vec::new();
    let (mut start, mut quoted, mut angle, mut escaped) = (0, false, false, false);
    for (index, c) in header.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                entries.push(&header[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    entries.push(&header[start..]);
    entries
        .into_iter()
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .collect()
}

/// Checks an RFC 5322 msg-id and returns it without its angle brackets, or `None` when it
/// cannot be repeated safely in `In-Reply-To` or `References`.
pub fn message_id_value(value: &str) -> Option<String> {
    let inner = value.trim().trim_start_matches('<').trim_end_matches('>');
    let valid = !inner.is_empty()
        && inner.len() <= 998
        && inner
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>'));
    valid.then(|| inner.to_owned())
}

/// A file to attach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file name shown to the recipient.
    pub filename: String,
    /// The MIME type, `type/subtype`.
    pub mime_type: String,
    /// The content.
    pub data: Vec<u8>,
}

/// Everything an outgoing message is built from. `From` is left to Gmail, which sets it
/// to the account's address.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Composition {
    /// `To` recipients.
    pub to: Vec<EmailAddress>,
    /// `Cc` recipients.
    pub cc: Vec<EmailAddress>,
    /// `Bcc` recipients, whom the other recipients do not see.
    pub bcc: Vec<EmailAddress>,
    /// `Reply-To` addresses.
    pub reply_to: Vec<EmailAddress>,
    /// The subject, one line.
    pub subject: String,
    /// The plain-text body.
    pub text_body: String,
    /// An HTML alternative to the text body.
    pub html_body: Option<String>,
    /// Files attached after the body.
    pub attachments: Vec<Attachment>,
    /// The msg-id this message replies to, without angle brackets.
    pub in_reply_to: Option<String>,
    /// The msg-ids of the conversation so far, oldest first, without angle brackets.
    pub references: Vec<String>,
    /// The right side of the new message's Message-ID: the domain of the sender's address.
    /// `None` leaves `mail-builder`'s `localhost`, which some spam filters count against
    /// a message.
    pub message_id_domain: Option<String>,
}

impl Composition {
    /// Returns every recipient with the field it is in (`to[0]`, `cc[1]`, `bcc[0]`).
    pub fn recipients(&self) -> Vec<(String, &EmailAddress)> {
        let mut all = Vec::new();
        for (field, list) in [("to", &self.to), ("cc", &self.cc), ("bcc", &self.bcc)] {
            for (index, address) in list.iter().enumerate() {
                all.push((format!("{field}[{index}]"), address));
            }
        }
        all
    }

    /// Checks every header value: subject, display names, addresses, attachment names,
    /// MIME types and message ids.
    ///
    /// # Errors
    ///
    /// The first problem found, naming its field.
    pub fn validate(&self) -> Result<(), ComposeError> {
        check_header_text("subject", &self.subject)?;

        let lists = [
            ("to", &self.to),
            ("cc", &self.cc),
            ("bcc", &self.bcc),
            ("reply_to", &self.reply_to),
        ];
        for (field, list) in lists {
            for (index, address) in list.iter().enumerate() {
                // The tools take one `reply_to` as a string, not a list.
                let field = if field == "reply_to" && list.len() == 1 {
                    field.to_owned()
                } else {
                    format!("{field}[{index}]")
                };
                if let Some(name) = &address.name {
                    check_header_text(&field, name)?;
                }
                check_header_text(&field, &address.address)?;
                check_addr_spec(&address.address).map_err(|reason| {
                    ComposeError::InvalidAddress {
                        field: field.clone(),
                        value: address.address.clone(),
                        reason,
                    }
                })?;
            }
        }

        for (index, attachment) in self.attachments.iter().enumerate() {
            check_file_name(&format!("attachments[{index}]"), &attachment.filename)?;
            check_mime_type(
                &format!("attachments[{index}].mime_type"),
                &attachment.mime_type,
            )?;
        }

        let ids = self
            .in_reply_to
            .iter()
            .map(|id| ("in_reply_to", id))
            .chain(self.references.iter().map(|id| ("references", id)));
        if let Some(domain) = &self.message_id_domain
            && check_addr_spec(&format!("id@{domain}")).is_err()
        {
            return Err(ComposeError::InvalidMessageId {
                field: "message_id_domain".to_owned(),
                value: domain.clone(),
            });
        }
        for (field, id) in ids {
            if message_id_value(id).as_deref() != Some(id.as_str()) {
                return Err(ComposeError::InvalidMessageId {
                    field: field.to_owned(),
                    value: id.clone(),
                });
            }
        }
        Ok(())
    }

    /// Validates and writes the message as RFC 5322 bytes with CRLF line ends.
    ///
    /// # Errors
    ///
    /// What [`validate`](Self::validate) finds, or [`ComposeError::TooLarge`] when the
    /// message passes [`MAX_MESSAGE_BYTES`].
    pub fn build(&self) -> Result<Vec<u8>, ComposeError> {
        self.validate()?;

        // Every attachment costs at least its own size, so a hopeless message stops here
        // before the base64 copy is made.
        let attachment_bytes: usize = self.attachments.iter().map(|file| file.data.len()).sum();
        if attachment_bytes > MAX_MESSAGE_BYTES {
            return Err(ComposeError::TooLarge {
                size: attachment_bytes,
                limit: MAX_MESSAGE_BYTES,
            });
        }

        let mut builder = MessageBuilder::new();
        let lists = [
            ("To", &self.to),
            ("Cc", &self.cc),
            ("Bcc", &self.bcc),
            ("Reply-To", &self.reply_to),
        ];
        for (header, list) in lists {
            if !list.is_empty() {
                builder = builder.header(header, address_list(list));
            }
        }
        builder = builder.header("Subject", unstructured(&self.subject));
        if let Some(domain) = &self.message_id_domain {
            // 128 random bits make the id unique without naming the machine or the time.
            let unique: u128 = rand::random();
            builder = builder.message_id(MessageId::new(format!("{unique:032x}@{domain}")));
        }
        if let Some(id) = &self.in_reply_to {
            builder = builder.in_reply_to(MessageId::new(id.as_str()));
        }
        if !self.references.is_empty() {
            builder = builder.references(MessageId::new_list(
                self.references.iter().map(String::as_str),
            ));
        }

        builder = builder.text_body(self.text_body.as_str());
        if let Some(html) = &self.html_body {
            builder = builder.html_body(html.as_str());
        }
        for attachment in &self.attachments {
            builder = builder.attachment(
                attachment.mime_type.as_str(),
                attachment.filename.as_str(),
                attachment.data.as_slice(),
            );
        }

        let bytes = builder
            .write_to_vec()
            .map_err(|error| ComposeError::Write(error.to_string()))?;
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(ComposeError::TooLarge {
                size: bytes.len(),
                limit: MAX_MESSAGE_BYTES,
            });
        }
        Ok(bytes)
    }
}

/// Writes an unstructured header such as `Subject`, encoding it when [`looks_encoded`].
fn unstructured(text: &str) -> HeaderType<'_> {
    if looks_encoded(text) {
        HeaderType::Raw(Raw::new(encoded_words(text)))
    } else {
        HeaderType::Text(text.into())
    }
}

/// Writes an address list. When a display name [`looks_encoded`], every name in the list
/// is written as encoded words, because `mail-builder` has no option to encode one name.
fn address_list(list: &[EmailAddress]) -> HeaderType<'_> {
    let forced = list
        .iter()
        .any(|address| address.name.as_deref().is_some_and(looks_encoded));
    if forced {
        let entries: Vec<String> = list
            .iter()
            .map(|address| match &address.name {
                Some(name) => format!("{} <{}>", encoded_words(name), address.address),
                None => format!("<{}>", address.address),
            })
            .collect();
        return HeaderType::Raw(Raw::new(entries.join(", ")));
    }

    HeaderType::Address(Address::new_list(
        list.iter()
            .map(|address| {
                Address::new_address(
                    address.name.as_deref().map(Cow::Borrowed),
                    address.address.as_str(),
                )
            })
            .collect(),
    ))
}

/// Returns whether a header value contains `=?` followed later by `?=`, the frame of an
/// RFC 2047 encoded word, which mail readers would decode if it were sent as typed.
pub fn looks_encoded(value: &str) -> bool {
    value
        .find("=?")
        .is_some_and(|start| value[start + 2..].contains("?="))
}

/// Encodes text as RFC 2047 "B" encoded words in UTF-8, separated by spaces that readers
/// drop between encoded words. Words split only at character boundaries.
fn encoded_words(text: &str) -> String {
    let mut words = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + ENCODED_WORD_BYTES).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let encoded = base64::engine::general_purpose::STANDARD.encode(&text[start..end]);
        words.push(format!("=?UTF-8?B?{encoded}?="));
        start = end;
    }
    words.join(" ")
}

/// Checks that a MIME type is `type/subtype` made of RFC 2045 token characters.
///
/// # Errors
///
/// [`ComposeError::InvalidMimeType`] naming `field`.
pub fn check_mime_type(field: &str, value: &str) -> Result<(), ComposeError> {
    let is_token = |part: &str| {
        !part.is_empty()
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
    };
    match value.split_once('/') {
        Some((kind, subtype)) if is_token(kind) && is_token(subtype) => Ok(()),
        _ => Err(ComposeError::InvalidMimeType {
            field: field.to_owned(),
            value: value.to_owned(),
        }),
    }
}

/// Guesses a MIME type from a file name's extension, `application/octet-stream` when the
/// extension is not a common one.
pub fn mime_type_for(filename: &str) -> &'static str {
    let extension = filename
        .rsplit_once('.')
        .map(|(_, extension)| extension.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "pdf" => "application/pdf",
        "txt" | "log" | "md" => "text/plain",
        "csv" => "text/csv",
        "htm" | "html" => "text/html",
        "ics" => "text/calendar",
        "json" => "application/json",
        "xml" => "application/xml",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "eml" => "message/rfc822",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ppt" => "application/vnd.ms-powerpoint",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "odt" => "application/vnd.oasis.opendocument.text",
        "ods" => "application/vnd.oasis.opendocument.spreadsheet",
        _ => "application/octet-stream",
    }
}

/// Returns `subject` with `prefix` in front, unless it already starts with one of
/// `existing` (lower case, compared without case), so a reply to `Re: x` stays `Re: x`.
pub fn prefixed_subject(prefix: &str, existing: &[&str], subject: &str) -> String {
    let trimmed = subject.trim();
    let lower = trimmed.to_lowercase();
    if existing.iter().any(|marker| lower.starts_with(marker)) {
        trimmed.to_owned()
    } else {
        format!("{prefix} {trimmed}").trim_end().to_owned()
    }
}

#[cfg(test)]
mod tests;

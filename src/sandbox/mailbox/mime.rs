//! Converts a parsed RFC 5322 message into Gmail's `MessagePart` tree.
//!
//! The tree follows what `users.messages.get?format=full` returns:
//!
//! - The root part has the part id `""`, its children `0`, `1`, ..., their children `1.0`, ...
//! - Header names keep their original spelling and order. Values are unfolded and their
//!   RFC 2047 encoded words decoded, as Gmail does.
//! - Text parts carry their content, transfer-decoded and converted to UTF-8, in `body.data`
//!   as base64url with padding. Attachments (a part with a file name or
//!   `Content-Disposition: attachment`) and other non-text parts carry an `attachmentId`
//!   and their size instead. Multipart nodes carry `body.size` 0.
//! - A `message/rfc822` part without a file name has one child: the root part of the
//!   enclosed message, with that message's headers.

use base64::Engine as _;
use mail_parser::{Message as MimeMessage, MimeHeaders as _, PartType};

use crate::domain::mail_content::decode_header;
use crate::domain::models::gmail::{MessagePart, MessagePartBody, MessagePartHeader};

/// Nesting beyond this depth is cut off. mail-parser limits nesting on its own; this guard
/// keeps a malformed tree from recursing without end here.
const MAX_DEPTH: usize = 64;

/// Base64url with padding, the form Gmail sends body data in.
pub(crate) fn encode_base64url_padded(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE.encode(data)
}

/// The content of a part served by `attachments.get`.
#[derive(Debug, Clone)]
pub(crate) struct StoredAttachment {
    /// The opaque id in `body.attachmentId`.
    pub(crate) id: String,
    /// The transfer-decoded bytes.
    pub(crate) data: Vec<u8>,
}

/// The payload tree of one message and the contents its `attachmentId`s refer to.
#[derive(Debug, Clone)]
pub(crate) struct ConvertedPayload {
    /// The root `MessagePart`.
    pub(crate) payload: MessagePart,
    /// Every part served through `attachments.get`, in tree order.
    pub(crate) attachments: Vec<StoredAttachment>,
}

/// Converts `message` into a payload tree. `message_id` seeds the attachment ids, so they
/// stay the same across restarts.
pub(crate) fn convert(message: &MimeMessage<'_>, message_id: &str) -> ConvertedPayload {
    let mut converter = Converter {
        message_id,
        attachments: Vec::new(),
    };
    let payload = converter
        .part(message, 0, String::new(), 0)
        .unwrap_or_else(|| MessagePart {
            mime_type: "text/plain".to_owned(),
            body: Some(MessagePartBody::default()),
            ..MessagePart::default()
        });
    ConvertedPayload {
        payload,
        attachments: converter.attachments,
    }
}

struct Converter<'a> {
    message_id: &'a str,
    attachments: Vec<StoredAttachment>,
}

impl Converter<'_> {
    fn part(
        &mut self,
        message: &MimeMessage<'_>,
        index: u32,
        part_id: String,
        depth: usize,
    ) -> Option<MessagePart> {
        let part = message.parts.get(usize::try_from(index).ok()?)?;
        if depth > MAX_DEPTH {
            return None;
        }

        let headers = headers_of(message, part);
        let mime_type = mime_type_of(part);
        let filename = part
            .attachment_name()
            .map(str::to_owned)
            .unwrap_or_default();
        let is_attachment = !filename.is_empty()
            || part
                .content_disposition()
                .is_some_and(|disposition| disposition.is_attachment());
        let mut node = MessagePart {
            part_id,
            mime_type,
            filename,
            headers,
            body: None,
            parts: Vec::new(),
        };

        match &part.body {
            PartType::Multipart(children) => {
                node.body = Some(MessagePartBody::default());
                for (position, child) in children.iter().enumerate() {
                    let child_id = child_part_id(&node.part_id, position);
                    if let Some(child) = self.part(message, *child, child_id, depth + 1) {
                        node.parts.push(child);
                    }
                }
            }
            PartType::Message(inner) if !is_attachment => {
                node.body = Some(MessagePartBody::default());
                let child_id = child_part_id(&node.part_id, 0);
                if let Some(child) = self.part(inner, 0, child_id, depth + 1) {
                    node.parts.push(child);
                }
            }
            PartType::Text(text) | PartType::Html(text) if !is_attachment => {
                node.body = Some(MessagePartBody {
                    attachment_id: None,
                    size: len_i64(text.len()),
                    data: Some(encode_base64url_padded(text.as_bytes())),
                });
            }
            _ => node.body = Some(self.store(&node.part_id, part.contents())),
        }
        Some(node)
    }

    fn store(&mut self, part_id: &str, contents: &[u8]) -> MessagePartBody {
        // Opaque to clients, like Gmail's, but derived from the message and part ids so that
        // an id stays valid across restarts over the same files.
        let key = format!("{}:{part_id}", self.message_id);
        let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key);
        self.attachments.push(StoredAttachment {
            id: id.clone(),
            data: contents.to_vec(),
        });
        MessagePartBody {
            attachment_id: Some(id),
            size: len_i64(contents.len()),
            data: None,
        }
    }
}

fn child_part_id(parent: &str, position: usize) -> String {
    if parent.is_empty() {
        position.to_string()
    } else {
        format!("{parent}.{position}")
    }
}

fn len_i64(len: usize) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX)
}

/// Returns `type/subtype` in lower case. A part without a usable `Content-Type` is
/// `text/plain` (RFC 2045 section 5.2), or `message/rfc822` when mail-parser found an
/// enclosed message, as in a `multipart/digest`.
fn mime_type_of(part: &mail_parser::MessagePart<'_>) -> String {
    let declared = part.content_type().map(|content_type| {
        let main = content_type.ctype().trim().to_ascii_lowercase();
        match content_type.subtype() {
            Some(sub) => format!("{main}/{}", sub.trim().to_ascii_lowercase()),
            None => main,
        }
    });
    match declared {
        Some(mime_type) if mime_type.contains('/') => mime_type,
        _ if part.is_message() => "message/rfc822".to_owned(),
        _ if part.is_multipart() => "multipart/mixed".to_owned(),
        _ => "text/plain".to_owned(),
    }
}

/// Reads each header's name and value from the raw bytes, so names keep their spelling
/// and structured values (addresses, dates) keep what the sender wrote.
fn headers_of(
    message: &MimeMessage<'_>,
    part: &mail_parser::MessagePart<'_>,
) -> Vec<MessagePartHeader> {
    let raw = message.raw_message.as_ref();
    part.headers
        .iter()
        .map(|header| {
            let name = raw
                .get(header.offset_field as usize..header.offset_start as usize)
                .map(|bytes| {
                    String::from_utf8_lossy(bytes)
                        .trim_end_matches(':')
                        .trim()
                        .to_owned()
                })
                .filter(|name| !name.is_empty())
                .unwrap_or_else(|| header.name().to_owned());
            let value = raw
                .get(header.offset_start as usize..header.offset_end as usize)
                .map(|bytes| unfold(&String::from_utf8_lossy(bytes)))
                .unwrap_or_default();
            let value = decode_header(&value).into_owned();
            MessagePartHeader { name, value }
        })
        .collect()
}

/// Removes the line breaks of folded header lines (RFC 5322 section 2.2.3) and the
/// surrounding whitespace.
fn unfold(value: &str) -> String {
    value.replace(['\r', '\n'], "").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::mail_content::{decode_base64url, extract};

    fn convert_text(raw: &str) -> ConvertedPayload {
        let message = mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .expect("parses");
        convert(&message, "0123456789abcdef")
    }

    const MIXED: &str = "From: A <a@example.com>\r\n\
Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n\
X-Long: first\r\n second\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"outer\"\r\n\
\r\n\
--outer\r\n\
Content-Type: multipart/alternative; boundary=\"inner\"\r\n\
\r\n\
--inner\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
caf=E9\r\n\
--inner\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<p>caf\u{e9}</p>\r\n\
--inner--\r\n\
--outer\r\n\
Content-Type: application/pdf; name=\"=?UTF-8?B?0L7RgtGH0ZHRgi5wZGY=?=\"\r\n\
Content-Disposition: attachment\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0xLjQK\r\n\
--outer--\r\n";

    #[test]
    fn part_ids_follow_tree() {
        let converted = convert_text(MIXED);
        let payload = &converted.payload;
        assert_eq!(payload.part_id, "");
        assert_eq!(payload.mime_type, "multipart/mixed");
        assert_eq!(payload.parts[0].part_id, "0");
        assert_eq!(payload.parts[0].parts[0].part_id, "0.0");
        assert_eq!(payload.parts[0].parts[1].part_id, "0.1");
        assert_eq!(payload.parts[1].part_id, "1");
        assert_eq!(payload.body, Some(MessagePartBody::default()));
    }

    #[test]
    fn headers_are_unfolded_and_decoded() {
        let converted = convert_text(MIXED);
        let payload = &converted.payload;
        assert_eq!(payload.headers[0].name, "From");
        assert_eq!(payload.header("Subject"), Some("Grüße"));
        assert_eq!(payload.header("X-Long"), Some("first second"));
    }

    #[test]
    fn text_is_utf8_with_padding() {
        let converted = convert_text(MIXED);
        let plain = &converted.payload.parts[0].parts[0];
        let body = plain.body.as_ref().expect("body");
        let data = body.data.as_deref().expect("data");
        // The line break before a boundary belongs to the boundary (RFC 2046 section 5.1.1).
        assert_eq!(decode_base64url(data).expect("base64"), "café".as_bytes());
        assert_eq!(body.size, 5);
        assert_eq!(data, "Y2Fmw6k=");
    }

    #[test]
    fn attachment_gets_id_and_size() {
        let converted = convert_text(MIXED);
        let pdf = &converted.payload.parts[1];
        assert_eq!(pdf.filename, "отчёт.pdf");
        assert_eq!(pdf.mime_type, "application/pdf");
        let body = pdf.body.as_ref().expect("body");
        assert_eq!(body.data, None);
        assert_eq!(body.size, 9);
        assert_eq!(converted.attachments.len(), 1);
        assert_eq!(
            body.attachment_id.as_deref(),
            Some(converted.attachments[0].id.as_str())
        );
        assert_eq!(converted.attachments[0].data, b"%PDF-1.4\n");
    }

    #[test]
    fn extract_reads_converted_payload() {
        let content = extract(&convert_text(MIXED).payload);
        assert_eq!(content.body.trim(), "café");
        assert_eq!(content.attachments.len(), 1);
        assert_eq!(content.attachments[0].filename, "отчёт.pdf");
    }

    #[test]
    fn enclosed_message_becomes_child() {
        let raw = "From: a@example.com\r\n\
Subject: Fwd\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\
\r\n\
--b\r\n\
Content-Type: text/plain\r\n\
\r\n\
see below\r\n\
--b\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
From: c@example.com\r\n\
Subject: Inner\r\n\
\r\n\
inner body\r\n\
--b--\r\n";
        let converted = convert_text(raw);
        let enclosed = &converted.payload.parts[1];
        assert_eq!(enclosed.mime_type, "message/rfc822");
        assert_eq!(enclosed.parts.len(), 1);
        let inner_root = &enclosed.parts[0];
        assert_eq!(inner_root.part_id, "1.0");
        assert_eq!(inner_root.header("Subject"), Some("Inner"));
        assert_eq!(inner_root.mime_type, "text/plain");
    }

    #[test]
    fn single_part_message_is_root() {
        let converted = convert_text("Subject: hi\r\n\r\nhello\r\n");
        assert_eq!(converted.payload.part_id, "");
        assert_eq!(converted.payload.mime_type, "text/plain");
        assert!(converted.payload.parts.is_empty());
        assert!(
            converted
                .payload
                .body
                .as_ref()
                .and_then(|body| body.data.as_ref())
                .is_some()
        );
    }
}

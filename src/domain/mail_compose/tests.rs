use mail_parser::{MessageParser, MimeHeaders as _};

use super::*;

fn address(text: &str) -> EmailAddress {
    EmailAddress::parse("to[0]", text).expect("valid address")
}

fn parse(bytes: &[u8]) -> mail_parser::Message<'_> {
    MessageParser::default().parse(bytes).expect("parses")
}

fn header_names(bytes: &[u8]) -> Vec<String> {
    let message = parse(bytes);
    message.parts[0]
        .headers
        .iter()
        .map(|header| header.name().to_owned())
        .collect()
}

#[test]
fn address_forms_parse() {
    assert_eq!(
        address("ann@example.com"),
        EmailAddress {
            name: None,
            address: "ann@example.com".into()
        }
    );
    assert_eq!(address("<ann@example.com>").address, "ann@example.com");
    let named = address("Ann Lee <ann@example.com>");
    assert_eq!(named.name.as_deref(), Some("Ann Lee"));
    assert_eq!(named.address, "ann@example.com");
    let quoted = address(r#""Lee, Ann \"AL\"" <ann@example.com>"#);
    assert_eq!(quoted.name.as_deref(), Some(r#"Lee, Ann "AL""#));
    assert_eq!(
        address("Jürgen Groß <j.gross+tag@mail.example.de>")
            .name
            .as_deref(),
        Some("Jürgen Groß")
    );
}

#[test]
fn invalid_addresses_rejected() {
    for bad in [
        "",
        "ann",
        "ann@",
        "@example.com",
        "ann@@example.com",
        "a@b@example.com",
        "ann@localhost",
        ".ann@example.com",
        "ann.@example.com",
        "a..b@example.com",
        "ann lee@example.com",
        "ann@exa_mple.com",
        "ann@-example.com",
        "ann@example..com",
        "Ann <ann@example.com",
        "Ann ann@example.com>",
        "jürgen@example.com",
    ] {
        let error = EmailAddress::parse("cc[2]", bad).unwrap_err();
        assert!(error.to_string().contains("cc[2]"), "{bad:?}: {error}");
    }
}

#[test]
fn control_characters_rejected_in_addresses() {
    for bad in [
        "ann@example.com\r\nBcc: eve@example.com",
        "Ann\n <ann@example.com>",
        "Ann\u{0} <ann@example.com>",
    ] {
        let error = EmailAddress::parse("to[1]", bad).unwrap_err();
        assert!(
            matches!(&error, ComposeError::ControlCharacter { field, .. } if field == "to[1]"),
            "{bad:?}: {error:?}"
        );
    }
}

#[test]
fn address_list_splits_outside_quotes() {
    let list = parse_address_list(
        r#""Lee, Ann" <ann@example.com>, bob@example.com, undisclosed-recipients:;, Cy <cy@example.org>"#,
    );
    let addresses: Vec<&str> = list.iter().map(|entry| entry.address.as_str()).collect();
    assert_eq!(
        addresses,
        ["ann@example.com", "bob@example.com", "cy@example.org"]
    );
    assert_eq!(list[0].name.as_deref(), Some("Lee, Ann"));
}

fn composition() -> Composition {
    Composition {
        to: vec![address("Zoë Ångström <zoe@example.com>")],
        cc: vec![address("cc@example.org")],
        subject: "Grüße zum Fest — 2025 ✓".to_owned(),
        text_body: "Hallo,\nbis bald.\n".to_owned(),
        ..Composition::default()
    }
}

#[test]
fn subject_and_names_are_rfc2047_encoded() {
    let bytes = composition().build().expect("builds");
    let text = String::from_utf8(bytes.clone()).expect("ASCII message");
    assert!(text.is_ascii(), "{text}");
    assert!(text.contains("Subject: =?utf-8?"), "{text}");

    let message = parse(&bytes);
    assert_eq!(message.subject(), Some("Grüße zum Fest — 2025 ✓"));
    let to = message.to().and_then(|to| to.first()).expect("to");
    assert_eq!(to.name(), Some("Zoë Ångström"));
    assert_eq!(to.address(), Some("zoe@example.com"));
    // Line breaks travel as CRLF, as RFC 5322 requires.
    assert_eq!(
        message.body_text(0).as_deref(),
        Some("Hallo,\r\nbis bald.\r\n")
    );
}

#[test]
fn attachment_name_uses_rfc2231() {
    let mut composition = composition();
    composition.attachments.push(Attachment {
        filename: "Jahresübersicht 2025.pdf".to_owned(),
        mime_type: "application/pdf".to_owned(),
        data: b"%PDF-1.4\n".to_vec(),
    });
    let bytes = composition.build().expect("builds");
    let text = String::from_utf8(bytes.clone()).expect("ASCII message");
    assert!(
        text.contains("filename*=UTF-8''Jahres%C3%BCbersicht"),
        "{text}"
    );

    let message = parse(&bytes);
    let attachment = message.attachment(0).expect("attachment");
    assert_eq!(
        attachment.attachment_name(),
        Some("Jahresübersicht 2025.pdf")
    );
    assert_eq!(attachment.contents(), b"%PDF-1.4\n");
}

#[test]
fn html_alternative_follows_text() {
    let mut composition = composition();
    composition.html_body = Some("<p>Hallo</p>".to_owned());
    let bytes = composition.build().expect("builds");
    let message = parse(&bytes);
    assert_eq!(message.body_html(0).as_deref(), Some("<p>Hallo</p>"));
    // Line breaks travel as CRLF, as RFC 5322 requires.
    assert_eq!(
        message.body_text(0).as_deref(),
        Some("Hallo,\r\nbis bald.\r\n")
    );
    let content_type = message.content_type().expect("content type");
    assert_eq!(content_type.subtype(), Some("alternative"));
}

#[test]
fn header_set_is_exact() {
    let mut composition = composition();
    composition.bcc = vec![address("hidden@example.net")];
    composition.reply_to = vec![address("replies@example.com")];
    composition.in_reply_to = Some("orig.1@example.com".to_owned());
    composition.references = vec![
        "root@example.com".to_owned(),
        "orig.1@example.com".to_owned(),
    ];

    let bytes = composition.build().expect("builds");
    let mut names = header_names(&bytes);
    names.sort();
    assert_eq!(
        names,
        [
            "Bcc",
            "Cc",
            "Content-Transfer-Encoding",
            "Content-Type",
            "Date",
            "In-Reply-To",
            "MIME-Version",
            "Message-ID",
            "References",
            "Reply-To",
            "Subject",
            "To"
        ]
    );
    let message = parse(&bytes);
    assert_eq!(message.in_reply_to().as_text(), Some("orig.1@example.com"));
    let references: Vec<&str> = message
        .references()
        .as_text_list()
        .expect("references")
        .iter()
        .map(|id| id.as_ref())
        .collect();
    assert_eq!(references, ["root@example.com", "orig.1@example.com"]);
}

#[test]
fn control_characters_rejected_in_every_header_field() {
    type Change = Box<dyn Fn(&mut Composition)>;
    let cases: Vec<(&str, Change)> = vec![
        (
            "subject",
            Box::new(|c| c.subject = "Hi\r\nBcc: eve@example.com".into()),
        ),
        (
            "to[0]",
            Box::new(|c| c.to[0].name = Some("Ann\nX-Evil: 1".into())),
        ),
        (
            "cc[0]",
            Box::new(|c| c.cc[0].address = "cc@example.org\r\n".into()),
        ),
        (
            "reply_to",
            Box::new(|c| {
                c.reply_to = vec![EmailAddress {
                    name: Some("R\u{7f}".into()),
                    address: "r@example.com".into(),
                }]
            }),
        ),
        (
            "attachments[0]",
            Box::new(|c| {
                c.attachments = vec![Attachment {
                    filename: "a\r\n.txt".into(),
                    mime_type: "text/plain".into(),
                    data: Vec::new(),
                }]
            }),
        ),
    ];
    for (field, change) in cases {
        let mut composition = composition();
        change(&mut composition);
        let error = composition.build().unwrap_err();
        assert!(
            matches!(&error, ComposeError::ControlCharacter { field: named, .. } if named == field),
            "{field}: {error:?}"
        );
    }
}

#[test]
fn bad_message_ids_and_types_rejected() {
    let mut with_id = composition();
    with_id.in_reply_to = Some("a b@example.com".into());
    assert!(matches!(
        with_id.build(),
        Err(ComposeError::InvalidMessageId { .. })
    ));

    let mut with_type = composition();
    with_type.attachments = vec![Attachment {
        filename: "a.txt".into(),
        mime_type: "text/plain\r\nX: y".into(),
        data: Vec::new(),
    }];
    assert!(matches!(
        with_type.build(),
        Err(ComposeError::ControlCharacter { .. } | ComposeError::InvalidMimeType { .. })
    ));
}

#[test]
fn oversized_message_rejected() {
    let mut composition = composition();
    // 19 MiB grows past 25 MiB once base64-encoded.
    composition.attachments = vec![Attachment {
        filename: "big.bin".into(),
        mime_type: "application/octet-stream".into(),
        data: vec![0xA5; 19 * 1024 * 1024],
    }];
    let error = composition.build().unwrap_err();
    assert!(matches!(error, ComposeError::TooLarge { .. }), "{error:?}");
}

#[test]
fn message_id_values_checked() {
    assert_eq!(message_id_value("<a.b@x>").as_deref(), Some("a.b@x"));
    assert_eq!(message_id_value(" a@x ").as_deref(), Some("a@x"));
    assert_eq!(message_id_value("<>"), None);
    assert_eq!(message_id_value("<a b@x>"), None);
    assert_eq!(message_id_value("<a@x>\r\nX: y"), None);
}

#[test]
fn subject_prefix_added_once() {
    let re = |subject| prefixed_subject("Re:", &["re:"], subject);
    assert_eq!(re("Lunch"), "Re: Lunch");
    assert_eq!(re("Re: Lunch"), "Re: Lunch");
    assert_eq!(re("RE: Lunch"), "RE: Lunch");
    assert_eq!(re("re: Lunch"), "re: Lunch");
    assert_eq!(re(""), "Re:");
    let fwd = |subject| prefixed_subject("Fwd:", &["fwd:", "fw:"], subject);
    assert_eq!(fwd("Report"), "Fwd: Report");
    assert_eq!(fwd("FW: Report"), "FW: Report");
}

#[test]
fn mime_types_checked_and_guessed() {
    assert!(check_mime_type("m", "application/pdf").is_ok());
    assert!(check_mime_type("m", "application/vnd.ms-excel").is_ok());
    assert!(check_mime_type("m", "pdf").is_err());
    assert!(check_mime_type("m", "a/b; name=x").is_err());
    assert_eq!(mime_type_for("Report.PDF"), "application/pdf");
    assert_eq!(mime_type_for("noext"), "application/octet-stream");
}

#[test]
fn encoded_word_lookalikes_read_back_as_typed() {
    let spoof = "=?UTF-8?B?U3Bvb2ZlZA==?=";
    let fake_name = "=?UTF-8?B?Ym9zc0Bjb3JwLmV4YW1wbGU=?=";
    let mut composition = composition();
    composition.subject = format!("Re: {spoof} and a long tail of words that must fold: Grüße");
    composition.to = vec![
        address(&format!("{fake_name} <x@example.org>")),
        address("Lee, Ann <ann@example.org>"),
        address("plain@example.org"),
    ];

    let bytes = composition.build().expect("builds");
    let text = String::from_utf8(bytes.clone()).expect("ASCII message");
    assert!(!text.contains(spoof), "{text}");
    assert!(!text.contains(fake_name), "{text}");
    for line in text.split("\r\n\r\n").next().unwrap().split("\r\n") {
        assert!(line.len() <= 78, "{line:?}");
    }

    let message = parse(&bytes);
    assert_eq!(message.subject(), Some(composition.subject.as_str()));
    let to: Vec<_> = message.to().expect("to").iter().collect();
    assert_eq!(to.len(), 3);
    assert_eq!(to[0].name(), Some(fake_name));
    assert_eq!(to[0].address(), Some("x@example.org"));
    assert_eq!(to[1].name(), Some("Lee, Ann"));
    assert_eq!(to[1].address(), Some("ann@example.org"));
    assert_eq!(to[2].name(), None);
    assert_eq!(to[2].address(), Some("plain@example.org"));
}

#[test]
fn encoded_word_detection() {
    assert!(looks_encoded("=?UTF-8?B?U3Bvb2ZlZA==?="));
    assert!(looks_encoded("x =?a?q?b?= y"));
    assert!(!looks_encoded("a=?b"));
    assert!(!looks_encoded("?= before =?"));
    assert!(!looks_encoded("plain text"));
}

#[test]
fn bidi_controls_rejected_in_file_names() {
    let controls = ('\u{202a}'..='\u{202e}').chain('\u{2066}'..='\u{2069}');
    for control in controls {
        let mut composition = composition();
        composition.attachments = vec![Attachment {
            filename: format!("invoice{control}txt.exe"),
            mime_type: "application/octet-stream".into(),
            data: Vec::new(),
        }];

        let error = composition.build().unwrap_err();

        assert_eq!(
            error,
            ComposeError::BidiControl {
                field: "attachments[0]".into(),
                character: control,
            }
        );
        assert!(error.to_string().contains("rename the file"), "{error}");
    }
}

#[test]
fn bidi_controls_allowed_in_subject_and_names() {
    let mut composition = composition();
    composition.subject = "\u{202b}שלום\u{202c} and \u{2067}עולם\u{2069}".into();
    composition.to[0].name = Some("\u{202e}Ann".into());

    let bytes = composition.build().expect("builds");

    let message = parse(&bytes);
    assert_eq!(message.subject(), Some(composition.subject.as_str()));
}

#[test]
fn message_id_uses_sender_domain() {
    let mut composition = composition();
    composition.message_id_domain = Some("mail.example.org".into());

    let first = parse(&composition.build().expect("builds"))
        .message_id()
        .map(str::to_owned);
    let second = parse(&composition.build().expect("builds"))
        .message_id()
        .map(str::to_owned);

    let first = first.expect("a Message-ID");
    assert!(first.ends_with("@mail.example.org"), "{first}");
    assert_ne!(Some(first), second, "each message gets its own id");
}

#[test]
fn invalid_message_id_domain_rejected() {
    let mut composition = composition();
    composition.message_id_domain = Some("bad domain>".into());

    let error = composition.build().unwrap_err();

    assert!(
        matches!(&error, ComposeError::InvalidMessageId { field, .. } if field == "message_id_domain"),
        "{error:?}"
    );
}

#[test]
fn domain_of_reads_valid_addresses() {
    assert_eq!(domain_of("Ann@Example.COM").as_deref(), Some("example.com"));
    assert_eq!(domain_of("no-at-sign"), None);
    assert_eq!(domain_of("ann@localhost"), None);
}

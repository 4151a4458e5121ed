//! Contract tests of the Gmail client's write calls against a wiremock stand-in for
//! Google.
//!
//! Every mock matches the HTTP method, the exact path, the exact query (none), the
//! `Authorization`, `Accept` and `Content-Type` headers and the exact JSON body, so a
//! request that drifts from Google's API gets wiremock's 404 and fails the test. The last
//! test checks the recorded requests against Google's Gmail v1 discovery document.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use url::Url;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Match, Mock, MockBuilder, MockServer, Request, ResponseTemplate};

use mcp_google_hub::domain::errors::GoogleApiError;
use mcp_google_hub::domain::mail_compose::{Composition, EmailAddress};
use mcp_google_hub::domain::mail_content::{decode_base64url, encode_base64url};
use mcp_google_hub::domain::models::gmail::{
    DraftListQuery, LabelChanges, MessageFormat, NewLabel, OutgoingMessage,
};
use mcp_google_hub::domain::models::{AccessToken, DraftId, MessageId, ThreadId};
use mcp_google_hub::domain::ports::GmailApi;
use mcp_google_hub::outbound::google::{GmailClient, GoogleEndpoints};
use mcp_google_hub::outbound::http::{HttpSettings, build_client};
use mcp_google_hub::outbound::retry::RetryPolicy;

const TOKEN: &str = "ya29.write-contract-token";

/// Matches a request whose URL has no query string at all.
#[derive(Debug)]
struct NoQuery;

impl Match for NoQuery {
    fn matches(&self, request: &Request) -> bool {
        request.url.query().is_none()
    }
}

/// Matches a request whose query parameters are exactly these pairs, in any order.
#[derive(Debug)]
struct QueryIs(Vec<(String, String)>);

impl Match for QueryIs {
    fn matches(&self, request: &Request) -> bool {
        let mut actual: Vec<(String, String)> = request
            .url
            .query_pairs()
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        let mut expected = self.0.clone();
        actual.sort();
        expected.sort();
        actual == expected
    }
}

/// Matches a request without a body.
#[derive(Debug)]
struct EmptyBody;

impl Match for EmptyBody {
    fn matches(&self, request: &Request) -> bool {
        request.body.is_empty()
    }
}

fn authorized(verb: &str, exact_path: &str) -> MockBuilder {
    Mock::given(method(verb))
        .and(path(exact_path))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("accept", "application/json"))
}

/// Starts a mock of an authorized write with this exact JSON body and no query.
fn google_write(verb: &str, exact_path: &str, body: Value) -> MockBuilder {
    authorized(verb, exact_path)
        .and(NoQuery)
        .and(header("content-type", "application/json"))
        .and(body_json(body))
}

fn token() -> AccessToken {
    AccessToken::new(TOKEN)
}

/// Builds a client that retries quickly, so the retry tests stay fast.
fn gmail(server: &MockServer) -> GmailClient {
    let http = build_client(&HttpSettings::default()).expect("the HTTP client builds");
    let endpoints = GoogleEndpoints::with_root(Url::parse(&server.uri()).unwrap());
    GmailClient::new(http, &endpoints).with_retry_policy(RetryPolicy {
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        ..RetryPolicy::DEFAULT
    })
}

/// Builds a small message the way the tools build one.
fn outgoing(thread_id: Option<&str>) -> OutgoingMessage {
    let composition = Composition {
        to: vec![EmailAddress::parse("to[0]", "Zoë <zoe@example.com>").unwrap()],
        subject: "Grüße".to_owned(),
        text_body: "Hallo".to_owned(),
        ..Composition::default()
    };
    OutgoingMessage {
        raw: composition.build().unwrap(),
        thread_id: thread_id.map(|id| ThreadId::new(id).unwrap()),
    }
}

fn message_json(id: &str, labels: &[&str]) -> Value {
    json!({ "id": id, "threadId": "t1", "labelIds": labels })
}

/// Decodes the base64url `raw` of a recorded request body.
fn decoded_raw(raw: &Value) -> String {
    let raw = raw.as_str().expect("raw is a string");
    assert!(
        !raw.contains(['+', '/', '=']),
        "raw must be unpadded base64url: {raw}"
    );
    String::from_utf8(decode_base64url(raw).unwrap()).unwrap()
}

#[cfg(feature = "gmail-send")]
#[tokio::test]
async fn send_message_posts_raw_and_thread() {
    let server = MockServer::start().await;
    let message = outgoing(Some("t1"));
    let body = json!({ "raw": encode_base64url(&message.raw), "threadId": "t1" });
    google_write("POST", "/gmail/v1/users/me/messages/send", body)
        .respond_with(ResponseTemplate::new(200).set_body_json(message_json("m1", &["SENT"])))
        .expect(1)
        .mount(&server)
        .await;

    let sent = gmail(&server)
        .send_message(&token(), &message)
        .await
        .unwrap();

    assert_eq!(sent.id, "m1");
    assert_eq!(sent.label_ids, ["SENT"]);
    let requests = server.received_requests().await.unwrap();
    let recorded: Value = serde_json::from_slice(&requests[0].body).unwrap();
    let mime = decoded_raw(&recorded["raw"]);
    assert!(mime.contains("Subject: =?utf-8?"), "{mime}");
    assert!(mime.contains("<zoe@example.com>"), "{mime}");
    assert!(mime.contains("\r\n\r\n"), "{mime}");
}

#[cfg(feature = "gmail-send")]
#[tokio::test]
async fn send_is_not_retried_after_server_error() {
    let server = MockServer::start().await;
    authorized("POST", "/gmail/v1/users/me/messages/send")
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;

    let error = gmail(&server)
        .send_message(&token(), &outgoing(None))
        .await
        .unwrap_err();

    assert!(
        matches!(error, GoogleApiError::Unavailable { .. }),
        "{error:?}"
    );
}

#[cfg(feature = "gmail-send")]
#[tokio::test]
async fn send_is_retried_after_rate_limit() {
    let server = MockServer::start().await;
    authorized("POST", "/gmail/v1/users/me/messages/send")
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    authorized("POST", "/gmail/v1/users/me/messages/send")
        .respond_with(ResponseTemplate::new(200).set_body_json(message_json("m1", &["SENT"])))
        .mount(&server)
        .await;

    let sent = gmail(&server).send_message(&token(), &outgoing(None)).await;

    assert_eq!(sent.unwrap().id, "m1");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[cfg(feature = "gmail-send")]
#[tokio::test]
async fn send_draft_posts_id() {
    let server = MockServer::start().await;
    google_write(
        "POST",
        "/gmail/v1/users/me/drafts/send",
        json!({ "id": "r123" }),
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(message_json("m2", &["SENT"])))
    .expect(1)
    .mount(&server)
    .await;

    let sent = gmail(&server)
        .send_draft(&token(), &DraftId::new("r123").unwrap())
        .await
        .unwrap();

    assert_eq!(sent.id, "m2");
}

#[cfg(feature = "gmail-send")]
#[tokio::test]
async fn send_draft_is_not_retried_after_timeout() {
    let server = MockServer::start().await;
    authorized("POST", "/gmail/v1/users/me/drafts/send")
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(message_json("m2", &["SENT"]))
                .set_delay(Duration::from_secs(2)),
        )
        .mount(&server)
        .await;
    let http = build_client(&HttpSettings {
        timeout: Duration::from_millis(200),
        ..HttpSettings::default()
    })
    .unwrap();
    let client = GmailClient::new(
        http,
        &GoogleEndpoints::with_root(Url::parse(&server.uri()).unwrap()),
    );

    let error = client
        .send_draft(&token(), &DraftId::new("r123").unwrap())
        .await
        .unwrap_err();

    assert!(
        matches!(error, GoogleApiError::Unavailable { .. }),
        "{error:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

/// Without `gmail-send` the adapter has no code that sends: both calls fail before any
/// request, with an error that names the missing feature.
#[cfg(not(feature = "gmail-send"))]
#[tokio::test]
async fn build_without_gmail_send_refuses_to_send() {
    let server = MockServer::start().await;
    let client = gmail(&server);

    let sent = client.send_message(&token(), &outgoing(None)).await;
    let draft_sent = client
        .send_draft(&token(), &DraftId::new("r1").unwrap())
        .await;

    for result in [sent.map(drop), draft_sent.map(drop)] {
        let error = result.unwrap_err();
        assert!(
            matches!(&error, GoogleApiError::NotSupported { message } if message.contains("gmail-send")),
            "{error:?}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn create_draft_posts_message() {
    let server = MockServer::start().await;
    let message = outgoing(None);
    let body = json!({ "message": { "raw": encode_base64url(&message.raw) } });
    google_write("POST", "/gmail/v1/users/me/drafts", body)
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "r1", "message": message_json("m1", &["DRAFT"]) })),
        )
        .expect(1)
        .mount(&server)
        .await;

    let draft = gmail(&server)
        .create_draft(&token(), &message)
        .await
        .unwrap();

    assert_eq!(draft.id, "r1");
    assert_eq!(draft.message.unwrap().label_ids, ["DRAFT"]);
    let requests = server.received_requests().await.unwrap();
    let recorded: Value = serde_json::from_slice(&requests[0].body).unwrap();
    let mime = decoded_raw(&recorded["message"]["raw"]);
    assert!(mime.starts_with("To: "), "{mime}");
    assert!(mime.contains("\r\nSubject: =?utf-8?"), "{mime}");
    assert!(mime.contains("\r\n\r\nHallo"), "{mime}");
}

#[tokio::test]
async fn create_draft_is_not_retried_after_server_error() {
    let server = MockServer::start().await;
    authorized("POST", "/gmail/v1/users/me/drafts")
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;

    let error = gmail(&server)
        .create_draft(&token(), &outgoing(None))
        .await
        .unwrap_err();

    assert!(
        matches!(error, GoogleApiError::Unavailable { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn update_draft_puts_id_and_message() {
    let server = MockServer::start().await;
    let message = outgoing(Some("t9"));
    let body = json!({
        "id": "r1",
        "message": { "raw": encode_base64url(&message.raw), "threadId": "t9" }
    });
    google_write("PUT", "/gmail/v1/users/me/drafts/r1", body)
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "r1", "message": message_json("m5", &["DRAFT"]) })),
        )
        .expect(1)
        .mount(&server)
        .await;

    let draft = gmail(&server)
        .update_draft(&token(), &DraftId::new("r1").unwrap(), &message)
        .await
        .unwrap();

    assert_eq!(draft.message.unwrap().id, "m5");
}

#[tokio::test]
async fn list_drafts_sends_every_parameter() {
    let server = MockServer::start().await;
    authorized("GET", "/gmail/v1/users/me/drafts")
        .and(QueryIs(vec![
            ("q".into(), "to:ann".into()),
            ("maxResults".into(), "5".into()),
            ("pageToken".into(), "p2".into()),
            ("includeSpamTrash".into(), "true".into()),
        ]))
        .and(EmptyBody)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "drafts": [{ "id": "r1", "message": { "id": "m1", "threadId": "t1" } }],
            "nextPageToken": "p3",
            "resultSizeEstimate": 7
        })))
        .expect(1)
        .mount(&server)
        .await;

    let query = DraftListQuery {
        query: Some("to:ann".to_owned()),
        max_results: 5,
        page_token: Some("p2".to_owned()),
        include_spam_trash: true,
    };
    let page = gmail(&server).list_drafts(&token(), &query).await.unwrap();

    assert_eq!(page.drafts[0].id, "r1");
    assert_eq!(page.next_page_token.as_deref(), Some("p3"));
    assert_eq!(page.result_size_estimate, Some(7));
}

#[tokio::test]
async fn list_drafts_omits_unset_parameters() {
    let server = MockServer::start().await;
    authorized("GET", "/gmail/v1/users/me/drafts")
        .and(NoQuery)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;

    let page = gmail(&server)
        .list_drafts(&token(), &DraftListQuery::default())
        .await
        .unwrap();

    assert!(page.drafts.is_empty());
}

#[tokio::test]
async fn get_draft_asks_for_metadata() {
    let server = MockServer::start().await;
    authorized("GET", "/gmail/v1/users/me/drafts/r1")
        .and(QueryIs(vec![("format".into(), "metadata".into())]))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "r1",
            "message": {
                "id": "m1", "threadId": "t1", "labelIds": ["DRAFT"],
                "payload": { "headers": [{ "name": "To", "value": "ann@example.com" }] }
            }
        })))
        .expect(1)
        .mount(&server)
        .await;

    let draft = gmail(&server)
        .get_draft(
            &token(),
            &DraftId::new("r1").unwrap(),
            &MessageFormat::Metadata(Vec::new()),
        )
        .await
        .unwrap();

    assert_eq!(draft.message.unwrap().header("To"), Some("ann@example.com"));
}

#[tokio::test]
async fn get_draft_full_asks_for_full() {
    let server = MockServer::start().await;
    authorized("GET", "/gmail/v1/users/me/drafts/r1")
        .and(QueryIs(vec![("format".into(), "full".into())]))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "r1",
            "message": {
                "id": "m1", "threadId": "t1", "labelIds": ["DRAFT"],
                "payload": {
                    "mimeType": "text/plain",
                    "headers": [{ "name": "In-Reply-To", "value": "<a@example.com>" }],
                    "body": { "size": 2, "data": "aGk" }
                }
            }
        })))
        .expect(1)
        .mount(&server)
        .await;

    let draft = gmail(&server)
        .get_draft(&token(), &DraftId::new("r1").unwrap(), &MessageFormat::Full)
        .await
        .unwrap();

    let message = draft.message.unwrap();
    assert_eq!(message.header("In-Reply-To"), Some("<a@example.com>"));
    let body = message.payload.unwrap().body.unwrap();
    assert_eq!(body.data.as_deref(), Some("aGk"));
}

#[tokio::test]
async fn delete_draft_reads_empty_response() {
    let server = MockServer::start().await;
    authorized("DELETE", "/gmail/v1/users/me/drafts/r1")
        .and(NoQuery)
        .and(EmptyBody)
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    gmail(&server)
        .delete_draft(&token(), &DraftId::new("r1").unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn modify_message_posts_label_changes() {
    let server = MockServer::start().await;
    let body = json!({ "addLabelIds": ["STARRED", "Label_3"], "removeLabelIds": ["UNREAD"] });
    google_write("POST", "/gmail/v1/users/me/messages/m1/modify", body)
        .respond_with(
            ResponseTemplate::new(200).set_body_json(message_json("m1", &["STARRED", "Label_3"])),
        )
        .expect(1)
        .mount(&server)
        .await;

    let changes = LabelChanges {
        add_label_ids: vec!["STARRED".to_owned(), "Label_3".to_owned()],
        remove_label_ids: vec!["UNREAD".to_owned()],
    };
    let message = gmail(&server)
        .modify_message(&token(), &MessageId::new("m1").unwrap(), &changes)
        .await
        .unwrap();

    assert_eq!(message.label_ids, ["STARRED", "Label_3"]);
}

#[tokio::test]
async fn modify_omits_empty_lists() {
    let server = MockServer::start().await;
    google_write(
        "POST",
        "/gmail/v1/users/me/messages/m1/modify",
        json!({ "removeLabelIds": ["INBOX"] }),
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(message_json("m1", &[])))
    .expect(1)
    .mount(&server)
    .await;

    let changes = LabelChanges {
        add_label_ids: Vec::new(),
        remove_label_ids: vec!["INBOX".to_owned()],
    };
    gmail(&server)
        .modify_message(&token(), &MessageId::new("m1").unwrap(), &changes)
        .await
        .unwrap();
}

#[tokio::test]
async fn batch_modify_posts_ids_and_changes() {
    let server = MockServer::start().await;
    let body = json!({
        "ids": ["m1", "m2"],
        "addLabelIds": ["Label_1"],
        "removeLabelIds": ["INBOX"]
    });
    google_write("POST", "/gmail/v1/users/me/messages/batchModify", body)
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    let changes = LabelChanges {
        add_label_ids: vec!["Label_1".to_owned()],
        remove_label_ids: vec!["INBOX".to_owned()],
    };
    let ids = [MessageId::new("m1").unwrap(), MessageId::new("m2").unwrap()];
    gmail(&server)
        .batch_modify_messages(&token(), &ids, &changes)
        .await
        .unwrap();
}

#[tokio::test]
async fn trash_and_untrash_post_without_body() {
    let server = MockServer::start().await;
    for (action, labels) in [("trash", vec!["TRASH"]), ("untrash", vec!["INBOX"])] {
        authorized("POST", &format!("/gmail/v1/users/me/messages/m1/{action}"))
            .and(NoQuery)
            .and(EmptyBody)
            .respond_with(ResponseTemplate::new(200).set_body_json(message_json("m1", &labels)))
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = gmail(&server);
    let id = MessageId::new("m1").unwrap();

    let trashed = client.trash_message(&token(), &id).await.unwrap();
    let restored = client.untrash_message(&token(), &id).await.unwrap();

    assert_eq!(trashed.label_ids, ["TRASH"]);
    assert_eq!(restored.label_ids, ["INBOX"]);
}

#[tokio::test]
async fn create_label_posts_name() {
    let server = MockServer::start().await;
    google_write(
        "POST",
        "/gmail/v1/users/me/labels",
        json!({ "name": "Projects/Hub", "labelListVisibility": "labelShow" }),
    )
    .respond_with(ResponseTemplate::new(200).set_body_json(json!({
        "id": "Label_9", "name": "Projects/Hub", "type": "user"
    })))
    .expect(1)
    .mount(&server)
    .await;

    let label = NewLabel {
        name: "Projects/Hub".to_owned(),
        label_list_visibility: Some("labelShow".to_owned()),
        message_list_visibility: None,
    };
    let created = gmail(&server).create_label(&token(), &label).await.unwrap();

    assert_eq!(created.id, "Label_9");
}

#[tokio::test]
async fn duplicate_label_is_conflict() {
    let server = MockServer::start().await;
    authorized("POST", "/gmail/v1/users/me/labels")
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({
            "error": {
                "code": 409,
                "message": "Label name exists or conflicts",
                "status": "ALREADY_EXISTS",
                "errors": [{ "message": "Label name exists or conflicts", "domain": "global", "reason": "duplicate" }]
            }
        })))
        .expect(1)
        .mount(&server)
        .await;

    let label = NewLabel {
        name: "Receipts".to_owned(),
        ..NewLabel::default()
    };
    let error = gmail(&server)
        .create_label(&token(), &label)
        .await
        .unwrap_err();

    assert_eq!(
        error,
        GoogleApiError::InvalidRequest {
            status: 409,
            reason: Some("duplicate".to_owned()),
            message: "Label name exists or conflicts".to_owned(),
        }
    );
}

#[tokio::test]
async fn get_profile_reads_address() {
    let server = MockServer::start().await;
    authorized("GET", "/gmail/v1/users/me/profile")
        .and(NoQuery)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "emailAddress": "me@example.com",
            "messagesTotal": 12,
            "threadsTotal": 9,
            "historyId": "4242"
        })))
        .expect(1)
        .mount(&server)
        .await;

    let profile = gmail(&server).get_profile(&token()).await.unwrap();

    assert_eq!(profile.email_address, "me@example.com");
    assert_eq!(profile.messages_total, Some(12));
}

/// Makes every write call, then checks each recorded request against the discovery
/// document: the path and HTTP method must match one Gmail method, and every top-level
/// key of the JSON body must be a property of that method's request schema.
#[tokio::test]
async fn writes_match_discovery_document() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "id": "x", "emailAddress": "me@example.com", "name": "n" })),
        )
        .mount(&server)
        .await;
    let client = gmail(&server);
    let id = MessageId::new("m1").unwrap();
    let draft = DraftId::new("r1").unwrap();
    let changes = LabelChanges {
        add_label_ids: vec!["STARRED".to_owned()],
        remove_label_ids: vec!["UNREAD".to_owned()],
    };
    let message = outgoing(Some("t1"));

    client.get_profile(&token()).await.unwrap();
    client.create_draft(&token(), &message).await.unwrap();
    client
        .update_draft(&token(), &draft, &message)
        .await
        .unwrap();
    client
        .get_draft(&token(), &draft, &MessageFormat::Full)
        .await
        .unwrap();
    client
        .list_drafts(
            &token(),
            &DraftListQuery {
                query: Some("x".into()),
                max_results: 3,
                page_token: Some("p".into()),
                include_spam_trash: true,
            },
        )
        .await
        .unwrap();
    client
        .modify_message(&token(), &id, &changes)
        .await
        .unwrap();
    client
        .batch_modify_messages(&token(), std::slice::from_ref(&id), &changes)
        .await
        .unwrap();
    client.trash_message(&token(), &id).await.unwrap();
    client.untrash_message(&token(), &id).await.unwrap();
    client
        .create_label(
            &token(),
            &NewLabel {
                name: "n".into(),
                label_list_visibility: Some("labelShow".into()),
                message_list_visibility: Some("show".into()),
            },
        )
        .await
        .unwrap();
    #[cfg(feature = "gmail-send")]
    {
        client.send_message(&token(), &message).await.unwrap();
        client.send_draft(&token(), &draft).await.unwrap();
    }

    let document = discovery();
    let mut seen = BTreeSet::new();
    for request in server.received_requests().await.unwrap() {
        let segments: Vec<&str> = request
            .url
            .path()
            .trim_start_matches('/')
            .split('/')
            .collect();
        let (id, schema) = match_method(&document, request.method.as_str(), &segments)
            .unwrap_or_else(|| {
                panic!("{} {} matches no Gmail method", request.method, request.url)
            });
        seen.insert(id.clone());

        for (name, _) in request.url.query_pairs() {
            let parameters = &method_by_id(&document, &id)["parameters"];
            assert_eq!(
                parameters[name.as_ref()]["location"],
                "query",
                "{id} has no query parameter {name}"
            );
        }
        if request.body.is_empty() {
            continue;
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let schema = schema.unwrap_or_else(|| panic!("{id} takes no request body"));
        for key in body.as_object().unwrap().keys() {
            assert!(
                document["schemas"][&schema]["properties"]
                    .get(key)
                    .is_some(),
                "{id}: {key} is not a property of {schema}"
            );
        }
        if let Some(message) = body.get("message") {
            for key in message.as_object().unwrap().keys() {
                assert!(
                    document["schemas"]["Message"]["properties"]
                        .get(key)
                        .is_some(),
                    "{id}: message.{key} is not a property of Message"
                );
            }
        }
    }

    let mut expected = vec![
        "gmail.users.getProfile",
        "gmail.users.drafts.create",
        "gmail.users.drafts.update",
        "gmail.users.drafts.get",
        "gmail.users.drafts.list",
        "gmail.users.messages.modify",
        "gmail.users.messages.batchModify",
        "gmail.users.messages.trash",
        "gmail.users.messages.untrash",
        "gmail.users.labels.create",
    ];
    if cfg!(feature = "gmail-send") {
        expected.extend(["gmail.users.messages.send", "gmail.users.drafts.send"]);
    }
    let expected: BTreeSet<String> = expected.into_iter().map(str::to_owned).collect();
    assert_eq!(seen, expected);
}

fn discovery() -> Value {
    let location = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/google-discovery/gmail.v1.json"
    );
    let text = std::fs::read_to_string(location).expect("the Gmail discovery document");
    serde_json::from_str(&text).unwrap()
}

fn all_methods(resources: &Value, out: &mut Vec<Value>) {
    let Some(resources) = resources.as_object() else {
        return;
    };
    for resource in resources.values() {
        if let Some(methods) = resource["methods"].as_object() {
            out.extend(methods.values().cloned());
        }
        all_methods(&resource["resources"], out);
    }
}

fn methods(document: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    all_methods(&document["resources"], &mut out);
    out
}

fn method_by_id(document: &Value, id: &str) -> Value {
    methods(document)
        .into_iter()
        .find(|method| method["id"] == id)
        .unwrap()
}

/// Finds the method with this HTTP method whose path template matches `segments`. A
/// literal segment wins over a `{name}` one, as `messages/batchModify` over
/// `messages/{id}`. Returns its id and the name of its request schema.
fn match_method(
    document: &Value,
    verb: &str,
    segments: &[&str],
) -> Option<(String, Option<String>)> {
    let mut candidates: Vec<(usize, Value)> = methods(document)
        .into_iter()
        .filter(|method| method["httpMethod"] == verb)
        .filter_map(|method| {
            let template: Vec<String> = method["path"]
                .as_str()?
                .split('/')
                .map(str::to_owned)
                .collect();
            let matches = template.len() == segments.len()
                && template.iter().zip(segments).all(|(part, segment)| {
                    (part.starts_with('{') && part.ends_with('}')) || part == segment
                });
            let literals = template
                .iter()
                .filter(|part| !part.starts_with('{'))
                .count();
            matches.then_some((literals, method))
        })
        .collect();
    candidates.sort_by_key(|(literals, _)| std::cmp::Reverse(*literals));
    candidates.into_iter().next().map(|(_, method)| {
        (
            method["id"].as_str().unwrap().to_owned(),
            method["request"]["$ref"].as_str().map(str::to_owned),
        )
    })
}

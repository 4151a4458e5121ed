//! The sandbox's HTTP API, exercised with a plain HTTP client over the built-in mailbox and
//! over the corpus of real emails, with response shapes checked against Google's Gmail v1
//! discovery document.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use mcp_google_hub::domain::mail_content::{decode_base64url, extract};
use mcp_google_hub::domain::models::gmail::{Message, MessagePart};
use mcp_google_hub::outbound::http::{HttpSettings, build_client};
use mcp_google_hub::sandbox::{Sandbox, SandboxError, SandboxOptions};
use reqwest::StatusCode;
use serde_json::Value;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/eml");
const GMAIL_DISCOVERY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/google-discovery/gmail.v1.json"
);

/// A client for one sandbox, holding a Google token issued by its OMA endpoint.
struct Api {
    client: reqwest::Client,
    base: url::Url,
    google_token: String,
}

impl Api {
    async fn new(sandbox: &Sandbox) -> Self {
        let client = build_client(&HttpSettings::default()).expect("client");
        let base = sandbox.base_url();
        let response = client
            .get(base.join("api/v1/google/credentials").expect("url"))
            .bearer_auth(sandbox.oma_access_token())
            .send()
            .await
            .expect("credentials request");
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("credentials json");
        let google_token = body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned();
        Self {
            client,
            base,
            google_token,
        }
    }

    /// Sends a GET with the Google token and returns the status and JSON body.
    async fn get(&self, path_and_query: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(self.base.join(path_and_query).expect("url"))
            .bearer_auth(&self.google_token)
            .send()
            .await
            .expect("request");
        let status = response.status();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    async fn get_ok(&self, path_and_query: &str) -> Value {
        let (status, body) = self.get(path_and_query).await;
        assert_eq!(status, StatusCode::OK, "{path_and_query}: {body}");
        body
    }

    /// Lists every message id matching `query` (URL-encoded by the caller), page by page.
    async fn list_all(&self, query: &str, page_size: u32) -> Vec<String> {
        let mut ids = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut path = format!("gmail/v1/users/me/messages?maxResults={page_size}&{query}");
            if let Some(token) = &page_token {
                path.push_str(&format!("&pageToken={token}"));
            }
            let body = self.get_ok(&path).await;
            check_shape(&body, "ListMessagesResponse");
            for message in body["messages"].as_array().into_iter().flatten() {
                ids.push(message["id"].as_str().expect("id").to_owned());
            }
            match body["nextPageToken"].as_str() {
                Some(token) => page_token = Some(token.to_owned()),
                None => break,
            }
        }
        ids
    }

    async fn message(&self, id: &str) -> Message {
        serde_json::from_value(
            self.get_ok(&format!("gmail/v1/users/me/messages/{id}"))
                .await,
        )
        .expect("message")
    }
}

async fn builtin() -> Sandbox {
    Sandbox::start(SandboxOptions::default())
        .await
        .expect("builtin sandbox")
}

async fn corpus() -> Sandbox {
    let options = SandboxOptions {
        mail_dir: Some(PathBuf::from(CORPUS)),
        ..SandboxOptions::default()
    };
    Sandbox::start(options).await.expect("corpus sandbox")
}

fn eml_files() -> usize {
    fn walk(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .expect("corpus dir")
            .flatten()
            .map(|entry| {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path)
                } else {
                    usize::from(path.extension().is_some_and(|extension| extension == "eml"))
                }
            })
            .sum()
    }
    walk(std::path::Path::new(CORPUS))
}

/// Checks that every key of `value` is a property of the discovery schema `schema`,
/// recursing through `$ref` properties and arrays of them.
fn check_shape(value: &Value, schema: &str) {
    thread_local! {
        static SCHEMAS: Value = {
            let text = std::fs::read_to_string(GMAIL_DISCOVERY).expect("discovery document");
            let discovery: Value = serde_json::from_str(&text).expect("discovery json");
            discovery["schemas"].clone()
        };
    }
    SCHEMAS.with(|schemas| check_against(schemas, value, schema));
}

fn check_against(schemas: &Value, value: &Value, schema: &str) {
    let properties = schemas[schema]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("no schema {schema}"));
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("{schema} is not an object: {value}"));
    for (key, child) in object {
        let property = properties
            .get(key)
            .unwrap_or_else(|| panic!("{schema} has no property {key:?}"));
        if let Some(reference) = property["$ref"].as_str() {
            check_against(schemas, child, reference);
        } else if let Some(reference) = property["items"]["$ref"].as_str() {
            for item in child
                .as_array()
                .unwrap_or_else(|| panic!("{schema}.{key} is not an array"))
            {
                check_against(schemas, item, reference);
            }
        } else if property["type"] == "string" {
            assert!(
                child.is_string(),
                "{schema}.{key} must be a string: {child}"
            );
        }
    }
}

fn walk_parts<'a>(part: &'a MessagePart, out: &mut Vec<&'a MessagePart>) {
    out.push(part);
    for child in &part.parts {
        walk_parts(child, out);
    }
}

#[tokio::test]
async fn oma_credentials_require_jwt() {
    let sandbox = builtin().await;
    let client = build_client(&HttpSettings::default()).expect("client");
    let url = sandbox
        .base_url()
        .join("api/v1/google/credentials")
        .expect("url");

    let right = client
        .get(url.clone())
        .bearer_auth(sandbox.oma_access_token())
        .send()
        .await
        .expect("send");
    assert_eq!(right.status(), StatusCode::OK);
    let body: Value = right.json().await.expect("json");
    assert!(
        body["access_token"]
            .as_str()
            .is_some_and(|token| !token.is_empty())
    );
    assert_eq!(body["refresh_token"], Value::Null);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(
        chrono::DateTime::parse_from_rfc3339(body["expires_at"].as_str().expect("expires_at"))
            .is_ok()
    );
    assert_eq!(body["email"], sandbox.user_email());
    assert_eq!(body["scopes"].as_array().map(Vec::len), Some(2));

    let wrong = client
        .get(url.clone())
        .bearer_auth("a.b.c")
        .send()
        .await
        .expect("send");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let body: Value = wrong.json().await.expect("json");
    assert_eq!(
        body,
        serde_json::json!({ "detail": "Could not validate credentials" })
    );

    let missing = client.get(url).send().await.expect("send");
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(sandbox.oma_request_count(), 3);
    assert_eq!(sandbox.request_count(), 3);
}

#[tokio::test]
async fn oma_status_reports_connection() {
    let sandbox = builtin().await;
    let client = build_client(&HttpSettings::default()).expect("client");
    let url = sandbox
        .base_url()
        .join("api/v1/google/status")
        .expect("url");

    let body: Value = client
        .get(url.clone())
        .bearer_auth(sandbox.oma_access_token())
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(body["connected"], true);
    assert_eq!(body["email"], sandbox.user_email());
    assert!(body.get("access_token").is_none());

    let missing = client.get(url).send().await.expect("send");
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(sandbox.oma_request_count(), 0);
}

#[tokio::test]
async fn google_rejects_bogus_token() {
    let sandbox = builtin().await;
    let api = Api::new(&sandbox).await;
    let (status, _) = api.get("gmail/v1/users/me/labels").await;
    assert_eq!(status, StatusCode::OK);

    let response = api
        .client
        .get(api.base.join("gmail/v1/users/me/labels").expect("url"))
        .bearer_auth("ya29.bogus")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key("www-authenticate"));
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], 401);
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
    assert_eq!(body["error"]["errors"][0]["reason"], "authError");

    // The OMA JWT is not a Google token.
    let response = api
        .client
        .get(api.base.join("gmail/v1/users/me/labels").expect("url"))
        .bearer_auth(sandbox.oma_access_token())
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_issued_token_stays_valid() {
    let sandbox = builtin().await;
    let first = Api::new(&sandbox).await;
    let second = Api::new(&sandbox).await;
    assert_ne!(first.google_token, second.google_token);
    first.get_ok("gmail/v1/users/me/labels").await;
    second.get_ok("gmail/v1/users/me/labels").await;
}

#[tokio::test]
async fn errors_follow_google() {
    let sandbox = builtin().await;
    let api = Api::new(&sandbox).await;

    let (status, body) = api
        .get("gmail/v1/users/someone.else@example.com/messages")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["status"], "PERMISSION_DENIED");

    let own = format!("gmail/v1/users/{}/labels", sandbox.user_email());
    api.get_ok(&own).await;

    let (status, body) = api.get("gmail/v1/users/me/messages/ffffffffffffffff").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["errors"][0]["reason"], "notFound");

    let (status, _) = api.get("gmail/v1/users/me/messages/not-an-id").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, body) = api.get("gmail/v1/users/me/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], 404);

    let (status, _) = api
        .get("gmail/v1/users/me/messages?format=bogus&includeSpamTrash=maybe")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let first = api.get_ok("gmail/v1/users/me/messages?maxResults=2").await;
    let token = first["nextPageToken"].as_str().expect("next page");
    let (status, _) = api
        .get(&format!(
            "gmail/v1/users/me/messages?maxResults=2&q=launch&pageToken={token}"
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, body) = api
        .get("gmail/v1/users/me/messages/0123456789abcdef?format=raw")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    let response = api
        .client
        .delete(api.base.join("gmail/v1/users/me/labels").expect("url"))
        .bearer_auth(&api.google_token)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn calendar_ids_are_percent_decoded() {
    let sandbox = builtin().await;
    let api = Api::new(&sandbox).await;
    let (status, body) = api
        .get("calendar/v3/calendars/team%40example.com%23holidays/events")
        .await;
    assert_ne!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.is_object(), "{body}");
    assert!(!body.to_string().contains("%40"), "{body}");
}

#[tokio::test]
async fn paging_lists_each_message_once() {
    for sandbox in [builtin().await, corpus().await] {
        let api = Api::new(&sandbox).await;
        let ids = api.list_all("includeSpamTrash=true", 7).await;
        let unique: HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "a message was listed twice");
        assert_eq!(ids.len(), sandbox.message_count());

        let estimate = api
            .get_ok("gmail/v1/users/me/messages?includeSpamTrash=true&maxResults=1")
            .await;
        assert_eq!(
            estimate["resultSizeEstimate"].as_u64(),
            Some(sandbox.message_count() as u64)
        );
    }
}

#[tokio::test]
async fn list_is_newest_first() {
    let sandbox = corpus().await;
    let api = Api::new(&sandbox).await;
    let ids = api.list_all("includeSpamTrash=true", 500).await;
    let mut previous = i64::MAX;
    for id in ids {
        let date = api.message(&id).await.internal_date.expect("internalDate");
        assert!(date <= previous, "message {id} is out of order");
        previous = date;
    }
}

#[tokio::test]
async fn malformed_files_do_not_stop_loading() {
    let sandbox = corpus().await;
    assert!(sandbox.message_count() > 0);
    assert!(sandbox.message_count() <= eml_files());
}

#[tokio::test]
async fn every_format_serves_every_message() {
    let sandbox = corpus().await;
    let api = Api::new(&sandbox).await;
    for id in api.list_all("includeSpamTrash=true", 500).await {
        let full = api
            .get_ok(&format!("gmail/v1/users/me/messages/{id}?format=full"))
            .await;
        check_shape(&full, "Message");
        assert_eq!(full["id"], id.as_str());
        assert!(full["internalDate"].is_string());
        assert!(full["payload"]["partId"] == "");

        let metadata = api
            .get_ok(&format!("gmail/v1/users/me/messages/{id}?format=metadata&metadataHeaders=Subject&metadataHeaders=From"))
            .await;
        check_shape(&metadata, "Message");
        assert!(metadata["payload"].get("parts").is_none());
        assert!(metadata["payload"].get("body").is_none());
        for header in metadata["payload"]["headers"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let name = header["name"].as_str().expect("name").to_ascii_lowercase();
            assert!(
                name == "subject" || name == "from",
                "unexpected header {name}"
            );
        }

        let minimal = api
            .get_ok(&format!("gmail/v1/users/me/messages/{id}?format=minimal"))
            .await;
        check_shape(&minimal, "Message");
        assert!(minimal.get("payload").is_none());
        assert!(minimal["labelIds"].is_array() || minimal.get("labelIds").is_none());

        let raw = api
            .get_ok(&format!("gmail/v1/users/me/messages/{id}?format=raw"))
            .await;
        check_shape(&raw, "Message");
        let bytes = decode_base64url(raw["raw"].as_str().expect("raw")).expect("base64url");
        assert_eq!(Some(bytes.len() as u64), raw["sizeEstimate"].as_u64());
        assert!(raw.get("payload").is_none());
    }
}

#[tokio::test]
async fn corpus_payloads_extract_cleanly() {
    let sandbox = corpus().await;
    let api = Api::new(&sandbox).await;
    let mut empty = Vec::new();
    for id in api.list_all("includeSpamTrash=true", 500).await {
        let message = api.message(&id).await;
        let content = extract(message.payload.as_ref().expect("payload"));
        if content.body.trim().is_empty() && content.attachments.is_empty() {
            empty.push(id);
        }
    }
    // Some malformed inputs have neither text nor attachments; real mail always has one.
    assert!(
        empty.len() * 4 < sandbox.message_count(),
        "too many empty messages: {empty:?}"
    );
}

#[tokio::test]
async fn attachments_round_trip() {
    for sandbox in [builtin().await, corpus().await] {
        let api = Api::new(&sandbox).await;
        let mut fetched = 0;
        for id in api.list_all("includeSpamTrash=true", 500).await {
            let message = api.message(&id).await;
            let mut parts = Vec::new();
            walk_parts(message.payload.as_ref().expect("payload"), &mut parts);
            for part in parts {
                let Some(body) = &part.body else { continue };
                let Some(attachment_id) = &body.attachment_id else {
                    continue;
                };
                let response = api
                    .get_ok(&format!(
                        "gmail/v1/users/me/messages/{id}/attachments/{attachment_id}"
                    ))
                    .await;
                check_shape(&response, "MessagePartBody");
                let bytes =
                    decode_base64url(response["data"].as_str().expect("data")).expect("base64url");
                assert_eq!(
                    bytes.len() as i64,
                    body.size,
                    "attachment {attachment_id} of {id}"
                );
                assert_eq!(response["size"].as_i64(), Some(body.size));
                fetched += 1;
            }
        }
        assert!(fetched > 0);
    }
}

#[tokio::test]
async fn threads_group_replies() {
    let sandbox = builtin().await;
    let api = Api::new(&sandbox).await;
    let ids = api.list_all("q=subject%3A%22launch+plan%22", 100).await;
    assert_eq!(ids.len(), 3);

    let message = api.message(&ids[0]).await;
    let thread = api
        .get_ok(&format!("gmail/v1/users/me/threads/{}", message.thread_id))
        .await;
    check_shape(&thread, "Thread");
    let messages = thread["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 3);
    let dates: Vec<i64> = messages
        .iter()
        .map(|message| {
            message["internalDate"]
                .as_str()
                .expect("date")
                .parse()
                .expect("number")
        })
        .collect();
    assert!(dates.windows(2).all(|pair| pair[0] <= pair[1]), "{dates:?}");
    assert_eq!(messages[0]["id"], thread["id"]);

    let minimal = api
        .get_ok(&format!(
            "gmail/v1/users/me/threads/{}?format=minimal",
            message.thread_id
        ))
        .await;
    assert!(minimal["messages"][0].get("payload").is_none());

    // Every message's thread exists and contains it.
    for id in api.list_all("includeSpamTrash=true", 500).await {
        let message = api.message(&id).await;
        let thread = api
            .get_ok(&format!("gmail/v1/users/me/threads/{}", message.thread_id))
            .await;
        let member = thread["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .any(|m| m["id"] == id.as_str());
        assert!(member, "message {id} missing from its thread");
    }
}

#[tokio::test]
async fn labels_list_and_counts() {
    let sandbox = builtin().await;
    let api = Api::new(&sandbox).await;
    let list = api.get_ok("gmail/v1/users/me/labels").await;
    check_shape(&list, "ListLabelsResponse");
    let labels = list["labels"].as_array().expect("labels");
    let names: BTreeMap<&str, &str> = labels
        .iter()
        .map(|label| {
            (
                label["name"].as_str().expect("name"),
                label["id"].as_str().expect("id"),
            )
        })
        .collect();
    for system in [
        "INBOX",
        "SENT",
        "UNREAD",
        "STARRED",
        "IMPORTANT",
        "TRASH",
        "SPAM",
        "DRAFT",
    ] {
        assert_eq!(names.get(system), Some(&system));
    }
    assert!(
        labels
            .iter()
            .all(|label| label.get("messagesTotal").is_none())
    );
    let projects = names.get("Projects/Sandbox").expect("user label");
    assert!(names.contains_key("Finance/Invoices"));

    let label = api
        .get_ok(&format!("gmail/v1/users/me/labels/{projects}"))
        .await;
    check_shape(&label, "Label");
    assert_eq!(label["type"], "user");
    assert_eq!(label["messagesTotal"], 3);
    assert_eq!(label["messagesUnread"], 1);
    assert_eq!(label["threadsTotal"], 1);

    let unread = api
        .get_ok("gmail/v1/users/me/messages?labelIds=UNREAD&labelIds=INBOX")
        .await;
    assert_eq!(unread["resultSizeEstimate"], 2);
}

#[tokio::test]
async fn builtin_payloads_are_decoded() {
    let sandbox = builtin().await;
    let api = Api::new(&sandbox).await;

    let ids = api.list_all("q=from%3Arene", 10).await;
    let message = api.message(&ids[0]).await;
    assert_eq!(message.header("Subject"), Some("Grüße aus Zürich ☀"));
    assert_eq!(
        message.header("From"),
        Some("René Dupont <rene@paris.example>")
    );
    assert!(
        extract(message.payload.as_ref().expect("payload"))
            .body
            .contains("café au bord du lac")
    );

    let ids = api.list_all("q=has%3Aattachment", 10).await;
    let message = api.message(&ids[0]).await;
    let content = extract(message.payload.as_ref().expect("payload"));
    assert_eq!(content.attachments.len(), 1);
    assert_eq!(content.attachments[0].filename, "Rechnung_März_2025.pdf");
    assert_eq!(content.attachments[0].mime_type, "application/pdf");

    let ids = api.list_all("q=subject%3A%22weekly+digest%22", 10).await;
    let message = api.message(&ids[0]).await;
    let content = extract(message.payload.as_ref().expect("payload"));
    assert!(content.from_html);
    assert!(content.body.contains("Issue 42"), "{}", content.body);
    assert!(!message.snippet.as_deref().unwrap_or_default().contains('<'));

    let ids = api.list_all("q=subject%3Afwd", 10).await;
    let message = api.message(&ids[0]).await;
    let enclosed = &message.payload.as_ref().expect("payload").parts[1];
    assert_eq!(enclosed.mime_type, "message/rfc822");
    assert_eq!(
        enclosed.parts[0].header("Subject"),
        Some("Tea on Thursday?")
    );
}

#[tokio::test]
async fn search_operators_find_builtin_mail() {
    let sandbox = builtin().await;
    let api = Api::new(&sandbox).await;
    let cases: [(&str, usize); 26] = [
        ("nanoseconds", 1),
        ("%22bring+your+own+wire%22", 1),
        ("from%3Agrace", 1),
        ("from%3Ame", 1),
        ("to%3Amargaret%40apollo.example", 1),
        ("cc%3Ateam%40cobol.example", 1),
        ("subject%3Ainvoice", 1),
        ("has%3Aattachment", 1),
        ("filename%3Apdf", 1),
        ("filename%3Ar%C3%A4rz", 0),
        ("filename%3Am%C3%A4rz", 1),
        ("is%3Aunread", 2),
        ("is%3Astarred", 1),
        ("is%3Aimportant", 1),
        ("label%3Aprojects-sandbox", 3),
        ("label%3AFinance%2FInvoices", 1),
        ("in%3Asent", 1),
        ("in%3Atrash", 1),
        ("in%3Aanywhere+coupon", 1),
        ("coupon", 0),
        ("after%3A2025%2F05%2F12+before%3A2025-05-13", 2),
        ("after%3A1747353600", 0),
        ("launch+-from%3Ame", 2),
        ("from%3Agrace+OR+from%3Aalan", 2),
        ("category%3Aupdates", 1),
        ("R%C3%A9n%C3%A9+OR+z%C3%BCrich", 1),
    ];
    for (query, expected) in cases {
        let ids = api.list_all(&format!("q={query}"), 100).await;
        assert_eq!(ids.len(), expected, "query {query}");
    }

    let all = api.list_all("", 100).await;
    assert_eq!(
        all.len(),
        sandbox.message_count() - 1,
        "trash must be hidden by default"
    );
    let with_trash = api.list_all("includeSpamTrash=true", 100).await;
    assert_eq!(with_trash.len(), sandbox.message_count());
}

#[tokio::test]
async fn missing_directory_is_reported() {
    let options = SandboxOptions {
        mail_dir: Some(PathBuf::from("/nonexistent/mail")),
        ..SandboxOptions::default()
    };
    let error = Sandbox::start(options)
        .await
        .expect_err("missing directory");
    assert!(matches!(error, SandboxError::MailDirNotFound { .. }));
    assert!(error.to_string().contains("/nonexistent/mail"), "{error}");

    let options = SandboxOptions {
        calendar_dir: Some(PathBuf::from("/nonexistent/ics")),
        ..SandboxOptions::default()
    };
    let error = Sandbox::start(options)
        .await
        .expect_err("missing directory");
    assert!(matches!(error, SandboxError::CalendarDirNotFound { .. }));
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let sandbox = builtin().await;
    let base = sandbox.base_url();
    assert!(!format!("{sandbox:?}").contains(sandbox.oma_access_token()));
    sandbox.shutdown().await;

    let client = build_client(&HttpSettings::default()).expect("client");
    let result = client
        .get(base.join("api/v1/google/status").expect("url"))
        .send()
        .await;
    assert!(result.is_err());
}

impl Api {
    /// Sends a request with a JSON body (or none) and the Google token, and returns the
    /// status and the JSON body (`Null` for an empty one).
    async fn write(
        &self,
        verb: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(verb, self.base.join(path).expect("url"))
            .bearer_auth(&self.google_token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let bytes = response.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("JSON body")
        };
        (status, body)
    }

    async fn post_ok(&self, path: &str, body: Value) -> Value {
        let (status, body) = self.write(reqwest::Method::POST, path, Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        body
    }
}

fn raw(text: &str) -> String {
    mcp_google_hub::domain::mail_content::encode_base64url(text.as_bytes())
}

/// The write calls answer in the shapes of the discovery document.
#[tokio::test]
async fn write_responses_follow_discovery() {
    let sandbox = builtin().await;
    let api = Api::new(&sandbox).await;

    let sent = api
        .post_ok(
            "gmail/v1/users/me/messages/send",
            serde_json::json!({ "raw": raw("To: a@example.org\r\nSubject: s\r\n\r\nbody\r\n") }),
        )
        .await;
    check_shape(&sent, "Message");
    assert_eq!(sent["labelIds"], serde_json::json!(["SENT"]));

    let draft = api
        .post_ok(
            "gmail/v1/users/me/drafts",
            serde_json::json!({ "message": { "raw": raw("Subject: d\r\n\r\nx\r\n") } }),
        )
        .await;
    check_shape(&draft, "Draft");
    let draft_id = draft["id"].as_str().expect("draft id");

    let listed = api.get_ok("gmail/v1/users/me/drafts").await;
    check_shape(&listed, "ListDraftsResponse");
    assert_eq!(listed["drafts"][0]["id"], draft_id);
    let fetched = api
        .get_ok(&format!("gmail/v1/users/me/drafts/{draft_id}?format=full"))
        .await;
    check_shape(&fetched, "Draft");
    assert_eq!(fetched["message"]["labelIds"], serde_json::json!(["DRAFT"]));

    let label = api
        .post_ok(
            "gmail/v1/users/me/labels",
            serde_json::json!({ "name": "Receipts/2025" }),
        )
        .await;
    check_shape(&label, "Label");
    let modified = api
        .post_ok(
            &format!(
                "gmail/v1/users/me/messages/{}/modify",
                sent["id"].as_str().unwrap()
            ),
            serde_json::json!({ "addLabelIds": [label["id"]] }),
        )
        .await;
    check_shape(&modified, "Message");

    let (status, body) = api
        .write(
            reqwest::Method::POST,
            "gmail/v1/users/me/messages/batchModify",
            Some(serde_json::json!({ "ids": [sent["id"]], "removeLabelIds": [label["id"]] })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = api
        .write(
            reqwest::Method::DELETE,
            &format!("gmail/v1/users/me/drafts/{draft_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(body, Value::Null);
}

/// The write calls fail in Google's error shape.
#[tokio::test]
async fn write_errors_follow_google() {
    let sandbox = builtin().await;
    let api = Api::new(&sandbox).await;
    let post = |path: &'static str, body: Value| {
        let api = &api;
        async move { api.write(reqwest::Method::POST, path, Some(body)).await }
    };

    api.post_ok(
        "gmail/v1/users/me/labels",
        serde_json::json!({ "name": "Travel" }),
    )
    .await;
    let (status, body) = post(
        "gmail/v1/users/me/labels",
        serde_json::json!({ "name": "travel" }),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["status"], "ALREADY_EXISTS");
    assert_eq!(body["error"]["code"], 409);

    let (status, body) = post(
        "gmail/v1/users/me/labels",
        serde_json::json!({ "name": "INBOX" }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let (status, body) = post(
        "gmail/v1/users/me/messages/send",
        serde_json::json!({ "raw": raw("Subject: nobody\r\n\r\nx\r\n") }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["message"], "Recipient address required");

    let (status, body) = post(
        "gmail/v1/users/me/messages/send",
        serde_json::json!({ "raw": raw("To: a@example.org\r\n\r\nx\r\n"), "threadId": "00000000000000ff" }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    let (status, body) = post("gmail/v1/users/me/messages/send", serde_json::json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");

    let (status, body) = api
        .write(
            reqwest::Method::PUT,
            "gmail/v1/users/me/drafts/r404",
            Some(serde_json::json!({ "message": { "raw": raw("Subject: x\r\n\r\nx\r\n") } })),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    let response = api
        .client
        .post(api.base.join("gmail/v1/users/me/drafts").expect("url"))
        .bearer_auth(&api.google_token)
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("JSON error");
    assert_eq!(body["error"]["code"], 400);

    let id = api.list_all("q=subject:welcome", 10).await.remove(0);
    let (status, body) = api
        .write(
            reqwest::Method::POST,
            &format!("gmail/v1/users/me/messages/{id}/modify"),
            Some(serde_json::json!({ "addLabelIds": ["SENT"] })),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["message"], "Invalid label: SENT");
}

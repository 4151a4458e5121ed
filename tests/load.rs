//! Load under faults: 1,000 tool calls through the dispatcher against the sandbox while the
//! OMA Backend in front of it flaps between errors, timeouts and slow answers, then
//! recovers. The test counts outcomes and OMA requests; it never asserts on durations.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mcp_google_hub::domain::tools::{ErrorCategory, ToolContext, ToolSettings};
use mcp_google_hub::outbound::circuit_breaker::{BreakerSettings, CircuitBreaker};
use mcp_google_hub::outbound::google::{CalendarClient, GmailClient, GoogleEndpoints};
use mcp_google_hub::outbound::http::{HttpSettings, build_client};
use mcp_google_hub::outbound::oma::{OmaClient, OmaSettings};
use mcp_google_hub::sandbox::{Sandbox, SandboxOptions};
use mcp_google_hub::{CredentialCache, ToolDispatcher};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const CREDENTIALS_PATH: &str = "/api/v1/google/credentials";
/// The OMA client's per-request limit in this test; the flapping server's slow answers
/// exceed it.
const OMA_TIMEOUT: Duration = Duration::from_millis(300);
/// The breaker's cool-down in this test.
const COOL_DOWN: Duration = Duration::from_millis(400);
/// Calls per wave; waves are spread out so that several refresh cycles meet the faults.
const WAVE: usize = 100;
const WAVES: usize = 10;

/// Answers in turn: a 500, an answer slower than the client's timeout, a 503, then a slow
/// but good answer with the sandbox's credentials.
struct Flapping {
    good: Value,
    served: AtomicUsize,
}

impl Respond for Flapping {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        match self.served.fetch_add(1, Ordering::SeqCst) % 4 {
            0 => ResponseTemplate::new(500),
            1 => ResponseTemplate::new(200)
                .set_body_json(&self.good)
                .set_delay(OMA_TIMEOUT * 3),
            2 => ResponseTemplate::new(503),
            _ => ResponseTemplate::new(200)
                .set_body_json(&self.good)
                .set_delay(Duration::from_millis(50)),
        }
    }
}

/// Every call ends with a result or a clear error while OMA flaps, OMA sees a bounded
/// number of requests, and after recovery every call succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_calls_survive_flapping_backend() {
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    // Credentials the sandbox's Google routes accept, served by the flapping OMA. A short
    // life makes the cache go back to OMA during the test.
    let mut good = sandbox_credentials(&sandbox).await;
    good["expires_in"] = json!(62);
    good.as_object_mut().unwrap().remove("expires_at");

    let oma = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(CREDENTIALS_PATH))
        .respond_with(Flapping {
            good: good.clone(),
            served: AtomicUsize::new(0),
        })
        .mount(&oma)
        .await;
    let dispatcher = dispatcher(&sandbox, &oma.uri(), sandbox.oma_access_token());

    let outcomes = tokio::time::timeout(Duration::from_secs(120), run_waves(&dispatcher))
        .await
        .expect("the calls did not all finish: a hang or a deadlock");
    let flapping_requests = oma.received_requests().await.unwrap().len();

    assert_eq!(
        outcomes.ok + outcomes.failed,
        WAVE * WAVES,
        "every call ended"
    );
    assert!(
        outcomes.unclear.is_empty(),
        "errors without a clear category: {:?}",
        outcomes.unclear
    );
    assert!(
        flapping_requests <= 200,
        "{flapping_requests} OMA requests for {} calls: single flight and the breaker should bound them",
        WAVE * WAVES
    );

    // Recovery: OMA answers well again. After the cool-down every call succeeds.
    oma.reset().await;
    good["expires_in"] = json!(3600);
    Mock::given(method("GET"))
        .and(path(CREDENTIALS_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(&good))
        .mount(&oma)
        .await;
    tokio::time::sleep(COOL_DOWN * 2).await;

    let recovered = tokio::time::timeout(Duration::from_secs(120), run_waves(&dispatcher))
        .await
        .expect("the calls did not all finish after recovery");
    let recovery_requests = oma.received_requests().await.unwrap().len();

    assert_eq!(
        recovered.ok,
        WAVE * WAVES,
        "after recovery all calls succeed: {:?}",
        recovered.unclear
    );
    assert!(
        recovery_requests <= 3,
        "{recovery_requests} OMA requests after recovery"
    );
    sandbox.shutdown().await;
}

#[derive(Debug, Default)]
struct Outcomes {
    ok: usize,
    failed: usize,
    unclear: Vec<String>,
}

async fn run_waves(dispatcher: &Arc<ToolDispatcher>) -> Outcomes {
    let mut tasks = Vec::with_capacity(WAVE * WAVES);
    for wave in 0..WAVES {
        for index in 0..WAVE {
            let dispatcher = Arc::clone(dispatcher);
            tasks.push(tokio::spawn(async move {
                let (tool, arguments) = match (wave * WAVE + index) % 4 {
                    0 => ("gmail_list_labels", json!({})),
                    1 => (
                        "gmail_search_messages",
                        json!({"query": "in:anywhere", "max_results": 3}),
                    ),
                    2 => ("calendar_list_calendars", json!({})),
                    _ => ("calendar_list_events", json!({"max_results": 5})),
                };
                dispatcher.call(tool, arguments).await
            }));
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
    }

    let mut outcomes = Outcomes::default();
    for task in tasks {
        match task.await.expect("a tool call panicked") {
            Ok(_) => outcomes.ok += 1,
            Err(error) => {
                outcomes.failed += 1;
                let clear = matches!(
                    error.category(),
                    ErrorCategory::Unavailable | ErrorCategory::AuthRequired
                ) && !error.to_string().is_empty();
                if !clear {
                    outcomes.unclear.push(error.to_string());
                }
            }
        }
    }
    outcomes
}

fn dispatcher(sandbox: &Sandbox, oma_url: &str, jwt: &str) -> Arc<ToolDispatcher> {
    let settings = OmaSettings {
        base_url: oma_url.parse().unwrap(),
        api_prefix: "/api/v1".to_owned(),
        access_token: SecretString::from(jwt.to_owned()),
        verify_tls: true,
        timeout: OMA_TIMEOUT,
    };
    let oma = OmaClient::new(settings)
        .unwrap()
        .with_retry_policy(2, Duration::from_millis(20));
    let breaker = CircuitBreaker::new(
        Arc::new(oma),
        "OMA Backend",
        BreakerSettings {
            failure_threshold: 3,
            cool_down: COOL_DOWN,
        },
    );

    let http = build_client(&HttpSettings::default()).unwrap();
    let endpoints = GoogleEndpoints::with_root(sandbox.base_url());
    let context = ToolContext::new(
        Arc::new(CredentialCache::new(Arc::new(breaker))),
        Arc::new(GmailClient::new(http.clone(), &endpoints)),
        Arc::new(CalendarClient::new(http, &endpoints)),
        ToolSettings::default(),
    );
    Arc::new(ToolDispatcher::new(context))
}

/// Fetches a credentials answer from the sandbox's own OMA endpoint.
async fn sandbox_credentials(sandbox: &Sandbox) -> Value {
    let url = sandbox
        .base_url()
        .join("api/v1/google/credentials")
        .unwrap();
    build_client(&HttpSettings::default())
        .unwrap()
        .get(url)
        .bearer_auth(sandbox.oma_access_token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

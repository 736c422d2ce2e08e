//! Malformed, oversized and hostile input gets a clear 4xx and changes nothing.

use baton_protocol::LeadList;
use baton_tests::*;
use reqwest::StatusCode;

async fn raw(c: &Client, body: Vec<u8>, content_type: &str) -> (StatusCode, serde_json::Value) {
    let r = c
        .http
        .post(format!("{}/v1/leads", c.base))
        .bearer_auth(&c.token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("non-JSON error body: {text}")),
    )
}

#[tokio::test]
async fn hostile_bodies_get_4xx_and_change_nothing() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 10);
    let intake = server.intake();
    let manager = server.manager();
    let good = serde_json::to_vec(&lead("h-1")).unwrap();

    let mut huge = lead("h-2");
    huge.intent.need = Some("x".repeat(300 * 1024));
    let nested = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let mut many = lead("h-3");
    many.quiz = (0..101)
        .map(|i| baton_protocol::QuizAnswer {
            question: format!("q{i}"),
            answer: "a".into(),
            points: None,
        })
        .collect();
    let cases: Vec<(&str, Vec<u8>, &str, StatusCode)> = vec![
        (
            "not json",
            b"{not json".to_vec(),
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (
            "trailing garbage",
            [good.clone(), b"{}".to_vec()].concat(),
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        ("empty", vec![], "application/json", StatusCode::BAD_REQUEST),
        (
            "array",
            b"[]".to_vec(),
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (
            "wrong type",
            b"{\"external_id\": 5}".to_vec(),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "form body",
            good.clone(),
            "application/x-www-form-urlencoded",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "oversized",
            serde_json::to_vec(&huge).unwrap(),
            "application/json",
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "deeply nested",
            nested.into_bytes(),
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (
            "deeply nested in a field",
            format!("{{\"intent\": {}}}", "{\"need\":".repeat(3000)).into_bytes(),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "too many answers",
            serde_json::to_vec(&many).unwrap(),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "invalid utf-8",
            b"{\"external_id\": \"\xff\xfe\"}".to_vec(),
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (what, body, ct, want) in cases {
        let (status, err) = raw(&intake, body, ct).await;
        assert_eq!(status, want, "{what}: {err}");
        assert!(err["error"]["code"].is_string(), "{what}: {err}");
        assert!(
            !err["error"]["message"].as_str().unwrap_or("").is_empty(),
            "{what}"
        );
    }
    let all: LeadList = manager.get("/v1/leads").await.json();
    assert!(all.leads.is_empty(), "no hostile request stored anything");
    assert!(ava.sync_all("").await.0.is_empty());

    // Markup and SQL in text fields are data: stored and returned verbatim.
    let mut tricky = lead("h-4'); DROP TABLE leads;--");
    tricky.contact.name = "<img src=x onerror=alert(1)>".into();
    tricky.contact.email = Some("o'brien+test@leads.test".into());
    tricky.quiz[0].answer = "<script>alert('x')</script>".into();
    let stored = intake.push(&tricky).await.lead;
    let back: baton_protocol::Lead = manager.lead(stored.id).await.json();
    assert_eq!(back.contact.name, "<img src=x onerror=alert(1)>");
    assert_eq!(back.quiz[0].answer, "<script>alert('x')</script>");
    assert_eq!(back.external_id, "h-4'); DROP TABLE leads;--");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json_errors() {
    let server = Server::start(ONE_TEAM);
    let ava = server.add_rep("Ava", "sales", 1, 10);
    let r = ava.get("/v1/nothing-here").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.error_code(), "not_found");
    let r = ava
        .request(reqwest::Method::DELETE, "/v1/leads", None, &[])
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    let r = ava.get("/v1/leads/not-a-number").await;
    assert!(r.status.is_client_error());
    let r = ava.get("/v1/reports/handoff?from=yesterday").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = server
        .manager()
        .get("/v1/reports/handoff?from=yesterday")
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_field(), "from");
}

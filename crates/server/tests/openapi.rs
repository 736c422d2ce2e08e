//! docs/openapi.yaml describes exactly the routes the server serves, and
//! every error code the server can answer.

use baton_protocol::WireName;
use std::collections::BTreeSet;

use baton_server::api::API_ROUTES;

fn spec() -> serde_yaml_ng::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.yaml");
    let text = std::fs::read_to_string(path).expect("docs/openapi.yaml exists");
    serde_yaml_ng::from_str(&text).expect("docs/openapi.yaml is valid YAML")
}

#[test]
fn the_spec_and_the_router_list_the_same_endpoints() {
    let spec = spec();
    let paths = spec["paths"].as_mapping().expect("paths is a mapping");
    let mut documented = BTreeSet::new();
    for (path, item) in paths {
        for (method, _) in item.as_mapping().expect("path item is a mapping") {
            let method = method.as_str().unwrap().to_lowercase();
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                documented.insert((method, path.as_str().unwrap().to_string()));
            }
        }
    }
    let served: BTreeSet<_> = API_ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let phantom: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served but not in openapi.yaml: {undocumented:?}"
    );
    assert!(
        phantom.is_empty(),
        "in openapi.yaml but not served: {phantom:?}"
    );
}

#[test]
fn the_spec_lists_every_error_code() {
    let spec = spec();
    let text = serde_yaml_ng::to_string(&spec["components"]["schemas"]).unwrap();
    for code in [
        baton_protocol::ErrorCode::InvalidBody,
        baton_protocol::ErrorCode::InvalidField,
        baton_protocol::ErrorCode::InvalidQuery,
        baton_protocol::ErrorCode::PayloadTooLarge,
        baton_protocol::ErrorCode::UnsupportedMediaType,
        baton_protocol::ErrorCode::Unauthorized,
        baton_protocol::ErrorCode::Forbidden,
        baton_protocol::ErrorCode::NotFound,
        baton_protocol::ErrorCode::MethodNotAllowed,
        baton_protocol::ErrorCode::LeadNotYours,
        baton_protocol::ErrorCode::IdempotencyKeyMissing,
        baton_protocol::ErrorCode::IdempotencyKeyReused,
        baton_protocol::ErrorCode::Unavailable,
        baton_protocol::ErrorCode::RateLimited,
        baton_protocol::ErrorCode::TooManyStreams,
        baton_protocol::ErrorCode::RequestTimeout,
        baton_protocol::ErrorCode::ExternalIdTaken,
        baton_protocol::ErrorCode::Conflict,
        baton_protocol::ErrorCode::Internal,
    ] {
        assert!(
            text.contains(code.as_str()),
            "{} missing from the spec's schemas",
            code.as_str()
        );
    }
}

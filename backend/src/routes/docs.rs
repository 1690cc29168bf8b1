//! The OpenAPI document and a readable API reference page rendered from it, both served by
//! the binary itself (nothing is fetched from elsewhere).

use std::sync::LazyLock;

use askama::Template;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value;

static OPENAPI: LazyLock<Value> =
    LazyLock::new(|| serde_json::to_value(super::openapi()).unwrap_or(Value::Null));

/// `GET /api/openapi.json`.
pub async fn openapi_json() -> Json<Value> {
    Json(OPENAPI.clone())
}

/// `GET /api/docs`.
pub async fn page() -> Response {
    match ApiDocsPage::from_openapi(&OPENAPI).render() {
        Ok(html) => Html(html).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "rendering the API page failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "api_docs.html")]
struct ApiDocsPage {
    title: String,
    description: String,
    version: String,
    operations: Vec<OperationView>,
    schemas: Vec<SchemaView>,
}

struct OperationView {
    anchor: String,
    method: String,
    path: String,
    summary: String,
    description: String,
    needs_auth: bool,
    parameters: Vec<ParameterView>,
    request_schema: String,
    responses: Vec<ResponseView>,
}

struct ParameterView {
    name: String,
    location: String,
    required: bool,
    description: String,
}

struct ResponseView {
    status: String,
    description: String,
    schema: String,
}

struct SchemaView {
    name: String,
    json: String,
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The schema name of a `$ref`, or a short description of an inline schema.
fn schema_name(content: &Value) -> String {
    let Some(schema) = content.pointer("/content/application~1json/schema") else {
        return String::new();
    };
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference.rsplit('/').next().unwrap_or(reference).to_owned(),
        None => schema.to_string(),
    }
}

impl ApiDocsPage {
    fn from_openapi(doc: &Value) -> Self {
        let mut operations = Vec::new();
        if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
            for (path, item) in paths {
                for method in ["get", "post", "put", "patch", "delete"] {
                    let Some(op) = item.get(method) else { continue };
                    let parameters = op
                        .get("parameters")
                        .and_then(Value::as_array)
                        .map(|params| {
                            params
                                .iter()
                                .map(|p| ParameterView {
                                    name: text(p, "name"),
                                    location: text(p, "in"),
                                    required: p
                                        .get("required")
                                        .and_then(Value::as_bool)
                                        .unwrap_or(false),
                                    description: text(p, "description"),
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    let responses = op
                        .get("responses")
                        .and_then(Value::as_object)
                        .map(|responses| {
                            responses
                                .iter()
                                .map(|(status, response)| ResponseView {
                                    status: status.clone(),
                                    description: text(response, "description"),
                                    schema: schema_name(response),
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    operations.push(OperationView {
                        anchor: format!("{method}-{}", path.replace(['/', '{', '}'], "-")),
                        method: method.to_uppercase(),
                        path: path.clone(),
                        summary: text(op, "summary"),
                        description: text(op, "description"),
                        needs_auth: op.get("security").is_some(),
                        parameters,
                        request_schema: op.get("requestBody").map(schema_name).unwrap_or_default(),
                        responses,
                    });
                }
            }
        }
        let schemas = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .map(|schemas| {
                schemas
                    .iter()
                    .map(|(name, schema)| SchemaView {
                        name: name.clone(),
                        json: serde_json::to_string_pretty(schema).unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            title: doc
                .pointer("/info/title")
                .and_then(Value::as_str)
                .unwrap_or("API")
                .to_owned(),
            description: doc
                .pointer("/info/description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            version: doc
                .pointer("/info/version")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            operations,
            schemas,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_lists_every_operation_of_the_document() {
        let page = ApiDocsPage::from_openapi(&OPENAPI);
        let html = page.render().unwrap();
        let paths = OPENAPI["paths"].as_object().unwrap();
        assert!(paths.len() >= 8, "{paths:?}");
        for path in paths.keys() {
            assert!(
                html.contains(&format!("<code>{path}</code>")),
                "{path} missing from the page"
            );
        }
        assert!(
            html.contains("id=\"schema-CreateTaskRequest\""),
            "schemas are listed"
        );
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "the page must not load anything from elsewhere"
        );
    }
}

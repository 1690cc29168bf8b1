//! Extractors that reject with [`ApiError`], so malformed input gets the API's error shape.

use axum::extract::{FromRequest, FromRequestParts, Request};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::error::ApiError;

/// `axum::Json` with our rejection: 400 for broken JSON, 415 for a wrong content type, 413
/// for an oversized body, 422 for a body of the wrong shape (including a JSON array where an
/// object is expected).
#[derive(Debug)]
pub struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(Object(value)) =
            axum::Json::<Object<T>>::from_request(request, state).await?;
        Ok(Self(value))
    }
}

/// A JSON body that must be an object. Derived `Deserialize` also accepts a struct written as
/// an array of its field values (`["Buy milk"]`), which is not a shape the API offers.
#[derive(Debug)]
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(MapOnly(deserializer)).map(Self)
    }
}

/// Reads a struct only from a map, never from a sequence.
struct MapOnly<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for MapOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(visitor)
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// `axum::extract::Query` with our rejection (400, naming the offending parameter).
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct AppQuery<T>(pub T);

/// `axum::extract::Path` with our rejection: an id that does not parse names nothing, so 404.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct AppPath<T>(pub T);

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        title: String,
    }

    #[test]
    fn a_body_must_be_a_json_object() {
        let object: Object<Body> = serde_json::from_str(r#"{"title": "Buy milk"}"#).unwrap();
        assert_eq!(object.0.title, "Buy milk");
        assert!(serde_json::from_str::<Object<Body>>(r#"["Buy milk"]"#).is_err());
        let duplicate = serde_json::from_str::<Object<Body>>(r#"{"title": "a", "title": "b"}"#);
        assert!(duplicate.is_err(), "duplicate fields stay an error");
    }
}

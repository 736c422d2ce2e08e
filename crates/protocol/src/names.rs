//! The one way an enum becomes a string and back: its serde name.
//!
//! A unit enum that derives `Serialize` and `Deserialize` already says, in
//! its serde attributes, how each variant is spelled on the wire. SQL
//! columns, query strings and error codes use the same spelling, so rather
//! than a third hand-written `match` per enum, [`WireName`] reads it from
//! the derive: [`WireName::as_str`] without allocating, and
//! [`WireName::parse`] with an error for a name the enum does not have
//! (an enum with `#[serde(other)]` maps unknown names to that variant, as
//! it does on the wire).

use serde::de::value::{Error as ValueError, StrDeserializer};
use serde::de::{DeserializeOwned, IntoDeserializer};
use serde::ser::{self, Impossible, Serialize};

/// A name an enum does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownName {
    pub kind: &'static str,
    pub name: String,
}

impl std::fmt::Display for UnknownName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} is not a known {}", self.name, self.kind)
    }
}

impl std::error::Error for UnknownName {}

/// Implemented (with an empty `impl`) by unit enums whose serde names are
/// their string forms.
pub trait WireName: Serialize + DeserializeOwned + Sized {
    /// The variant's serde name.
    fn as_str(&self) -> &'static str {
        match self.serialize(NameOf) {
            Ok(name) => name,
            // Only unit variants implement this trait; a test per enum holds it.
            Err(e) => panic!("{} is not a unit enum: {e}", std::any::type_name::<Self>()),
        }
    }

    /// The variant named `name`.
    fn parse(name: &str) -> Result<Self, UnknownName> {
        let de: StrDeserializer<'_, ValueError> = name.into_deserializer();
        Self::deserialize(de).map_err(|_| UnknownName {
            kind: short_type_name::<Self>(),
            name: name.chars().take(64).collect(),
        })
    }
}

fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

/// A serializer that accepts only a unit variant and yields its name.
struct NameOf;

#[derive(Debug)]
struct NotUnit;

impl std::fmt::Display for NotUnit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("only unit variants have a name")
    }
}

impl std::error::Error for NotUnit {}

impl ser::Error for NotUnit {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        NotUnit
    }
}

macro_rules! not_unit {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $arg),*) -> Result<&'static str, NotUnit> { Err(NotUnit) })*
    };
}

impl ser::Serializer for NameOf {
    type Ok = &'static str;
    type Error = NotUnit;
    type SerializeSeq = Impossible<&'static str, NotUnit>;
    type SerializeTuple = Impossible<&'static str, NotUnit>;
    type SerializeTupleStruct = Impossible<&'static str, NotUnit>;
    type SerializeTupleVariant = Impossible<&'static str, NotUnit>;
    type SerializeMap = Impossible<&'static str, NotUnit>;
    type SerializeStruct = Impossible<&'static str, NotUnit>;
    type SerializeStructVariant = Impossible<&'static str, NotUnit>;

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<&'static str, NotUnit> {
        Ok(variant)
    }

    not_unit!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
    );

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<&'static str, NotUnit> {
        Err(NotUnit)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<&'static str, NotUnit> {
        Err(NotUnit)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<&'static str, NotUnit> {
        Err(NotUnit)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotUnit> {
        Err(NotUnit)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotUnit> {
        Err(NotUnit)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, NotUnit> {
        Err(NotUnit)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NotUnit> {
        Err(NotUnit)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotUnit> {
        Err(NotUnit)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, NotUnit> {
        Err(NotUnit)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NotUnit> {
        Err(NotUnit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::*;

    /// Every enum that names itself this way: each variant's name parses
    /// back to it, and its name is its JSON form.
    fn round_trips<T: WireName + PartialEq + std::fmt::Debug>(all: &[T]) {
        for v in all {
            assert_eq!(T::parse(v.as_str()).as_ref(), Ok(v));
            assert_eq!(
                serde_json::to_string(v).unwrap(),
                format!("\"{}\"", v.as_str())
            );
        }
    }

    #[test]
    fn names_are_the_serde_names_and_parse_back() {
        round_trips(&[DecisionKind::Accept, DecisionKind::Reject]);
        round_trips(&[
            LeadStatus::Nurture,
            LeadStatus::Queued,
            LeadStatus::Assigned,
            LeadStatus::Accepted,
            LeadStatus::Unknown,
        ]);
        round_trips(&[
            AssignmentOutcome::Pending,
            AssignmentOutcome::SlaExpired,
            AssignmentOutcome::Unknown,
        ]);
        round_trips(&[
            ErrorCode::LeadNotYours,
            ErrorCode::RateLimited,
            ErrorCode::Unknown,
        ]);
        round_trips(&[TakeAwayReason::SlaExpired, TakeAwayReason::Unknown]);
    }

    #[test]
    fn an_unknown_name_is_an_error_unless_the_enum_has_a_catch_all() {
        let e = DecisionKind::parse("maybe").unwrap_err();
        assert_eq!(e.to_string(), "\"maybe\" is not a known DecisionKind");
        assert_eq!(
            LeadStatus::parse("from-the-future"),
            Ok(LeadStatus::Unknown)
        );
        assert!(DecisionKind::parse("").is_err());
    }
}

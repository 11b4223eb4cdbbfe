//! CIM values as JSON, and back, typed by the property table.
//!
//! Integers, reals and booleans are JSON numbers and booleans; strings, char16, datetimes and
//! references are strings (datetimes in their DSP0004 form); arrays are arrays; NULL is
//! `null`. Going back, the property's declared type decides, so `"Priority": "5"` and
//! `"Priority": 5` both work and `"Priority": "high"` is a type mismatch naming the property.

use cim::{CimArray, CimType, CimValue};
use cimjob_rules::model::properties::{instance, property, View, MAX_ENTRIES};
use cimjob_rules::model::{Job, PropertyError, PropertyErrorKind};
use serde_json::{Map, Value};

/// One CIM value as JSON.
pub fn to_json(value: &CimValue) -> Value {
    match value {
        CimValue::Boolean(b) => Value::Bool(*b),
        CimValue::UInt8(n) => (*n).into(),
        CimValue::SInt8(n) => (*n).into(),
        CimValue::UInt16(n) => (*n).into(),
        CimValue::SInt16(n) => (*n).into(),
        CimValue::UInt32(n) => (*n).into(),
        CimValue::SInt32(n) => (*n).into(),
        CimValue::UInt64(n) => (*n).into(),
        CimValue::SInt64(n) => (*n).into(),
        CimValue::Real32(x) => {
            serde_json::Number::from_f64(f64::from(*x)).map_or(Value::Null, Value::Number)
        }
        CimValue::Real64(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
        CimValue::Array(a) => Value::Array(a.items().iter().map(to_json).collect()),
        other => Value::String(other.to_string()),
    }
}

/// A job as a JSON object of its CIM properties, in table order.
pub fn job_to_json(job: &Job, view: &View) -> Value {
    let mut map = Map::new();
    for (name, value) in instance(job, view) {
        map.insert(
            name.to_string(),
            value.as_ref().map_or(Value::Null, to_json),
        );
    }
    Value::Object(map)
}

fn mismatch(name: &str, ty: CimType, is_array: bool, got: &Value) -> PropertyError {
    let expected = if is_array {
        format!("{}[]", ty.name())
    } else {
        ty.name().to_string()
    };
    PropertyError {
        property: name.to_string(),
        kind: PropertyErrorKind::TypeMismatch,
        message: format!("property {name}: expected {expected}, got {got}"),
    }
}

fn scalar(name: &str, ty: CimType, value: &Value) -> Result<CimValue, PropertyError> {
    let invalid = |message: String| PropertyError {
        property: name.to_string(),
        kind: PropertyErrorKind::InvalidValue,
        message: format!("property {name}: {message}"),
    };
    match (ty, value) {
        (CimType::Boolean, Value::Bool(b)) => Ok(CimValue::Boolean(*b)),
        (t, Value::Number(n)) if t.is_integer() => {
            let v = n
                .as_i64()
                .map(i128::from)
                .or_else(|| n.as_u64().map(i128::from))
                .ok_or_else(|| mismatch(name, ty, false, value))?;
            CimValue::from_integer(t, v).map_err(|e| invalid(e.to_string()))
        }
        (CimType::Real32, Value::Number(n)) => {
            Ok(CimValue::Real32(n.as_f64().unwrap_or(f64::NAN) as f32))
        }
        (CimType::Real64, Value::Number(n)) => Ok(CimValue::Real64(n.as_f64().unwrap_or(f64::NAN))),
        (t, Value::String(s)) => CimValue::parse(t, s).map_err(|e| {
            let not_that_type =
                (t.is_integer() && s.parse::<i128>().is_err()) || t == CimType::Boolean;
            if not_that_type {
                mismatch(name, ty, false, value)
            } else {
                invalid(e.to_string())
            }
        }),
        _ => Err(mismatch(name, ty, false, value)),
    }
}

/// Client values from a JSON object of `Property: value`, typed by the property table.
/// Unknown names pass through so the model refuses them with its own message.
pub fn values_from_json(
    object: &Map<String, Value>,
) -> Result<Vec<(String, Option<CimValue>)>, PropertyError> {
    let mut values = Vec::with_capacity(object.len());
    for (name, value) in object {
        let Some(prop) = property(name) else {
            values.push((name.clone(), Some(CimValue::String(value.to_string()))));
            continue;
        };
        let decl = &prop.decl;
        let converted = match (value, decl.is_array) {
            (Value::Null, _) => None,
            (Value::Array(items), true) => {
                // refused before it is converted: a huge array must not be copied again
                if items.len() > MAX_ENTRIES {
                    return Err(PropertyError {
                        property: decl.name.to_string(),
                        kind: PropertyErrorKind::InvalidValue,
                        message: format!(
                            "property {}: {} elements; at most {MAX_ENTRIES} are accepted",
                            decl.name,
                            items.len()
                        ),
                    });
                }
                let items = items
                    .iter()
                    .map(|i| scalar(decl.name, decl.ty, i))
                    .collect::<Result<Vec<_>, _>>()?;
                Some(CimValue::Array(
                    CimArray::new(decl.ty, items)
                        .map_err(|_| mismatch(decl.name, decl.ty, true, value))?,
                ))
            }
            (_, true) | (Value::Array(_), false) => {
                return Err(mismatch(decl.name, decl.ty, decl.is_array, value))
            }
            (v, false) => Some(scalar(decl.name, decl.ty, v)?),
        };
        values.push((decl.name.to_string(), converted));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn convert(v: Value) -> Result<Vec<(String, Option<CimValue>)>, PropertyError> {
        values_from_json(v.as_object().unwrap())
    }

    #[test]
    fn typed_by_the_table() {
        let v = convert(json!({"Priority": 5, "DeleteOnCompletion": true, "CommandLine": ["sh", "-c", "true"],
            "TimeBeforeRemoval": "00000000000010.000000:000", "Notify": null, "RecoveryAction": "4"})).unwrap();
        let get = |n: &str| v.iter().find(|(k, _)| k == n).unwrap().1.clone();
        assert_eq!(get("Priority"), Some(CimValue::UInt32(5)));
        assert_eq!(get("DeleteOnCompletion"), Some(CimValue::Boolean(true)));
        assert_eq!(
            get("TimeBeforeRemoval").unwrap().to_string(),
            "00000000000010.000000:000"
        );
        assert_eq!(get("Notify"), None);
        assert_eq!(get("RecoveryAction"), Some(CimValue::UInt16(4)));
        assert_eq!(
            get("CommandLine")
                .unwrap()
                .as_array()
                .unwrap()
                .items()
                .len(),
            3
        );
    }

    #[test]
    fn mismatches_and_ranges_name_the_property() {
        let e = convert(json!({"Priority": "high"})).unwrap_err();
        assert_eq!(
            (e.property.as_str(), e.kind),
            ("Priority", PropertyErrorKind::TypeMismatch)
        );
        let e = convert(json!({"Priority": -1})).unwrap_err();
        assert_eq!(
            (e.property.as_str(), e.kind),
            ("Priority", PropertyErrorKind::InvalidValue)
        );
        let e = convert(json!({"CommandLine": "true"})).unwrap_err();
        assert_eq!(
            (e.property.as_str(), e.kind),
            ("CommandLine", PropertyErrorKind::TypeMismatch)
        );
        let e = convert(json!({"TimeBeforeRemoval": "soon"})).unwrap_err();
        assert_eq!(e.property, "TimeBeforeRemoval");
    }
}

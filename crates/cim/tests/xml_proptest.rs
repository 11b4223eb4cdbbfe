//! Property test: random instances (every value type, arrays, NULLs,
//! references with keys, embedded instances, any text but NUL) survive
//! write then read, as elements and inside messages.

use cim::xml::*;
use cim::{CimArray, CimDateTime, CimType, CimValue, KeyValue, ObjectPath};
use proptest::prelude::*;

fn ident() -> impl Strategy<Value = String> {
    "[A-Za-z_][A-Za-z0-9_]{0,12}"
}

/// Any text XML can carry: every character but NUL (which the writer
/// replaces, as no XML can hold it).
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>().prop_filter("no NUL", |c| *c != '\0'), 0..12)
        .prop_map(|v| v.into_iter().collect())
}

fn namespace() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,5}(/[A-Za-z_][A-Za-z0-9_-]{0,5}){0,2}"
}

fn key_value() -> impl Strategy<Value = KeyValue> {
    prop_oneof![
        text().prop_map(KeyValue::String),
        any::<i64>().prop_map(KeyValue::from),
        any::<u64>().prop_map(KeyValue::from),
        any::<bool>().prop_map(KeyValue::Boolean),
    ]
}

fn keys() -> impl Strategy<Value = Vec<(String, KeyValue)>> {
    prop::collection::vec((ident(), key_value()), 0..4).prop_map(|keys| {
        let mut out: Vec<(String, KeyValue)> = Vec::new();
        for (k, v) in keys {
            if !out.iter().any(|(n, _)| n.eq_ignore_ascii_case(&k)) {
                out.push((k, v));
            }
        }
        out
    })
}

/// A path whose parts survive the CIM-XML path elements: a host only
/// together with a namespace; keys possibly holding a reference.
fn path() -> impl Strategy<Value = ObjectPath> {
    let leaf = (
        ident(),
        prop::option::of((namespace(), prop::option::of("[a-z]{1,8}(:[0-9]{1,4})?"))),
        keys(),
    )
        .prop_map(|(class, ns, keys)| {
            let (namespace, host) = match ns {
                Some((ns, host)) => (Some(ns), host),
                None => (None, None),
            };
            ObjectPath {
                host,
                namespace,
                class_name: class,
                keys,
            }
        });
    leaf.prop_recursive(2, 8, 2, |inner| {
        (inner, ident(), ident()).prop_map(|(target, class, key)| {
            ObjectPath::new(None, &class).with_key(&key, KeyValue::Reference(Box::new(target)))
        })
    })
}

fn datetime() -> impl Strategy<Value = CimDateTime> {
    let timestamp = (
        0u32..=9999,
        1u32..=12,
        1u32..=28,
        0u32..24,
        0u32..60,
        0u32..60,
        0u32..1_000_000,
        -720i32..=720,
    )
        .prop_map(|(y, mo, d, h, mi, s, us, off)| {
            let sign = if off < 0 { '-' } else { '+' };
            format!(
                "{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}.{us:06}{sign}{:03}",
                off.abs()
            )
        });
    let interval = (
        0u32..=99_999_999,
        0u32..24,
        0u32..60,
        0u32..60,
        0u32..1_000_000,
    )
        .prop_map(|(d, h, m, s, us)| format!("{d:08}{h:02}{m:02}{s:02}.{us:06}:000"));
    prop_oneof![timestamp, interval].prop_map(|s| CimDateTime::parse(&s).unwrap())
}

fn scalar(ty: CimType) -> BoxedStrategy<CimValue> {
    match ty {
        CimType::Boolean => any::<bool>().prop_map(CimValue::Boolean).boxed(),
        CimType::Char16 => any::<char>()
            .prop_filter("BMP, not NUL", |c| u32::from(*c) <= 0xFFFF && *c != '\0')
            .prop_map(CimValue::Char16)
            .boxed(),
        CimType::String => text().prop_map(CimValue::String).boxed(),
        CimType::DateTime => datetime().prop_map(CimValue::DateTime).boxed(),
        CimType::UInt8 => any::<u8>().prop_map(CimValue::UInt8).boxed(),
        CimType::SInt8 => any::<i8>().prop_map(CimValue::SInt8).boxed(),
        CimType::UInt16 => any::<u16>().prop_map(CimValue::UInt16).boxed(),
        CimType::SInt16 => any::<i16>().prop_map(CimValue::SInt16).boxed(),
        CimType::UInt32 => any::<u32>().prop_map(CimValue::UInt32).boxed(),
        CimType::SInt32 => any::<i32>().prop_map(CimValue::SInt32).boxed(),
        CimType::UInt64 => any::<u64>().prop_map(CimValue::UInt64).boxed(),
        CimType::SInt64 => any::<i64>().prop_map(CimValue::SInt64).boxed(),
        CimType::Real32 => any::<f32>()
            .prop_filter("not NaN", |f| !f.is_nan())
            .prop_map(CimValue::Real32)
            .boxed(),
        CimType::Real64 => any::<f64>()
            .prop_filter("not NaN", |f| !f.is_nan())
            .prop_map(CimValue::Real64)
            .boxed(),
        CimType::Reference | CimType::Instance => path().prop_map(CimValue::Reference).boxed(),
    }
}

fn cim_type() -> impl Strategy<Value = CimType> {
    prop::sample::select(
        CimType::ALL
            .iter()
            .copied()
            .filter(|t| *t != CimType::Instance)
            .collect::<Vec<_>>(),
    )
}

fn property(embedded: Option<BoxedStrategy<Instance>>) -> BoxedStrategy<Property> {
    let attrs = (ident(), prop::option::of(ident()), any::<bool>());
    let typed = (attrs, cim_type(), 0usize..4, prop::option::of(0usize..4))
        .prop_flat_map(|(attrs, ty, kind, len)| {
            let value = match (kind, len) {
                (0, _) => Just(None).boxed(),
                (_, None) => scalar(ty).prop_map(Some).boxed(),
                (_, Some(n)) => prop::collection::vec(scalar(ty), n)
                    .prop_map(move |items| Some(CimValue::Array(CimArray::new(ty, items).unwrap())))
                    .boxed(),
            };
            (Just(attrs), Just(ty), Just(len.is_some()), value)
        })
        .prop_map(
            |((name, origin, propagated), ty, is_array, value)| Property {
                class_origin: origin,
                propagated,
                ..match value {
                    Some(v) => Property::new(&name, v),
                    None => Property::null(&name, ty, is_array),
                }
            },
        );
    match embedded {
        None => typed.boxed(),
        Some(inner) => prop_oneof![
            4 => typed,
            1 => (ident(), inner.clone()).prop_map(|(n, i)| Property::embedded_instance(&n, i)),
            1 => (ident(), prop::collection::vec(inner, 0..3)).prop_map(|(n, v)| Property::embedded_instances(&n, v)),
        ]
        .boxed(),
    }
}

fn instance_with(props: BoxedStrategy<Property>) -> BoxedStrategy<Instance> {
    (ident(), prop::collection::vec(props, 0..6))
        .prop_map(|(class, properties)| Instance {
            class_name: class,
            qualifiers: vec![],
            properties,
        })
        .boxed()
}

fn instance() -> impl Strategy<Value = Instance> {
    let inner = instance_with(property(None));
    instance_with(property(Some(inner)))
}

proptest! {
    #[test]
    fn random_instances_round_trip(i in instance()) {
        let xml = write_instance(&i);
        prop_assert_eq!(&read_instance(&xml, &Limits::DEFAULT).unwrap(), &i, "{}", xml);

        let export = ExportRequest::export_indication("1", i.clone());
        let xml = write_export_request(&export);
        prop_assert_eq!(read_export_request(xml.as_bytes(), &Limits::DEFAULT).unwrap(), export);

        let response = Response::extrinsic("2", "GetError", CimValue::UInt32(0), vec![
            ("Error".into(), ParamValue::Instance(Box::new(i.clone()))),
        ]);
        let xml = write_response(&response);
        prop_assert_eq!(read_response(xml.as_bytes(), &Limits::DEFAULT).unwrap(), response);
    }

    #[test]
    fn random_instance_paths_round_trip(p in path()) {
        // A method target is a local path: no host.
        let mut full = ObjectPath { host: None, ..p.clone() };
        if full.namespace.is_none() {
            full.namespace = Some("root/cimv2".into());
        }
        let named = ObjectPath { host: None, namespace: None, ..p.clone() };
        let response = Response::intrinsic("3", "EnumerateInstanceNames", Some(IReturnValue::InstanceNames(vec![named])));
        let xml = write_response(&response);
        prop_assert_eq!(read_response(xml.as_bytes(), &Limits::DEFAULT).unwrap(), response);
        let request = Request::extrinsic("4", full, "M", vec![("P".into(), ParamValue::Value(CimValue::Reference(p)))]);
        let xml = write_request(&request);
        prop_assert_eq!(read_request(xml.as_bytes(), &Limits::DEFAULT).unwrap(), request);
    }
}

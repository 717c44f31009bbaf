//! Field helpers: reading strings, labels, lists and ports out of an object's JSON.

use super::*;

pub(super) fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        match cur.get(p) {
            Some(next) => cur = next,
            None => return "",
        }
    }
    cur.as_str().unwrap_or("")
}

pub(super) fn name(obj: &Value) -> String {
    str_at(obj, &["metadata", "name"]).to_string()
}

pub(super) fn namespace(obj: &Value) -> String {
    str_at(obj, &["metadata", "namespace"]).to_string()
}

pub(super) fn labels_at(v: &Value, path: &[&str]) -> Labels {
    let mut cur = v;
    for p in path {
        match cur.get(p) {
            Some(next) => cur = next,
            None => return Labels::new(),
        }
    }
    string_map(cur)
}

pub(super) fn string_map(v: &Value) -> Labels {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

pub(super) fn strings(v: &Value, key: &str) -> Vec<String> {
    array(v, key).iter().map(|s| s.as_str().map(str::to_string).unwrap_or_else(|| s.to_string())).collect()
}

pub(super) fn opt_strings(v: &Value, key: &str) -> Option<Vec<String>> {
    v.get(key).filter(|x| !x.is_null()).map(|_| strings(v, key))
}

pub(super) fn port_u16(v: Option<&Value>) -> Option<u16> {
    v.and_then(Value::as_u64).and_then(|n| u16::try_from(n).ok())
}

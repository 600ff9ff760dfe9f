//! A tiny JSON writer for protocol lines (std only: no serde offline).

use std::fmt::Write as _;

/// A JSON value; objects keep insertion order so lines read like the Python workloads'.
pub enum Json {
    Null,
    Bool(bool),
    Int(i128),
    UInt(u128),
    Float(f64),
    Str(String),
    Obj(Vec<(&'static str, Json)>),
    Arr(Vec<Json>),
}

impl Json {
    pub fn str(s: &str) -> Json {
        Json::Str(s.to_string())
    }

    pub fn opt_float(v: Option<f64>) -> Json {
        v.map_or(Json::Null, Json::Float)
    }

    pub fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Json::UInt(n) => {
                let _ = write!(out, "{n}");
            }
            Json::Float(x) => write_float(*x, out),
            Json::Str(s) => write_str(s, out),
            Json::Obj(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(key, out);
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
            Json::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
        }
    }

    pub fn to_line(&self) -> String {
        let mut out = String::with_capacity(256);
        self.write(&mut out);
        out
    }
}

fn write_float(x: f64, out: &mut String) {
    if !x.is_finite() {
        // JSON has no NaN/inf; null is the honest "not measurable".
        out.push_str("null");
        return;
    }
    // Nanosecond resolution is all the clocks give; rounding drops float noise like 1.0200000000000004e-6.
    let x = if x.abs() < 1e9 { (x * 1e9).round() / 1e9 } else { x };
    let start = out.len();
    let _ = write!(out, "{x}");
    // Keep floats recognisable as floats ("2.0", not "2") so readers never see an int where a float is due.
    if !out[start..].contains(['.', 'e', 'E']) {
        out.push_str(".0");
    }
}

fn write_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_numbers() {
        let v = Json::Obj(vec![
            ("s", Json::str("a\"b\\c\n\u{1}é")),
            ("f", Json::Float(2.0)),
            ("g", Json::Float(0.25)),
            ("noise", Json::Float(1.0200000000000004e-6)),
            ("nan", Json::Float(f64::NAN)),
            ("big", Json::UInt(u128::MAX)),
            ("neg", Json::Int(-3)),
            ("n", Json::Null),
            ("b", Json::Bool(true)),
            ("a", Json::Arr(vec![Json::UInt(1), Json::str("x")])),
            ("e", Json::Arr(vec![])),
        ]);
        assert_eq!(
            v.to_line(),
            "{\"s\":\"a\\\"b\\\\c\\n\\u0001é\",\"f\":2.0,\"g\":0.25,\"noise\":0.00000102,\"nan\":null,\
             \"big\":340282366920938463463374607431768211455,\"neg\":-3,\"n\":null,\"b\":true,\"a\":[1,\"x\"],\"e\":[]}"
        );
    }
}

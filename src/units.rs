//! Sizes and durations as configuration writes them: `100MiB`, `1GiB`,
//! `512KB`, `4096`; `90s`, `10m`, `1h30m`, `250ms`. Both deserialize from a
//! YAML string or number, so a config can say `maxBytes: 100MiB` or
//! `maxBytes: 104857600`.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A number of bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

/// A duration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span(pub Duration);

const SIZE_HELP: &str = "a size such as 512KiB, 100MiB, 1GiB, 10MB or a number of bytes";
const SPAN_HELP: &str = "a duration such as 250ms, 90s, 10m, 1h30m or 1d";

impl ByteSize {
    /// Parse `100MiB`, `1GB`, `4096`. Binary (`KiB`, `MiB`, `GiB`, `TiB`) and
    /// decimal (`KB`, `MB`, `GB`, `TB`) units; `B` or no unit is bytes.
    pub fn parse(text: &str) -> Result<ByteSize, String> {
        let t = text.trim();
        let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        if digits == 0 {
            return Err(format!("{text:?}: expected {SIZE_HELP}"));
        }
        let n: u64 = t[..digits]
            .parse()
            .map_err(|_| format!("{text:?}: too large"))?;
        let mult: u64 = match t[digits..].trim() {
            "" | "B" => 1,
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            "TiB" => 1 << 40,
            "KB" | "kB" => 1_000,
            "MB" => 1_000_000,
            "GB" => 1_000_000_000,
            "TB" => 1_000_000_000_000,
            _ => return Err(format!("{text:?}: expected {SIZE_HELP}")),
        };
        n.checked_mul(mult)
            .map(ByteSize)
            .ok_or_else(|| format!("{text:?}: too large"))
    }
}

impl Span {
    /// Parse `250ms`, `90s`, `10m`, `1h30m`, `1d` (parts largest first).
    pub fn parse(text: &str) -> Result<Span, String> {
        let t = text.trim();
        if let Some(ms) = t.strip_suffix("ms")
            && !ms.is_empty()
            && ms.bytes().all(|b| b.is_ascii_digit())
        {
            return ms
                .parse()
                .map(|ms| Span(Duration::from_millis(ms)))
                .map_err(|_| format!("{text:?}: too large"));
        }
        if t == "0" {
            return Ok(Span(Duration::ZERO));
        }
        crate::filter::duration::parse_duration(t)
            .map(|s| Span(Duration::from_secs(s)))
            .ok_or_else(|| format!("{text:?}: expected {SPAN_HELP}"))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        for (unit, size) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
            if n >= size && n.is_multiple_of(size) {
                return write!(f, "{}{unit}", n / size);
            }
        }
        write!(f, "{n}B")
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.subsec_millis() != 0 || self.0.as_secs() == 0 {
            return write!(f, "{}ms", self.0.as_millis());
        }
        f.write_str(&crate::filter::duration::format_duration(self.0.as_secs()))
    }
}

macro_rules! string_or_number {
    ($ty:ty, $help:expr, $from_u64:expr) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($help)
                    }
                    fn visit_u64<E: de::Error>(self, n: u64) -> Result<$ty, E> {
                        Ok($from_u64(n))
                    }
                    fn visit_i64<E: de::Error>(self, n: i64) -> Result<$ty, E> {
                        u64::try_from(n)
                            .map($from_u64)
                            .map_err(|_| E::custom(format!("expected {}", $help)))
                    }
                    fn visit_str<E: de::Error>(self, s: &str) -> Result<$ty, E> {
                        <$ty>::parse(s).map_err(E::custom)
                    }
                }
                d.deserialize_any(V)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    };
}

string_or_number!(ByteSize, SIZE_HELP, ByteSize);
// A bare number of a duration is seconds.
string_or_number!(Span, SPAN_HELP, |n| Span(Duration::from_secs(n)));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(ByteSize::parse("100MiB").unwrap().0, 100 << 20);
        assert_eq!(ByteSize::parse("1GiB").unwrap().0, 1 << 30);
        assert_eq!(ByteSize::parse("10MB").unwrap().0, 10_000_000);
        assert_eq!(ByteSize::parse("4096").unwrap().0, 4096);
        assert!(ByteSize::parse("10 parsecs").is_err());
        assert!(ByteSize::parse("MiB").is_err());
        assert_eq!(ByteSize(100 << 20).to_string(), "100MiB");
        let v: ByteSize = serde_norway::from_str("1GiB").unwrap();
        assert_eq!(v.0, 1 << 30);
        let v: ByteSize = serde_norway::from_str("2048").unwrap();
        assert_eq!(v.0, 2048);
    }

    #[test]
    fn spans() {
        assert_eq!(Span::parse("250ms").unwrap().0, Duration::from_millis(250));
        assert_eq!(Span::parse("1h30m").unwrap().0, Duration::from_secs(5400));
        assert_eq!(Span::parse("0").unwrap().0, Duration::ZERO);
        assert!(Span::parse("soon").is_err());
        assert_eq!(Span(Duration::from_millis(1500)).to_string(), "1500ms");
        assert_eq!(Span(Duration::from_secs(90)).to_string(), "1m30s");
        let v: Span = serde_norway::from_str("10").unwrap();
        assert_eq!(v.0, Duration::from_secs(10));
    }
}

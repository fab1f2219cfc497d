//! Durations as the filter language writes them: `90s`, `10m`, `2h`, `1d`,
//! and combinations in descending order such as `1h30m` or `2d12h`.
//!
//! kev compares ages in whole seconds, so a duration is a number of seconds.

/// Seconds in each unit, largest first.
const UNITS: [(char, u64); 4] = [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];

/// What a duration looks like, for error messages.
pub const DURATION_HELP: &str = "a duration such as 90s, 10m, 2h, 1d or 1h30m";

/// Parse a duration into seconds. Each part is digits and a unit (`d`, `h`,
/// `m`, `s`); units appear at most once and largest first. `None` if the text
/// is not a duration or overflows.
pub fn parse_duration(text: &str) -> Option<u64> {
    let mut rest = text;
    let mut total: u64 = 0;
    let mut next_unit = 0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        let unit = rest[digits..].chars().next()?;
        let idx = UNITS[next_unit..].iter().position(|&(u, _)| u == unit)? + next_unit;
        total = total.checked_add(n.checked_mul(UNITS[idx].1)?)?;
        next_unit = idx + 1;
        rest = &rest[digits + 1..];
    }
    // Ages are compared as i64 seconds.
    i64::try_from(total).ok()?;
    Some(total)
}

/// The shortest canonical text for a number of seconds: `0s`, `90s` → `1m30s`,
/// `86400` → `1d`.
pub fn format_duration(mut secs: u64) -> String {
    if secs == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, size) in UNITS {
        if secs >= size {
            out.push_str(&(secs / size).to_string());
            out.push(unit);
            secs %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        for (s, want) in [
            ("90s", Some(90)),
            ("10m", Some(600)),
            ("2h", Some(7200)),
            ("1d", Some(86_400)),
            ("1h30m", Some(5400)),
            ("2d12h5m7s", Some(2 * 86_400 + 12 * 3600 + 5 * 60 + 7)),
            ("0s", Some(0)),
            ("", None),
            ("10", None),
            ("m", None),
            ("10x", None),
            ("30m1h", None),
            ("1h1h", None),
            ("-5m", None),
            ("1.5h", None),
            ("99999999999999999999s", None),
            ("9999999999999999d", None),
        ] {
            assert_eq!(parse_duration(s), want, "{s}");
        }
    }

    #[test]
    fn formats_round_trip() {
        for secs in [0, 1, 59, 60, 90, 3600, 5400, 86_400, 90_061, 1_000_000] {
            let s = format_duration(secs);
            assert_eq!(parse_duration(&s), Some(secs), "{s}");
        }
        assert_eq!(format_duration(5400), "1h30m");
    }
}

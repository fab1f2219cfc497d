//! kubectl's human durations (`45s`, `3m12s`, `59m`, `2h5m`, `3d4h`, `2y10d`).
//!
//! A port of `HumanDuration` from k8s.io/apimachinery/pkg/util/duration, so
//! that LAST SEEN reads exactly as `kubectl events` prints it.

use chrono::{DateTime, Utc};

/// Format an elapsed time given in milliseconds the way kubectl does.
pub fn human_duration_ms(ms: i64) -> String {
    // Go truncates toward zero when converting a Duration to whole seconds.
    let seconds = ms / 1000;
    if seconds < -1 {
        return "<invalid>".to_string();
    } else if seconds < 0 {
        return "0s".to_string();
    } else if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        if s == 0 {
            return format!("{minutes}m");
        }
        return format!("{minutes}m{s}s");
    } else if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        if m == 0 {
            return format!("{hours}h");
        }
        return format!("{hours}h{m}m");
    } else if hours < 48 {
        return format!("{hours}h");
    } else if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 {
            return format!("{}d", hours / 24);
        }
        return format!("{}d{}h", hours / 24, h);
    } else if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    } else if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        if dy == 0 {
            return format!("{}y", hours / 24 / 365);
        }
        return format!("{}y{}d", hours / 24 / 365, dy);
    }
    format!("{}y", hours / 24 / 365)
}

/// The age of `t` at `now`, in kubectl's format; `<unknown>` when absent.
pub fn age(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match t {
        Some(t) => human_duration_ms((now - t).num_milliseconds()),
        None => "<unknown>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_kubectl_table() {
        let s = 1000;
        let m = 60 * s;
        let h = 60 * m;
        let d = 24 * h;
        let cases = [
            (-3 * s, "<invalid>"),
            (-1500, "0s"),
            (0, "0s"),
            (999, "0s"),
            (45 * s, "45s"),
            (119 * s, "119s"),
            (2 * m, "2m"),
            (3 * m + 12 * s, "3m12s"),
            (9 * m + 59 * s, "9m59s"),
            (10 * m + 30 * s, "10m"),
            (59 * m, "59m"),
            (179 * m, "179m"),
            (3 * h, "3h"),
            (2 * h + 5 * m, "125m"),
            (3 * h + 5 * m, "3h5m"),
            (8 * h, "8h"),
            (47 * h + 59 * m, "47h"),
            (2 * d, "2d"),
            (3 * d + 4 * h, "3d4h"),
            (8 * d, "8d"),
            (729 * d, "729d"),
            (730 * d, "2y"),
            (740 * d, "2y10d"),
            (8 * 365 * d, "8y"),
        ];
        for (ms, want) in cases {
            assert_eq!(human_duration_ms(ms), want, "{ms}ms");
        }
    }
}

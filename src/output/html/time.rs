//! Reading back the JSON's RFC 3339 times to place them on a chart's axis,
//! and axis labels in UTC at a precision the span needs.

use crate::wire::Timestamp;

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z` to nanoseconds since the epoch.
pub fn parse_ns(s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z')?;
    let (date, tod) = s.split_once('T')?;
    let mut d = date.splitn(3, '-');
    let y: i64 = d.next()?.parse().ok()?;
    let m: i64 = d.next()?.parse().ok()?;
    let day: i64 = d.next()?.parse().ok()?;
    let (hms, frac) = tod.split_once('.').unwrap_or((tod, ""));
    let mut t = hms.splitn(3, ':');
    let h: i64 = t.next()?.parse().ok()?;
    let mi: i64 = t.next()?.parse().ok()?;
    let sec: i64 = t.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || frac.len() > 9 {
        return None;
    }
    let nanos: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    let days = days_from_civil(y, m, day);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// Howard Hinnant's `days_from_civil`, the inverse of the one the RFC 3339
/// writer uses.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Time of day for an axis tick, as precise as a chart spanning `span_ns`
/// needs: seconds for minutes and more, milliseconds below 10 s,
/// microseconds below 10 ms.
pub fn tick_label(ns: i64, span_ns: i64) -> String {
    let full = Timestamp(ns).rfc3339();
    // "2026-11-21T13:31:25.074823Z": time of day at 11..19, fraction 20..26.
    let hms = full.get(11..19).unwrap_or("");
    let frac = full.get(20..26).unwrap_or("");
    if span_ns >= 10_000_000_000 {
        hms.to_string()
    } else if span_ns >= 10_000_000 {
        format!("{hms}.{}", frac.get(..3).unwrap_or(""))
    } else {
        format!("{hms}.{frac}")
    }
}

/// The date part, said once under an axis.
pub fn date(ns: i64) -> String {
    Timestamp(ns).rfc3339().get(..10).unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_writer() {
        for ns in [
            0i64,
            1_795_182_685_074_823_000,
            951_782_400_000_001_000,
            -86_400_000_000_000,
        ] {
            let s = Timestamp(ns).rfc3339();
            assert_eq!(parse_ns(&s), Some(ns), "{s}");
        }
        assert_eq!(
            parse_ns("2026-11-21T13:31:25Z"),
            parse_ns("2026-11-21T13:31:25.000000Z")
        );
        assert_eq!(parse_ns("not a time"), None);
        assert_eq!(parse_ns("2026-13-01T00:00:00Z"), None);
    }

    #[test]
    fn labels_follow_the_span() {
        let t = parse_ns("2026-11-21T13:31:25.074823Z").expect("time");
        assert_eq!(tick_label(t, 60_000_000_000), "13:31:25");
        assert_eq!(tick_label(t, 1_000_000_000), "13:31:25.074");
        assert_eq!(tick_label(t, 1_000_000), "13:31:25.074823");
        assert_eq!(date(t), "2026-11-21");
    }
}

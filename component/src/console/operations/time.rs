//! Times on the operations pages: shown as UTC ISO-8601, and read from the audit filter's date
//! fields. The component has no calendar crate; the civil-date arithmetic is Howard Hinnant's
//! (days from 1970-01-01 in the proleptic Gregorian calendar), which is exact for every date.

/// `2026-12-06T05:29:35Z` for a time in seconds since the epoch.
pub fn iso(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// How long ago `then` was, for people: `42 s`, `5 min`, `3 h 10 min`, `2 d 4 h`.
pub fn age(now: u64, then: u64) -> String {
    let s = now.saturating_sub(then);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A date as a browser's date field sends it (`2026-11-25`, taken as UTC), or a full UTC time
/// (`2026-11-25T09:00`, `2026-11-25T09:00:00Z`): seconds since the epoch at its start.
pub fn parse(text: &str) -> Result<u64, String> {
    let bad = || format!("{text:?} is not a date: use 2026-11-25 or 2026-11-25T09:00:00Z");
    let t = text.trim();
    let (date, clock) = match t.split_once(['T', ' ']) {
        Some((d, c)) => (d, Some(c.trim_end_matches('Z'))),
        None => (t, None),
    };
    let mut ymd = date.splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (ymd.next(), ymd.next(), ymd.next()) else {
        return Err(bad());
    };
    let num = |s: &str, n: usize| {
        (s.len() == n && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    let (Some(y), Some(m), Some(d)) = (num(y, 4), num(m, 2), num(d, 2)) else {
        return Err(bad());
    };
    let month_days = [
        31,
        28 + u32::from(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)),
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1970..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || d == 0
        || d > month_days[m as usize - 1]
    {
        return Err(bad());
    }
    let mut secs = 0;
    if let Some(c) = clock {
        let parts: Vec<_> = c.split(':').collect();
        let vals: Option<Vec<u32>> = parts.iter().map(|p| num(p, 2)).collect();
        match vals.as_deref() {
            Some([h, mi]) if *h < 24 && *mi < 60 => secs = h * 3600 + mi * 60,
            Some([h, mi, s]) if *h < 24 && *mi < 60 && *s < 60 => secs = h * 3600 + mi * 60 + s,
            _ => return Err(bad()),
        }
    }
    Ok(days_from_civil(i64::from(y), m, d) as u64 * 86_400 + u64::from(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_what_is_not_a_date() {
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso(1_764_998_975), "2025-12-06T05:29:35Z");
        assert_eq!(iso(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(parse("2025-12-06T05:29:35Z").unwrap(), 1_764_998_975);
        assert_eq!(parse("2000-02-29").unwrap(), 951_782_400);
        assert_eq!(parse("2000-02-29T00:01").unwrap(), 951_782_460);
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-02-29",
            "26-01-01",
            "2026-01-01T25:00",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(age(100, 58), "42 s");
        assert_eq!(age(10_000, 0), "2 h 46 min");
    }
}

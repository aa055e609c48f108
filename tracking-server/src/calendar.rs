//! Calendar arithmetic for timestamps shown to people (the UI) and sent to machines (webhook
//! payloads), without a date-time dependency for one function.

/// Howard Hinnant's `civil_from_days`: proleptic Gregorian date of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The inverse of [`civil_from_days`] (Hinnant's `days_from_civil`) for a `YYYY-MM-DD` text; `None`
/// when the text is not a real date.
pub fn days_from_date(text: &str) -> Option<i64> {
    let mut parts = text.splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || text.len() != 10 {
        return None;
    }
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = i64::from(if m > 2 { m - 3 } else { m + 9 });
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    // 2026-02-31 would land in March: refuse it rather than move it.
    (civil_from_days(days) == (y, m, d)).then_some(days)
}

/// `YYYY-MM-DD` of a day count since 1970-01-01.
pub fn date_of_days(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_day_counts_convert_both_ways() {
        assert_eq!(days_from_date("1970-01-01"), Some(0));
        assert_eq!(days_from_date("2000-03-01"), Some(11_017));
        assert_eq!(days_from_date("2026-12-05"), Some(20_792));
        for days in [-1, 0, 59, 60, 11_016, 20_792, 2_000_000] {
            assert_eq!(days_from_date(&date_of_days(days)), Some(days), "{days}");
        }
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-1-01",
            "20261201",
            "",
            "2026-12-0x",
        ] {
            assert_eq!(days_from_date(bad), None, "{bad}");
        }
        assert_eq!(
            days_from_date("2024-02-29").map(date_of_days).as_deref(),
            Some("2024-02-29")
        );
    }
}

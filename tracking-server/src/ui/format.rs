//! How values read on a page: UTC times, durations, compact numbers. No time-zone database is needed
//! because every time is shown in UTC and labelled so.

use crate::calendar::civil_from_days;

/// `2026-11-22 05:29:39` for milliseconds since the epoch (UTC).
pub(crate) fn time(ms: i64) -> String {
    if ms <= 0 {
        return String::new();
    }
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `850ms`, `12.3s`, `4m 05s`, `2h 03m`, `3d 4h`; empty while a run has no end.
pub(crate) fn duration(start: i64, end: Option<i64>) -> String {
    match end {
        Some(end) if end >= start && start > 0 => duration_ms(end - start),
        _ => String::new(),
    }
}

pub(crate) fn duration_ms(ms: i64) -> String {
    let s = ms / 1000;
    if ms < 1000 {
        format!("{ms}ms")
    } else if s < 60 {
        #[allow(clippy::cast_precision_loss)]
        let secs = ms as f64 / 1000.0;
        format!("{secs:.1}s")
    } else if s < 3600 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else if s < 86_400 {
        format!("{}h {:02}m", s / 3600, s % 3600 / 60)
    } else {
        format!("{}d {}h", s / 86_400, s % 86_400 / 3600)
    }
}

/// Six significant digits, as a table cell has room for; the run page shows the exact value.
pub(crate) fn number(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    if v == v.trunc() && v.abs() < 1e15 {
        #[allow(clippy::cast_possible_truncation)]
        return format!("{}", v as i64);
    }
    let magnitude = v.abs().log10().floor();
    if !(-4.0..15.0).contains(&magnitude) {
        return format!("{v:.5e}");
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let decimals = (5.0 - magnitude).max(0.0) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// The exact value as the API would print it (shortest round-trip representation).
pub(crate) fn exact(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else {
        format!("{v}")
    }
}

/// A byte count for file listings.
pub(crate) fn bytes(n: i64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let f = n as f64;
    if n < 1024 {
        format!("{n} B")
    } else if n < 1024 * 1024 {
        format!("{:.1} KiB", f / 1024.0)
    } else if n < 1024 * 1024 * 1024 {
        format!("{:.1} MiB", f / 1024.0 / 1024.0)
    } else {
        format!("{:.1} GiB", f / 1024.0 / 1024.0 / 1024.0)
    }
}

/// The last path component of a source name (`/home/me/train.py` → `train.py`).
pub(crate) fn basename(path: &str) -> &str {
    path.trim_end_matches('/')
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_calendar_dates() {
        assert_eq!(time(0), "");
        assert_eq!(time(1_700_000_000_000), "2023-11-14 22:13:20");
        assert_eq!(time(951_782_400_000), "2000-02-29 00:00:00");
    }

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(duration(1000, None), "");
        assert_eq!(duration_ms(850), "850ms");
        assert_eq!(duration_ms(12_345), "12.3s");
        assert_eq!(duration_ms(245_000), "4m 05s");
        assert_eq!(duration_ms(7_380_000), "2h 03m");
        assert_eq!(duration_ms(270_000_000), "3d 3h");
    }

    #[test]
    fn numbers_keep_six_significant_digits() {
        assert_eq!(number(0.123_456_789), "0.123457");
        assert_eq!(number(1234.5678), "1234.57");
        assert_eq!(number(42.0), "42");
        assert_eq!(number(1.5e-7), "1.50000e-7");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(exact(0.1), "0.1");
    }

    #[test]
    fn basenames_drop_directories() {
        assert_eq!(basename("/home/me/train.py"), "train.py");
        assert_eq!(basename("train.py"), "train.py");
    }
}

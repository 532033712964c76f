//! Timer definitions as Zeebe reads them: `timeDate`, `timeDuration` and `timeCycle`.
//!
//! Nothing here reads the clock. Every instant is passed in and returned as epoch milliseconds
//! (UTC), so replaying the same records computes the same due dates. Calendar arithmetic (months,
//! years) and cron expressions are evaluated in UTC, where a day is always 24 hours.
//!
//! Time zone names in dates (`[Europe/Berlin]`) are resolved with a time zone database compiled
//! into the binary rather than the host's, for the same reason.

use std::fmt;
use std::sync::LazyLock;

use jiff::fmt::temporal::DateTimeParser;
use jiff::tz::{TimeZone, TimeZoneDatabase};
use jiff::{Span, Timestamp};

const DAY_MS: i128 = 86_400_000;
/// Spans beyond these can never land inside the supported years (-9999 to 9999), so they are
/// refused when parsed rather than failing later on every evaluation.
const MAX_MONTHS: i128 = 20_000 * 12;
const MAX_MILLIS: i128 = 20_000 * 366 * DAY_MS;

const DURATION_EXAMPLES: &str = "an ISO 8601 duration like 'PT30S', 'P1DT2H' or 'P1M'";
const DATE_EXAMPLES: &str = "an ISO 8601 date-time like '2025-10-01T12:00:00Z', '2025-10-01T12:00:00+02:00' or '2025-10-01T12:00:00[Europe/Berlin]'";
const CYCLE_EXAMPLES: &str = "a repeating interval like 'R5/PT10S' or a cron expression like '0 0 9 * * MON-FRI'";

static PARSER: DateTimeParser = DateTimeParser::new();
static TZDB: LazyLock<TimeZoneDatabase> = LazyLock::new(TimeZoneDatabase::bundled);

/// Which BPMN element holds the text: `timeDate`, `timeDuration` or `timeCycle`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimerKind {
    Date,
    Duration,
    Cycle,
}

/// A parsed timer definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// `timeDate`: a fixed instant, epoch ms. The text needs an offset (`Z`, `+02:00`) or a zone
    /// (`[Europe/Berlin]`); a date-time with neither is taken as UTC.
    Date(i64),
    /// `timeDuration`: fires once, this long after the timer opens.
    Duration(Period),
    /// `timeCycle` as an ISO 8601 repeating interval: `R5/PT10S`, `R/PT1H` or
    /// `R3/2025-01-01T00:00:00Z/P1D`. `repetitions: None` repeats without end.
    Cycle { repetitions: Option<u32>, start_ms: Option<i64>, period: Period },
    /// `timeCycle` as a cron expression, evaluated in UTC.
    Cron(CronSchedule),
}

impl Schedule {
    /// Parses the text of a timer element. Surrounding whitespace is ignored.
    ///
    /// A `timeCycle` starting with `R` is a repeating interval; anything else is read as a cron
    /// expression (see [`CronSchedule`]).
    pub fn parse(kind: TimerKind, text: &str) -> Result<Schedule, String> {
        match kind {
            TimerKind::Date => parse_instant(text).map(Schedule::Date),
            TimerKind::Duration => Period::parse(text).map(Schedule::Duration),
            TimerKind::Cycle => parse_cycle(text),
        }
    }

    /// When the timer first fires if it opens at `now_ms`.
    ///
    /// The result may lie at or before `now_ms` (a date in the past, a cycle whose start has
    /// passed): the caller fires such a timer at once. A cron timer fires at the first match
    /// strictly after `now_ms`.
    pub fn first_due(&self, now_ms: i64) -> Result<i64, String> {
        match self {
            Schedule::Date(due) => Ok(*due),
            Schedule::Duration(period) | Schedule::Cycle { start_ms: None, period, .. } => period.add_to(now_ms),
            Schedule::Cycle { start_ms: Some(start), .. } => Ok(*start),
            Schedule::Cron(cron) => cron.next_after(now_ms),
        }
    }

    /// The due date after a cycle fired, or `None` when it is done.
    ///
    /// `fired_due_ms` is the due date of the firing (not the moment it was processed), `now_ms`
    /// the current time, and `repetitions_left` what [`Schedule::repetitions`] returned minus the
    /// firings so far (`None` for an unbounded cycle). Dates and durations never fire again.
    ///
    /// A repeating interval is due one period after the previous due date, so processing delays
    /// do not accumulate. If that is already at or before `now_ms` (cycles were missed while the
    /// engine was down, or the start lay in the past), the missed firings are skipped and the
    /// cycle is due one period after `now_ms`, as Zeebe does. Likewise a cron timer is due at the
    /// first match strictly after both `fired_due_ms` and `now_ms`.
    ///
    /// `None` is also returned when the next due date would fall outside the supported years.
    pub fn next_due(&self, fired_due_ms: i64, now_ms: i64, repetitions_left: Option<u32>) -> Option<i64> {
        if repetitions_left == Some(0) {
            return None;
        }
        match self {
            Schedule::Date(_) | Schedule::Duration(_) => None,
            Schedule::Cycle { period, .. } => {
                let natural = period.add_to(fired_due_ms).ok()?;
                if natural > now_ms { Some(natural) } else { period.add_to(now_ms).ok() }
            }
            Schedule::Cron(cron) => cron.next_after(fired_due_ms.max(now_ms)).ok(),
        }
    }

    /// How many times the timer fires in all: `Some(1)` for a date or duration, `Some(n)` for
    /// `Rn/…`, `None` for `R/…` and for cron.
    pub fn repetitions(&self) -> Option<u32> {
        match self {
            Schedule::Date(_) | Schedule::Duration(_) => Some(1),
            Schedule::Cycle { repetitions, .. } => *repetitions,
            Schedule::Cron(_) => None,
        }
    }
}

/// A non-negative ISO 8601 duration: calendar months (years count as 12) plus exact milliseconds
/// (weeks, days, hours, minutes and seconds; a day is 24 hours, as in UTC).
///
/// Months are added first, on the UTC calendar, clamping to the end of a shorter month
/// (2025-01-31 + P1M = 2025-02-28), then the milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Period {
    months: u32,
    millis: i64,
}

impl Period {
    /// Parses `PnYnMnWnDTnHnMnS` with any of the parts present, in that order. Only seconds may
    /// have a fraction (`PT0.5S`, up to nine digits, cut to whole milliseconds). Letters may be
    /// lower case. Negative durations are refused.
    pub fn parse(text: &str) -> Result<Period, String> {
        let text = text.trim();
        parse_period(text).map_err(|problem| match problem {
            PeriodProblem::Invalid => format!("'{text}' is not {DURATION_EXAMPLES}"),
            PeriodProblem::Negative => {
                format!("'{text}' is a negative duration; a timer needs zero or more, like 'PT30S'")
            }
            PeriodProblem::TooLarge => {
                format!("'{text}' is too long a duration; at most 20000 years can be used")
            }
        })
    }

    /// Calendar months, years included.
    pub fn months(&self) -> u32 {
        self.months
    }

    /// The exact part, in milliseconds.
    pub fn millis(&self) -> i64 {
        self.millis
    }

    pub fn is_zero(&self) -> bool {
        self.months == 0 && self.millis == 0
    }

    /// `epoch_ms` plus this period. Fails when the result falls outside the years -9999 to 9999.
    pub fn add_to(&self, epoch_ms: i64) -> Result<i64, String> {
        let out_of_range =
            || format!("'{self}' after {} falls outside the years -9999 to 9999", show_instant(epoch_ms));
        let mut due = epoch_ms;
        if self.months > 0 {
            let start = Timestamp::from_millisecond(due).map_err(|_| out_of_range())?;
            let months = Span::new().try_months(self.months).map_err(|_| out_of_range())?;
            due = start
                .to_zoned(TimeZone::UTC)
                .checked_add(months)
                .map_err(|_| out_of_range())?
                .timestamp()
                .as_millisecond();
        }
        let due = due.checked_add(self.millis).ok_or_else(out_of_range)?;
        Timestamp::from_millisecond(due).map_err(|_| out_of_range())?;
        Ok(due)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (years, months) = (self.months / 12, self.months % 12);
        let millis = i128::from(self.millis);
        let (days, rest) = (millis / DAY_MS, millis % DAY_MS);
        let (hours, minutes, seconds, fraction) = (rest / 3_600_000, rest / 60_000 % 60, rest / 1000 % 60, rest % 1000);
        f.write_str("P")?;
        if years > 0 {
            write!(f, "{years}Y")?;
        }
        if months > 0 {
            write!(f, "{months}M")?;
        }
        if days > 0 {
            write!(f, "{days}D")?;
        }
        if rest > 0 {
            f.write_str("T")?;
            if hours > 0 {
                write!(f, "{hours}H")?;
            }
            if minutes > 0 {
                write!(f, "{minutes}M")?;
            }
            if fraction > 0 {
                write!(f, "{seconds}.{fraction:03}S")?;
            } else if seconds > 0 {
                write!(f, "{seconds}S")?;
            }
        } else if self.is_zero() {
            f.write_str("T0S")?;
        }
        Ok(())
    }
}

/// A cron expression in the Spring style that Zeebe uses: six fields with seconds first
/// (`0 0 9-17 * * MON-FRI`), or five with seconds taken as `0`. It accepts ranges, steps, lists,
/// month and weekday names, `?`, `L`, `W` and `#`, and the macros `@yearly`, `@annually`,
/// `@monthly`, `@weekly`, `@daily`, `@midnight` and `@hourly`. As in Spring, a day must match
/// both the day-of-month and the day-of-week field; weekdays run 0–7 with both 0 and 7 Sunday.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronSchedule {
    text: String,
    cron: Box<croner::Cron>,
}

impl CronSchedule {
    pub fn parse(text: &str) -> Result<CronSchedule, String> {
        let text = text.trim();
        let invalid = |why: &dyn fmt::Display| format!("'{text}' is not {CYCLE_EXAMPLES}: {why}");
        // Spring knows `@midnight`; croner does not.
        let pattern = if text.eq_ignore_ascii_case("@midnight") { "@daily" } else { text };
        let cron = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Optional)
            .year(croner::parser::Year::Disallowed)
            .dom_and_dow(true)
            .build()
            .parse(pattern)
            .map_err(|error| invalid(&error))?;
        let schedule = CronSchedule { text: text.to_owned(), cron: Box::new(cron) };
        // A pattern like `0 0 0 30 2 *` parses but never matches; refusing it at deploy beats a
        // timer that can never be scheduled.
        if schedule.next_after(0).is_err() {
            return Err(invalid(&"it matches no date"));
        }
        Ok(schedule)
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first matching instant strictly after `epoch_ms`. Matches fall on whole seconds.
    pub fn next_after(&self, epoch_ms: i64) -> Result<i64, String> {
        let none = || format!("cron expression '{}' matches no time after {}", self.as_str(), show_instant(epoch_ms));
        let from = Timestamp::from_millisecond(epoch_ms).map_err(|_| none())?.to_zoned(TimeZone::UTC);
        let next = self.cron.find_next_occurrence(&from, false).map_err(|_| none())?;
        Ok(next.timestamp().as_millisecond())
    }
}

fn show_instant(epoch_ms: i64) -> String {
    match Timestamp::from_millisecond(epoch_ms) {
        Ok(instant) => instant.to_string(),
        Err(_) => format!("{epoch_ms} ms since 1970"),
    }
}

/// Parses a `timeDate`. Zone names resolve against the bundled time zone database; a date-time
/// with neither offset nor zone is taken as UTC.
fn parse_instant(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let parsed = if text.contains('[') {
        PARSER.parse_zoned_with(&TZDB, text).map(|zoned| zoned.timestamp())
    } else {
        PARSER.parse_timestamp(text).or_else(|error| {
            PARSER
                .parse_datetime(text)
                .and_then(|civil| civil.to_zoned(TimeZone::UTC))
                .map(|z| z.timestamp())
                .map_err(|_| error)
        })
    };
    parsed.map(Timestamp::as_millisecond).map_err(|error| format!("'{text}' is not {DATE_EXAMPLES}: {error}"))
}

fn parse_cycle(text: &str) -> Result<Schedule, String> {
    let text = text.trim();
    match text.strip_prefix('R') {
        Some(rest) => parse_repeating(rest).map_err(|why| format!("'{text}' is not {CYCLE_EXAMPLES}: {why}")),
        None => CronSchedule::parse(text).map(Schedule::Cron),
    }
}

/// Parses what follows the `R` of `R[n]/[start/]period`.
fn parse_repeating(rest: &str) -> Result<Schedule, String> {
    let (count, interval) =
        rest.split_once('/').ok_or("'R' and the repetition count must be followed by '/' and a duration")?;
    let repetitions = match count {
        "" => None,
        digits if digits.bytes().all(|b| b.is_ascii_digit()) => match digits.parse::<u32>() {
            Ok(0) => return Err("it repeats 0 times; a cycle fires at least once (R1/…), or forever (R/…)".into()),
            Ok(n) => Some(n),
            Err(_) => return Err(format!("{digits} repetitions are too many; at most {} can be counted", u32::MAX)),
        },
        other => return Err(format!("'{other}' after 'R' is not a repetition count like 5")),
    };
    let (start_ms, period_text) = match interval.rsplit_once('/') {
        Some((start, period)) => (Some(parse_instant(start)?), period),
        None => (None, interval),
    };
    let period = Period::parse(period_text)?;
    if period.is_zero() {
        return Err(format!("the interval '{period_text}' is zero; a cycle needs one longer than that"));
    }
    Ok(Schedule::Cycle { repetitions, start_ms, period })
}

enum PeriodProblem {
    Invalid,
    Negative,
    TooLarge,
}

/// Parses `[+-]P[nY][nM][nW][nD][T[nH][nM][n[.f]S]]`. Each number may carry its own sign, as
/// Zeebe's parser allows; any negative part makes the whole duration negative, which timers
/// refuse.
fn parse_period(text: &str) -> Result<Period, PeriodProblem> {
    use PeriodProblem::*;
    let bytes = text.as_bytes();
    let (mut negative, bytes) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        Some(b'+') => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    let bytes = match bytes.first() {
        Some(b'P' | b'p') => &bytes[1..],
        _ => return Err(Invalid),
    };
    let (date, time) = match bytes.iter().position(|b| matches!(b, b'T' | b't')) {
        Some(at) => (&bytes[..at], Some(&bytes[at + 1..])),
        None => (bytes, None),
    };
    if time.is_some_and(<[u8]>::is_empty) || (date.is_empty() && time.is_none()) {
        return Err(Invalid);
    }
    enum Unit {
        Months(i128),
        Millis(i128),
    }
    let mut months: i128 = 0;
    let mut millis: i128 = 0;
    let mut section = |section: &[u8], units: &[(u8, Unit)]| -> Result<(), PeriodProblem> {
        let mut at = 0;
        let mut next_unit = 0;
        while at < section.len() {
            let sign_negative = match section[at] {
                b'-' => {
                    at += 1;
                    true
                }
                b'+' => {
                    at += 1;
                    false
                }
                _ => false,
            };
            let whole = digits(section, &mut at).ok_or(Invalid)?;
            let fraction = match section.get(at) {
                Some(b'.' | b',') => {
                    at += 1;
                    Some(digits(section, &mut at).ok_or(Invalid)?)
                }
                _ => None,
            };
            let letter = section.get(at).ok_or(Invalid)?.to_ascii_uppercase();
            at += 1;
            let position = units.iter().position(|(u, _)| *u == letter).ok_or(Invalid)?;
            if position < next_unit {
                return Err(Invalid);
            }
            next_unit = position + 1;
            // Eighteen digits keep every product below well inside i128.
            if whole.len() > 18 {
                return Err(TooLarge);
            }
            let value: i128 = whole.iter().fold(0, |n, d| n * 10 + i128::from(d - b'0'));
            let part = match (&units[position].1, fraction) {
                (Unit::Months(per), None) => {
                    months += value * per;
                    value
                }
                (Unit::Millis(per), None) => {
                    millis += value * per;
                    value
                }
                (Unit::Millis(1000), Some(fraction)) if fraction.len() <= 9 => {
                    let fraction_ms: i128 =
                        fraction.iter().chain(b"00").take(3).fold(0, |n, d| n * 10 + i128::from(d - b'0'));
                    let nonzero = fraction.iter().any(|d| *d != b'0');
                    millis += value * 1000 + fraction_ms;
                    value + i128::from(nonzero)
                }
                _ => return Err(Invalid),
            };
            negative |= sign_negative && part != 0;
        }
        Ok(())
    };
    section(
        date,
        &[
            (b'Y', Unit::Months(12)),
            (b'M', Unit::Months(1)),
            (b'W', Unit::Millis(7 * DAY_MS)),
            (b'D', Unit::Millis(DAY_MS)),
        ],
    )?;
    if let Some(time) = time {
        section(time, &[(b'H', Unit::Millis(3_600_000)), (b'M', Unit::Millis(60_000)), (b'S', Unit::Millis(1000))])?;
    }
    if negative && (months != 0 || millis != 0) {
        return Err(Negative);
    }
    if months > MAX_MONTHS || millis > MAX_MILLIS {
        return Err(TooLarge);
    }
    let months = u32::try_from(months).map_err(|_| TooLarge)?;
    let millis = i64::try_from(millis).map_err(|_| TooLarge)?;
    Ok(Period { months, millis })
}

/// Reads one or more ASCII digits from `at`, moving past them.
fn digits<'a>(bytes: &'a [u8], at: &mut usize) -> Option<&'a [u8]> {
    let start = *at;
    while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
        *at += 1;
    }
    (*at > start).then(|| &bytes[start..*at])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1000;
    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 86_400_000;

    fn at(text: &str) -> i64 {
        text.parse::<Timestamp>().expect("test instant").as_millisecond()
    }

    fn parse(kind: TimerKind, text: &str) -> Schedule {
        Schedule::parse(kind, text).unwrap_or_else(|error| panic!("{text}: {error}"))
    }

    fn error(kind: TimerKind, text: &str) -> String {
        Schedule::parse(kind, text).expect_err(text)
    }

    fn period(text: &str) -> Period {
        Period::parse(text).unwrap_or_else(|error| panic!("{text}: {error}"))
    }

    #[test]
    fn dates_with_offset_zone_or_nothing() {
        let noon = at("2025-10-01T12:00:00Z");
        assert_eq!(parse(TimerKind::Date, "2025-10-01T12:00:00Z"), Schedule::Date(noon));
        assert_eq!(parse(TimerKind::Date, " 2025-10-01T14:00:00+02:00\n"), Schedule::Date(noon));
        assert_eq!(parse(TimerKind::Date, "2025-10-01T14:00:00[Europe/Berlin]"), Schedule::Date(noon));
        assert_eq!(parse(TimerKind::Date, "2025-10-01T14:00:00+02:00[Europe/Berlin]"), Schedule::Date(noon));
        // Winter time: Berlin is one hour ahead.
        assert_eq!(
            parse(TimerKind::Date, "2025-12-01T13:00:00[Europe/Berlin]"),
            Schedule::Date(at("2025-12-01T12:00:00Z"))
        );
        assert_eq!(parse(TimerKind::Date, "2025-10-01T12:00:00"), Schedule::Date(noon));
        assert_eq!(parse(TimerKind::Date, "2025-10-01T12:00:00.250Z"), Schedule::Date(noon + 250));
    }

    #[test]
    fn a_date_is_due_at_itself_even_when_past() {
        let date = parse(TimerKind::Date, "2025-10-01T12:00:00Z");
        let noon = at("2025-10-01T12:00:00Z");
        assert_eq!(date.first_due(noon - DAY), Ok(noon));
        assert_eq!(date.first_due(noon + DAY), Ok(noon));
        assert_eq!(date.repetitions(), Some(1));
        assert_eq!(date.next_due(noon, noon, Some(0)), None);
        assert_eq!(date.next_due(noon, noon, None), None);
    }

    #[test]
    fn bad_dates_say_what_was_expected() {
        let message = error(TimerKind::Date, "2025-13-01T12:00:00Z");
        assert!(message.starts_with("'2025-13-01T12:00:00Z' is not an ISO 8601 date-time like '2025-10-01T12:00:00Z'"));
        let message = error(TimerKind::Date, "2025-10-01T12:00:00[Mars/Olympus]");
        assert!(message.contains("Mars/Olympus"), "{message}");
        // The offset contradicts the zone.
        error(TimerKind::Date, "2025-10-01T12:00:00+05:00[Europe/Berlin]");
        error(TimerKind::Date, "tomorrow");
        error(TimerKind::Date, "");
    }

    #[test]
    fn durations() {
        let cases = [
            ("PT30S", 0, 30 * SECOND),
            ("PT1H30M", 0, HOUR + 30 * 60 * SECOND),
            ("P2DT6H", 0, 2 * DAY + 6 * HOUR),
            ("P1W", 0, 7 * DAY),
            ("P1W2D", 0, 9 * DAY),
            ("PT0.5S", 0, 500),
            ("PT1,25S", 0, 1250),
            ("PT0.0009S", 0, 0),
            ("pt2m", 0, 120 * SECOND),
            ("PT0S", 0, 0),
            ("P1Y", 12, 0),
            ("P2M", 2, 0),
            ("P1Y2M3DT4H5M6.789S", 14, 3 * DAY + 4 * HOUR + 5 * 60 * SECOND + 6789),
            ("+PT1S", 0, SECOND),
            ("-PT0S", 0, 0),
        ];
        for (text, months, millis) in cases {
            let parsed = period(text);
            assert_eq!((parsed.months(), parsed.millis()), (months, millis), "{text}");
        }
        let open = at("2025-10-01T10:00:00Z");
        assert_eq!(parse(TimerKind::Duration, "PT1H30M").first_due(open), Ok(at("2025-10-01T11:30:00Z")));
        assert_eq!(parse(TimerKind::Duration, "PT1H30M").repetitions(), Some(1));
        assert_eq!(parse(TimerKind::Duration, "PT1H").next_due(open, open, None), None);
    }

    #[test]
    fn calendar_units_follow_the_utc_calendar() {
        let add = |text: &str, from: &str| period(text).add_to(at(from));
        assert_eq!(add("P1M", "2025-01-31T08:00:00Z"), Ok(at("2025-02-28T08:00:00Z")));
        assert_eq!(add("P1M", "2024-01-31T08:00:00Z"), Ok(at("2024-02-29T08:00:00Z")));
        assert_eq!(add("P1Y", "2024-02-29T00:00:00Z"), Ok(at("2025-02-28T00:00:00Z")));
        assert_eq!(add("P1M1D", "2025-01-31T00:00:00Z"), Ok(at("2025-03-01T00:00:00Z")));
        assert_eq!(add("P2M", "2025-10-01T12:00:00.5Z"), Ok(at("2025-12-01T12:00:00.5Z")));
    }

    #[test]
    fn periods_print_as_iso_8601() {
        for (text, shown) in [
            ("P1Y2M3DT4H5M6.789S", "P1Y2M3DT4H5M6.789S"),
            ("P1W", "P7D"),
            ("PT90M", "PT1H30M"),
            ("PT0S", "PT0S"),
            ("PT0.05S", "PT0.050S"),
            ("P12M", "P1Y"),
        ] {
            assert_eq!(period(text).to_string(), shown);
        }
    }

    #[test]
    fn bad_durations_say_what_was_expected() {
        for text in [
            "",
            "P",
            "PT",
            "P1DT",
            "1D",
            "PT1.5H",
            "P1.5D",
            "PT1H1H",
            "P1D1Y",
            "PT1X",
            "P1",
            "PT.5S",
            "P T1S",
            "PT1.1234567891S",
        ] {
            let message = error(TimerKind::Duration, text);
            assert_eq!(message, format!("'{text}' is not an ISO 8601 duration like 'PT30S', 'P1DT2H' or 'P1M'"));
        }
        for text in ["-PT5S", "PT-5S", "P-1D"] {
            assert!(error(TimerKind::Duration, text).contains("is a negative duration"), "{text}");
        }
        for text in ["P999999999999999999999D", "PT9999999999999999H", "P30000Y", "P300000M"] {
            assert!(error(TimerKind::Duration, text).contains("is too long a duration"), "{text}");
        }
    }

    #[test]
    fn overflowing_evaluation_is_an_error_not_a_wrap() {
        let long = parse(TimerKind::Duration, "P19000Y");
        let message = long.first_due(at("2025-01-01T00:00:00Z")).expect_err("past 9999");
        assert!(message.contains("falls outside the years -9999 to 9999"), "{message}");
        assert!(long.first_due(i64::MAX).is_err());
        assert!(parse(TimerKind::Duration, "PT1S").first_due(i64::MAX).is_err());
        assert!(parse(TimerKind::Duration, "P1M").first_due(i64::MIN).is_err());
        let cycle = parse(TimerKind::Cycle, "R/P5000Y");
        assert_eq!(cycle.next_due(at("9000-01-01T00:00:00Z"), 0, None), None);
    }

    #[test]
    fn bounded_cycle_runs_from_due_date_to_due_date() {
        let cycle = parse(TimerKind::Cycle, "R5/PT10S");
        assert_eq!(cycle, Schedule::Cycle { repetitions: Some(5), start_ms: None, period: period("PT10S") });
        assert_eq!(cycle.repetitions(), Some(5));
        let open = at("2025-10-01T10:00:00Z");
        let mut due = cycle.first_due(open).expect("first");
        assert_eq!(due, open + 10 * SECOND);
        let mut dues = vec![due];
        let mut left = cycle.repetitions().map(|n| n - 1);
        // Each firing is processed 300 ms late; the next is still counted from the due date.
        while let Some(next) = cycle.next_due(due, due + 300, left) {
            due = next;
            dues.push(due);
            left = left.map(|n| n - 1);
        }
        assert_eq!(dues, (1..=5).map(|n| open + n * 10 * SECOND).collect::<Vec<_>>());
    }

    #[test]
    fn unbounded_cycle_never_runs_out() {
        let cycle = parse(TimerKind::Cycle, "R/PT1H");
        assert_eq!(cycle.repetitions(), None);
        let open = at("2025-10-01T10:00:00Z");
        assert_eq!(cycle.first_due(open), Ok(open + HOUR));
        assert_eq!(cycle.next_due(open + HOUR, open + HOUR, None), Some(open + 2 * HOUR));
    }

    #[test]
    fn missed_cycles_are_skipped() {
        let cycle = parse(TimerKind::Cycle, "R/PT1H");
        let due = at("2025-10-01T10:00:00Z");
        // The engine was down for 3.5 hours after the firing was due.
        let now = due + 3 * HOUR + HOUR / 2;
        assert_eq!(cycle.next_due(due, now, None), Some(now + HOUR));
        // Exactly on the natural due date counts as missed too: it must lie ahead.
        assert_eq!(cycle.next_due(due, due + HOUR, None), Some(due + 2 * HOUR));
    }

    #[test]
    fn cycle_with_a_start_fires_first_at_the_start() {
        let cycle = parse(TimerKind::Cycle, "R3/2025-01-01T00:00:00Z/P1D");
        let start = at("2025-01-01T00:00:00Z");
        assert_eq!(cycle, Schedule::Cycle { repetitions: Some(3), start_ms: Some(start), period: period("P1D") });
        assert_eq!(cycle.first_due(start - 5 * DAY), Ok(start));
        assert_eq!(cycle.next_due(start, start, Some(2)), Some(start + DAY));
        assert_eq!(cycle.next_due(start + DAY, start + DAY, Some(1)), Some(start + 2 * DAY));
        assert_eq!(cycle.next_due(start + 2 * DAY, start + 2 * DAY, Some(0)), None);
        // Opened after the start: due at once, then a period after now.
        let late = start + 10 * DAY + HOUR;
        assert_eq!(cycle.first_due(late), Ok(start));
        assert_eq!(cycle.next_due(start, late, Some(2)), Some(late + DAY));
        // Monthly from a month end keeps to the calendar.
        let monthly = parse(TimerKind::Cycle, "R/2025-01-31T09:00:00+01:00/P1M");
        let first = monthly.first_due(0).expect("first");
        assert_eq!(first, at("2025-01-31T08:00:00Z"));
        assert_eq!(monthly.next_due(first, first, None), Some(at("2025-02-28T08:00:00Z")));
    }

    #[test]
    fn bad_cycles_say_what_was_expected() {
        let expected = "is not a repeating interval like 'R5/PT10S' or a cron expression like '0 0 9 * * MON-FRI'";
        for text in [
            "R5/XYZ",
            "R0/PT10S",
            "R/PT0S",
            "R5",
            "Rx/PT1S",
            "R-1/PT1S",
            "R99999999999/PT1S",
            "R/bad/P1D",
            "R3/P1D/2025-01-01T00:00:00Z",
            "R/PT-1S",
            "R5/",
            "XYZ",
            "",
            "* * *",
            "0 0 25 * * *",
            "0 0 0 30 2 *",
            "0 0 9 * * MON-FRI 2025",
        ] {
            let message = error(TimerKind::Cycle, text);
            assert!(message.starts_with(&format!("'{text}' {expected}")), "{message}");
        }
        assert!(
            error(TimerKind::Cycle, "R5/XYZ")
                .ends_with(": 'XYZ' is not an ISO 8601 duration like 'PT30S', 'P1DT2H' or 'P1M'")
        );
        assert!(error(TimerKind::Cycle, "R0/PT10S").contains("fires at least once"));
        assert!(error(TimerKind::Cycle, "R/PT0S").contains("is zero"));
        assert!(error(TimerKind::Cycle, "0 0 0 30 2 *").contains("matches no date"));
    }

    #[test]
    fn cron_on_weekdays_skips_the_weekend() {
        let cron = parse(TimerKind::Cycle, "0 0 9-17 * * MON-FRI");
        assert_eq!(cron.repetitions(), None);
        // 2025-10-03 is a Friday.
        assert_eq!(cron.first_due(at("2025-10-03T16:30:00Z")), Ok(at("2025-10-03T17:00:00Z")));
        let friday_five = at("2025-10-03T17:00:00Z");
        assert_eq!(cron.next_due(friday_five, friday_five + 40, None), Some(at("2025-10-06T09:00:00Z")));
        assert_eq!(cron.first_due(at("2025-10-04T12:00:00Z")), Ok(at("2025-10-06T09:00:00Z")));
        // Strictly after: a timer opened on a match waits for the next one.
        assert_eq!(cron.first_due(at("2025-10-06T09:00:00Z")), Ok(at("2025-10-06T10:00:00Z")));
        assert_eq!(cron.first_due(at("2025-10-06T08:59:59.999Z")), Ok(at("2025-10-06T09:00:00Z")));
        // Missed matches are skipped.
        assert_eq!(cron.next_due(friday_five, at("2025-10-06T11:30:00Z"), None), Some(at("2025-10-06T12:00:00Z")));
        assert_eq!(cron.next_due(friday_five, friday_five, Some(0)), None);
    }

    #[test]
    fn cron_dialect() {
        let next = |text: &str, from: &str| parse(TimerKind::Cycle, text).first_due(at(from)).expect(text);
        let from = "2025-10-03T17:00:00Z";
        assert_eq!(next("*/10 * * * * *", from), at("2025-10-03T17:00:10Z"));
        assert_eq!(next("0 30 8 ? * *", from), at("2025-10-04T08:30:00Z"));
        assert_eq!(next("0 0 12 L * ?", from), at("2025-10-31T12:00:00Z"));
        assert_eq!(next("0 0 12 ? * MON#2", from), at("2025-10-13T12:00:00Z"));
        assert_eq!(next("0 0 12 ? * 7", from), at("2025-10-05T12:00:00Z"));
        assert_eq!(next("0 0 12 ? * 0", from), at("2025-10-05T12:00:00Z"));
        assert_eq!(next("0 0 1 JAN ?", from), at("2026-01-01T00:00:00Z"));
        // As in Spring, both day fields must match: the 13th that is a Friday.
        assert_eq!(next("0 0 0 13 * FRI", from), at("2026-02-13T00:00:00Z"));
        assert_eq!(next("30 * * * *", from), at("2025-10-03T17:30:00Z"));
        assert_eq!(next("@daily", from), at("2025-10-04T00:00:00Z"));
        assert_eq!(next("@midnight", from), at("2025-10-04T00:00:00Z"));
        assert_eq!(next("@hourly", from), at("2025-10-03T18:00:00Z"));
        let Schedule::Cron(cron) = parse(TimerKind::Cycle, " 0 0 9 * * MON-FRI ") else { panic!("not cron") };
        assert_eq!(cron.as_str(), "0 0 9 * * MON-FRI");
    }

    #[test]
    fn garbage_never_panics() {
        let garbage = [
            "",
            " ",
            "R",
            "R/",
            "R//",
            "R/P",
            "R1//PT1S",
            "P",
            "PT",
            "T",
            "PTS",
            "P.S",
            "PT1.S",
            "PT,5S",
            "--P1D",
            "+-P1D",
            "P1Y1Y",
            "ééé",
            "P1D\u{301}",
            "R\u{301}/PT1S",
            "Ré/PT1S",
            "0 0 é * * *",
            "* * * * * * * *",
            "@",
            "@yearly",
            "@foo",
            "L L L L L L",
            "# # # # # #",
            "0 0 0 ? * 8",
            "0 0 0 ? * MON#6",
            "0 0 0 32 * ?",
            "0/0 * * * * *",
            "*/0 * * * * *",
            "60 * * * * *",
            "0 0 0 1W * ?",
            "9999-12-30T00:00:00Z",
            "-009999-01-01T00:00:00Z",
            "2025-10-01T12:00:00[",
            "2025-10-01T12:00:00[]",
            "[Europe/Berlin]",
            "R/9999-12-31T23:59:59Z/P1D",
            "R4294967295/PT1S",
            "R4294967296/PT1S",
            "P18446744073709551616D",
            "PT0.999999999S",
        ];
        let instants = [i64::MIN, -1, 0, 1, i64::MAX, at("2025-10-01T12:00:00Z"), at("9999-12-30T00:00:00Z")];
        for text in garbage {
            for kind in [TimerKind::Date, TimerKind::Duration, TimerKind::Cycle] {
                if let Ok(schedule) = Schedule::parse(kind, text) {
                    for now in instants {
                        let _ = schedule.first_due(now);
                        for due in instants {
                            let _ = schedule.next_due(due, now, None);
                            let _ = schedule.next_due(due, now, Some(1));
                        }
                    }
                }
            }
        }
    }
}

//! How `increment` stores a counter: the decimal digits of an `i64` in ASCII (`b"-12"`). Every
//! backend uses this one format, so a counter is readable with `get`, a decimal written with
//! `set` can be incremented, and a store moved between backends keeps its counters.

use super::Error;

/// A counter's stored bytes: its decimal text, as Spin's stores keep it.
pub fn encode(n: i64) -> Vec<u8> {
    n.to_string().into_bytes()
}

/// A counter's value from its stored bytes, or `NotACounter`.
pub fn decode(key: &str, raw: &[u8]) -> Result<i64, Error> {
    std::str::from_utf8(raw)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| Error::NotACounter { key: key.into() })
}

/// The counter after adding `delta` to its stored value (`None`: absent, which counts as 0).
pub fn add(key: &str, current: Option<&[u8]>, delta: i64) -> Result<i64, Error> {
    let current = current.map_or(Ok(0), |raw| decode(key, raw))?;
    current
        .checked_add(delta)
        .ok_or_else(|| Error::Overflow { key: key.into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_ascii_round_trips_and_nothing_else_counts() {
        for n in [0, 1, -1, 42, i64::MIN, i64::MAX] {
            assert_eq!(decode("k", &encode(n)), Ok(n));
        }
        assert_eq!(encode(-12), b"-12");
        for bad in [
            &b""[..],
            b"abc",
            b" 1",
            b"1.5",
            b"\xff",
            b"99999999999999999999",
        ] {
            assert_eq!(
                decode("k", bad),
                Err(Error::NotACounter { key: "k".into() })
            );
        }
        assert_eq!(add("k", None, -3), Ok(-3));
        assert_eq!(add("k", Some(b"40"), 2), Ok(42));
        assert_eq!(
            add("k", Some(&encode(i64::MAX)), 1),
            Err(Error::Overflow { key: "k".into() })
        );
    }
}

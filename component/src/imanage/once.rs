//! Creating in iManage without ever creating twice. A failed create may have failed after
//! iManage committed it (a 5xx, a reset connection, a timeout), so before each new attempt we
//! look for what the previous one may have made.

use super::Imanage;
use crate::model::{Error, Result};

/// Creating requests are tried this often, looking for the object between tries.
pub const ATTEMPTS: u32 = 4;

/// Runs `create`; after an `unavailable` failure (which may have come after iManage committed)
/// asks `look` whether the object exists before trying again. Gives up after `ATTEMPTS` tries
/// or when the wait would pass the event's deadline; other errors are returned at once.
pub fn create_once<T>(
    api: &Imanage<'_>,
    mut create: impl FnMut() -> Result<T>,
    mut look: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match create() {
            Ok(made) => return Ok(made),
            Err(Error::Unavailable(why)) => {
                if let Some(found) = look()? {
                    return Ok(found);
                }
                let wait = api.backoff_ms(attempt);
                if attempt >= ATTEMPTS || !api.may_wait(wait) {
                    return Err(Error::Unavailable(why));
                }
                api.p().sleep_ms(wait);
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;
    use crate::testing::FakePlatform;
    use std::cell::Cell;

    fn unavailable() -> Error {
        Error::Unavailable("POST /workspaces: 500".into())
    }

    /// Runs `create_once` with a create that answers from `answers` in turn and a look that
    /// answers `found`; returns the result and how often each was called.
    fn run(
        p: &FakePlatform,
        answers: Vec<Result<&'static str>>,
        found: Option<&'static str>,
        on_create: impl Fn(&FakePlatform),
    ) -> (Result<&'static str>, u32, u32) {
        let s = Settings::load(p).unwrap();
        let api = Imanage::new(p, &s);
        let (creates, looks) = (Cell::new(0), Cell::new(0));
        let mut answers = answers.into_iter();
        let result = create_once(
            &api,
            || {
                creates.set(creates.get() + 1);
                on_create(p);
                answers.next().unwrap_or_else(|| Err(unavailable()))
            },
            || {
                looks.set(looks.get() + 1);
                Ok(found)
            },
        );
        (result, creates.get(), looks.get())
    }

    #[test]
    fn what_a_failed_create_committed_is_found_not_made_again() {
        let p = FakePlatform::configured();
        let (r, creates, looks) = run(&p, vec![Err(unavailable())], Some("ACTIVE!1000"), |_| {});
        assert_eq!((r.unwrap(), creates, looks), ("ACTIVE!1000", 1, 1));
        assert!(p.slept.borrow().is_empty(), "found at once: no wait");
    }

    #[test]
    fn nothing_found_means_trying_again_after_a_wait() {
        let p = FakePlatform::configured();
        let (r, creates, looks) = run(
            &p,
            vec![Err(unavailable()), Ok("ACTIVE!1001")],
            None,
            |_| {},
        );
        assert_eq!((r.unwrap(), creates, looks), ("ACTIVE!1001", 2, 1));
        assert_eq!(p.slept.borrow().len(), 1);
    }

    #[test]
    fn gives_up_after_its_attempts() {
        let p = FakePlatform::configured();
        let (r, creates, looks) = run(&p, Vec::new(), None, |_| {});
        assert!(matches!(r, Err(Error::Unavailable(_))), "{r:?}");
        assert_eq!((creates, looks), (ATTEMPTS, ATTEMPTS));
    }

    #[test]
    fn other_errors_are_final_and_nothing_is_looked_for() {
        let p = FakePlatform::configured();
        let refused = Err(Error::Rejected("400 Invalid field".into()));
        let (r, creates, looks) = run(&p, vec![refused], Some("ACTIVE!1000"), |_| {});
        assert!(matches!(r, Err(Error::Rejected(_))), "{r:?}");
        assert_eq!((creates, looks), (1, 0));
    }

    #[test]
    fn no_new_attempt_past_the_event_deadline() {
        let p = FakePlatform::configured();
        // Each attempt takes longer than the whole event may (120 s by default).
        let (r, creates, looks) = run(&p, Vec::new(), None, |p| p.advance(200));
        assert!(matches!(r, Err(Error::Unavailable(_))), "{r:?}");
        assert_eq!((creates, looks), (1, 1), "looked, then stopped");
        assert!(p.slept.borrow().is_empty());
    }
}

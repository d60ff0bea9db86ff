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
    let mut made = write_all_once(api, 1, |_| true, |_| vec![create()], |_| Ok(vec![look()?]))?;
    made.pop()
        .ok_or_else(|| Error::Unavailable("nothing was created".into()))
}

/// `create_once` for `n` writes that may run together, and the one policy both follow. `send`
/// makes the writes it is given (by index, all of them at first), together, and answers in
/// their order. A write for which `creates` is true creates something: after an `unavailable`
/// failure it is not sent again before `look` (given every such write of the round at once,
/// answering in their order) has found that it did not commit after all. Other writes set
/// something and are safe to repeat, so their failure is final, as is any other error; then the
/// first error in the writes' order is returned, and the writes that were made stay made (the
/// next attempt lists what exists before it creates).
pub fn write_all_once<T>(
    api: &Imanage<'_>,
    n: usize,
    creates: impl Fn(usize) -> bool,
    mut send: impl FnMut(&[usize]) -> Vec<Result<T>>,
    mut look: impl FnMut(&[usize]) -> Result<Vec<Option<T>>>,
) -> Result<Vec<T>> {
    let mut done: Vec<Option<T>> = (0..n).map(|_| None).collect();
    let mut pending: Vec<usize> = (0..n).collect();
    let mut attempt = 0;
    while !pending.is_empty() {
        attempt += 1;
        let mut uncertain = Vec::new();
        let mut why = None;
        let mut failed = None;
        for (&i, result) in pending.iter().zip(send(&pending)) {
            match result {
                Ok(made) => done[i] = Some(made),
                Err(Error::Unavailable(w)) if creates(i) => {
                    uncertain.push(i);
                    why.get_or_insert(w);
                }
                Err(e) => {
                    failed.get_or_insert(e);
                }
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        if uncertain.is_empty() {
            break;
        }
        let mut still = Vec::new();
        for (&i, found) in uncertain.iter().zip(look(&uncertain)?) {
            match found {
                Some(found) => done[i] = Some(found),
                None => still.push(i),
            }
        }
        if still.is_empty() {
            break;
        }
        let wait = api.backoff_ms(attempt);
        if attempt >= ATTEMPTS || !api.may_wait(wait) {
            return Err(Error::Unavailable(why.unwrap_or_default()));
        }
        api.p().sleep_ms(wait);
        pending = still;
    }
    done.into_iter()
        .map(|d| d.ok_or_else(|| Error::Unavailable("a write got no answer".into())))
        .collect()
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
    fn in_a_batch_only_uncertain_creates_are_looked_for_and_made_again() {
        let p = FakePlatform::configured();
        let s = Settings::load(&p).unwrap();
        let api = Imanage::new(&p, &s);
        let sent = std::cell::RefCell::new(Vec::new());
        let looked = std::cell::RefCell::new(Vec::new());
        // 0 and 1 create, 2 sets something. 0 failed after committing (found), 1 failed before
        // (made again); 2 succeeded at once.
        let made = write_all_once(
            &api,
            3,
            |i| i < 2,
            |members| {
                sent.borrow_mut().push(members.to_vec());
                members
                    .iter()
                    .map(|&i| match (i, sent.borrow().len()) {
                        (0 | 1, 1) => Err(unavailable()),
                        (i, _) => Ok(format!("made {i}")),
                    })
                    .collect()
            },
            |uncertain| {
                looked.borrow_mut().push(uncertain.to_vec());
                Ok(uncertain
                    .iter()
                    .map(|&i| (i == 0).then(|| "found 0".to_string()))
                    .collect())
            },
        )
        .unwrap();
        assert_eq!(made, vec!["found 0", "made 1", "made 2"]);
        assert_eq!(*sent.borrow(), vec![vec![0, 1, 2], vec![1]]);
        assert_eq!(*looked.borrow(), vec![vec![0, 1]], "one look for the round");
        assert_eq!(p.slept.borrow().len(), 1);
    }

    #[test]
    fn in_a_batch_a_failed_setting_is_final_and_nothing_is_looked_for() {
        let p = FakePlatform::configured();
        let s = Settings::load(&p).unwrap();
        let api = Imanage::new(&p, &s);
        let looks = Cell::new(0);
        let r = write_all_once(
            &api,
            2,
            |i| i == 0,
            |members| {
                members
                    .iter()
                    .map(|&i| if i == 1 { Err(unavailable()) } else { Ok(i) })
                    .collect()
            },
            |_| {
                looks.set(looks.get() + 1);
                Ok(Vec::new())
            },
        );
        assert!(matches!(r, Err(Error::Unavailable(_))), "{r:?}");
        assert_eq!(looks.get(), 0);
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

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
